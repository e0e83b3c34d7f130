"""The demo CRM: every bronze table, generated in parallel by Spark from a seed.

Each lead has hidden traits (what they want, whether they are junk, how they
browse) drawn from (seed, lead number) alone. Every table generator recomputes
the traits it needs inside the executors, so tables are consistent with each
other without joins and identical whatever the partitioning.

Ground truth for conversion comes from a hidden propensity that mixes
structured fields, web behaviour and the *meaning* of the lead's messages
(their intent is never a column), so a model that reads text can beat one
that cannot. Junk leads and the true intent are written only to
``eval.lead_truth``, for evaluation.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadlake.demo import text, text_zh
from leadlake.demo.rng import choice, normal, row_seed, uniform

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
DAY = 86400


@dataclass(frozen=True)
class DemoSpec:
    """How much to generate and over which period."""

    leads: int = 3000
    seed: int = 7
    start: dt.date = dt.date(2024, 1, 1)
    lead_days: int = 548  # leads arrive over 18 months
    end: dt.date = dt.date(2025, 12, 31)  # last day with any activity ("today" of the demo)
    # Share of leads (and the customers they become) who write Chinese; 0 keeps the English demo as it was.
    zh_share: float = 0.0

    @property
    def start_s(self) -> int:
        return int(dt.datetime.combine(self.start, dt.time(), dt.timezone.utc).timestamp())

    @property
    def end_s(self) -> int:
        return int(dt.datetime.combine(self.end, dt.time(23, 59, 59), dt.timezone.utc).timestamp())


SOURCES = {"web form": 25, "paid search": 15, "cold outbound": 14, "webinar": 12, "referral": 10,
           "partner": 8, "trade show": 8, "content download": 8}
INDUSTRIES = {"software": 22, "fintech": 10, "healthcare": 10, "retail": 12, "manufacturing": 10,
              "logistics": 8, "education": 8, "media": 7, "government": 5, "nonprofit": 8}
COUNTRIES = {"US": 35, "GB": 10, "DE": 10, "FR": 7, "IN": 8, "BR": 5, "CA": 7, "AU": 5, "NL": 4,
             "ES": 4, "JP": 3, "SG": 2}
INTENTS = {"buying": 12, "evaluating": 20, "researching": 30, "support": 8, "complaint": 4,
           "job_seeker": 8, "not_interested": 18}
SENIORITY = {"c_level": 6, "vp": 10, "director": 16, "manager": 24, "individual": 30, "junior": 14}
EMAIL_KINDS = {"corporate": 70, "personal": 24, "disposable": 6}
JUNK_RATE = 0.06

TITLES = {
    "c_level": ["CEO", "Chief Revenue Officer", "CTO", "Founder & CEO", "COO", "Co-founder", "CMO"],
    "vp": ["VP of Sales", "VP Sales Ops", "Vice President, Marketing", "VP Revenue Operations",
           "SVP Growth", "VP of Sales Ops"],
    "director": ["Director of Sales Operations", "Head of RevOps", "Marketing Director",
                 "Director, Demand Gen", "Head of Sales", "Sales Director EMEA"],
    "manager": ["Sales Manager", "Marketing Ops Manager", "CRM Manager", "Team Lead, SDR",
                "Sr. Manager Business Ops", "Inside Sales Manager"],
    "individual": ["Account Executive", "Data Analyst", "Sales Rep", "Marketing Specialist",
                   "Sr. Data Engineer", "SDR", "Operations Analyst", "BDR"],
    "junior": ["sales intern", "Student", "Marketing Coordinator", "Assistant", "intern",
               "Junior Analyst"],
}
JUNK_TITLES = ["test", "asdf", "n/a", "-", "xxx", "aaa"]
COMPANY_A = ["North", "Blue", "Bright", "Silver", "Iron", "Clear", "Green", "Red", "Summit", "Pioneer",
             "Vertex", "Nova", "Apex", "Cedar", "Harbor", "Quantum", "Lumen", "Atlas", "Orbit", "Sterling"]
COMPANY_B = ["wind", "path", "stone", "field", "bridge", "wave", "point", "gate", "line", "works", "labs",
             "soft", "data", "logic", "peak"]
COMPANY_SUFFIX = {"software": "Software", "fintech": "Financial", "healthcare": "Health", "retail": "Retail",
                  "manufacturing": "Industries", "logistics": "Logistics", "education": "Learning",
                  "media": "Media", "government": "Agency", "nonprofit": "Foundation"}
LEGAL = ["Inc", "Ltd", "GmbH", "LLC", "SA", "", "", "Corp"]
JUNK_COMPANIES = ["asdfgh", "test", "xxxx", "qwerty inc", "N/A", "Jkhgf Ltd", "aaaa", "Test Company",
                  "none", "zzz"]
PERSONAL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"]
DISPOSABLE_DOMAINS = ["mailinator.com", "10minutemail.com", "guerrillamail.com", "tempmail.net",
                      "yopmail.com"]
TERRITORIES = {"US": "NA-East", "CA": "NA-East", "BR": "LATAM", "GB": "EMEA", "DE": "EMEA", "FR": "EMEA",
               "NL": "EMEA", "ES": "EMEA", "IN": "APAC", "AU": "APAC", "JP": "APAC", "SG": "APAC"}
OWNERS = ["Alex Kim", "Sam Rivera", "Jordan Lee", "Taylor Brooks", "Morgan Patel", "Casey Nguyen"]

PAGES = ["pricing", "docs", "careers", "blog", "demo_request", "case_studies", "product",
         "integrations", "support"]
# Mean visits per page type by intent: behaviour says something about intent, never all.
PAGE_RATES = {
    "buying": [2.0, 1.0, 0.05, 0.5, 0.8, 0.8, 1.5, 1.0, 0.1],
    "evaluating": [1.2, 1.2, 0.05, 0.7, 0.5, 0.9, 1.5, 0.9, 0.1],
    "researching": [0.5, 0.6, 0.1, 1.8, 0.1, 0.5, 1.0, 0.3, 0.1],
    "support": [0.2, 1.5, 0.05, 0.3, 0.02, 0.1, 0.4, 0.4, 1.8],
    "complaint": [0.3, 0.8, 0.05, 0.2, 0.02, 0.1, 0.3, 0.2, 1.5],
    "job_seeker": [0.1, 0.1, 2.5, 0.6, 0.02, 0.2, 0.4, 0.05, 0.05],
    "not_interested": [0.2, 0.1, 0.05, 0.4, 0.02, 0.1, 0.3, 0.05, 0.05],
    "junk": [0.6, 0.3, 0.3, 0.3, 0.3, 0.1, 0.3, 0.1, 0.1],
}
MESSAGE_MIX = {
    "buying": {"buying": 55, "evaluating": 12, "feature_question": 10, "pricing_objection": 10,
               "out_of_office": 8, "researching": 5},
    "evaluating": {"evaluating": 45, "feature_question": 20, "pricing_objection": 15, "buying": 5,
                   "researching": 7, "out_of_office": 8},
    "researching": {"researching": 55, "feature_question": 15, "evaluating": 10, "out_of_office": 10,
                    "not_interested": 10},
    "support": {"support": 60, "complaint": 20, "feature_question": 10, "out_of_office": 10},
    "complaint": {"complaint": 50, "support": 20, "pricing_objection": 10, "not_interested": 20},
    "job_seeker": {"job_seeker": 85, "out_of_office": 15},
    "not_interested": {"not_interested": 60, "out_of_office": 20, "researching": 20},
    "junk": {"spam": 85, "out_of_office": 15},
}
INTENT_LOGIT = {"buying": 2.6, "evaluating": 1.4, "researching": 0.0, "support": -0.8, "complaint": -1.2,
                "job_seeker": -3.5, "not_interested": -2.5, "junk": -6.0}
SOURCE_LOGIT = {"referral": 0.6, "partner": 0.4, "webinar": 0.2, "trade show": 0.2, "web form": 0.0,
                "paid search": -0.1, "content download": -0.3, "cold outbound": -0.6}
SENIORITY_LOGIT = {"c_level": 0.3, "vp": 0.5, "director": 0.4, "manager": 0.2, "individual": -0.1,
                   "junior": -0.8}
EMAIL_LOGIT = {"corporate": 0.2, "personal": -0.3, "disposable": -1.0}
# What each message kind is, in the classes lead discovery tells apart (conf discovery.classes).
MESSAGE_CLASS = {"buying": "sales_lead", "evaluating": "sales_lead", "pricing_objection": "sales_lead",
                 "feature_question": "sales_lead", "support": "support", "complaint": "support",
                 "job_seeker": "job_seeker", "spam": "spam", "out_of_office": "out_of_office",
                 "researching": "other", "not_interested": "other"}
CHANNELS = {"email": 45, "chat": 20, "call_note": 15, "inbound_form": 12, "social": 8}

PRODUCTS = [
    ("P001", "Pipeline Insights", "analytics", 49.0, "Dashboards and forecasts for every stage of the sales pipeline."),
    ("P002", "Forecast Studio", "analytics", 89.0, "Scenario-based revenue forecasts rolled up by team and region."),
    ("P003", "Lead Router", "automation", 29.0, "Assigns inbound leads to reps by territory, capacity and fit."),
    ("P004", "Sequence Builder", "automation", 39.0, "Multi-step email and call cadences with A/B testing."),
    ("P005", "Data Sync Connector", "integrations", 19.0, "Two-way sync with Salesforce, HubSpot and warehouses."),
    ("P006", "Webhook Pack", "integrations", 9.0, "Event webhooks and an API quota upgrade."),
    ("P007", "CRM Core Seat", "crm", 25.0, "One user seat of the core CRM: accounts, contacts, deals."),
    ("P008", "CRM Pro Seat", "crm", 55.0, "Pro seat with custom objects, permissions and audit logs."),
    ("P009", "Premium Support", "support", 300.0, "24/7 support with a named engineer and 1-hour response."),
    ("P010", "Onboarding Package", "services", 1500.0, "Guided setup, data migration and admin training."),
    ("P011", "Training Credits", "services", 200.0, "Live training sessions for new team members."),
    ("P012", "Security Add-on", "security", 15.0, "SSO/SAML, IP allow-lists and two-factor enforcement."),
    ("P013", "Data Residency EU", "security", 35.0, "Hosting and processing in EU data centres."),
    ("P014", "Conversation Intelligence", "analytics", 69.0, "Call transcription, topics and coaching insights."),
    ("P015", "Mobile Field Pack", "crm", 12.0, "Offline mobile app for field sales with route planning."),
    ("P016", "Marketing Attribution", "analytics", 59.0, "Multi-touch attribution from first visit to closed deal."),
    ("P017", "Territory Planner", "crm", 45.0, "Plans sales territories, quotas and visit routes on a map."),
    ("P018", "Email Tracking", "automation", 15.0, "Open and click tracking for sales emails, with reminders."),
    ("P019", "Warehouse Export", "integrations", 49.0, "Nightly export of CRM data to Snowflake or BigQuery."),
    ("P020", "Audit Vault", "security", 25.0, "Tamper-proof audit trail with ten-year retention for regulators."),
    ("P021", "Customer Health Scores", "analytics", 39.0, "Churn risk and health scores for every account."),
    ("P022", "Partner Portal", "crm", 65.0, "A portal where resellers register deals and share leads."),
    ("P023", "Admin Certification", "services", 450.0, "Certification course for CRM administrators."),
    ("P024", "Quote Builder", "automation", 35.0, "Configure-price-quote with approval workflows and e-signature."),
]
# How often each product is bought at all, before anyone's taste.
PRODUCT_POPULARITY = {"P007": 3, "P005": 2, "P001": 2, "P003": 2, "P008": 2, "P011": 2}
# What an industry buys more of (a category's weight is multiplied); each customer adds one favourite.
INDUSTRY_TASTE = {
    "software": {"integrations": 10.0, "automation": 5.0},
    "fintech": {"security": 12.0, "analytics": 4.0},
    "healthcare": {"security": 12.0, "services": 4.0},
    "government": {"security": 12.0, "services": 6.0},
    "retail": {"analytics": 8.0, "automation": 4.0},
    "media": {"analytics": 10.0},
    "manufacturing": {"crm": 8.0, "automation": 4.0},
    "logistics": {"crm": 8.0, "integrations": 4.0},
    "education": {"services": 10.0, "crm": 3.0},
    "nonprofit": {"services": 6.0, "crm": 5.0},
}
FAVOURITE_BOOST = 8.0
# Seats and credits are bought again and again; the rest once per customer (conf reco.repurchasable says the same).
REPURCHASABLE = ("P007", "P008", "P011")
REPURCHASE_SHARE = 0.35


def _poisson(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Inverse-CDF Poisson draws from keyed uniforms (small means only)."""
    k = np.zeros(len(u), dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    active = u > cdf
    for i in range(1, 80):
        if not active.any():
            break
        p = np.where(active, p * lam / i, p)
        cdf = np.where(active, cdf + p, cdf)
        k = np.where(active, i, k)
        active = active & (u > cdf)
    return k


def lead_traits(ids: np.ndarray, spec: DemoSpec) -> pd.DataFrame:
    """Hidden and visible traits of leads ``ids`` (0-based lead numbers), vectorised."""
    s = spec.seed
    junk = uniform(s, ids, "junk") < JUNK_RATE
    intent = np.where(junk, "junk", choice(s, ids, "intent", INTENTS))
    source = choice(s, ids, "source", SOURCES)
    seniority = choice(s, ids, "seniority", SENIORITY)
    email_kind = np.where(junk & (uniform(s, ids, "junkmail") < 0.7), "disposable",
                          choice(s, ids, "email", EMAIL_KINDS))
    size = np.maximum(1, np.round(np.exp(3.6 + 1.6 * normal(s, ids, "size")))).astype(np.int64)
    created = spec.start_s + (uniform(s, ids, "created") * spec.lead_days * DAY).astype(np.int64)
    rates = np.array([PAGE_RATES[i] for i in intent])
    visits = np.stack(
        [_poisson(uniform(s, ids, f"page/{p}"), rates[:, j] * (0.5 + uniform(s, ids, "engagement")))
         for j, p in enumerate(PAGES)], axis=1)
    n_msgs = 1 + _poisson(uniform(s, ids, "n_msgs"),
                          np.where(np.isin(intent, ["buying", "evaluating", "support"]), 2.2, 1.0))
    logit = (
        -2.9
        + np.vectorize(INTENT_LOGIT.get)(intent)
        + np.vectorize(SOURCE_LOGIT.get)(source)
        + np.vectorize(SENIORITY_LOGIT.get)(seniority)
        + np.vectorize(EMAIL_LOGIT.get)(email_kind)
        + 0.15 * np.log10(size) - 0.3
        + 0.2 * np.minimum(visits[:, PAGES.index("pricing")], 5)
        + 0.6 * (visits[:, PAGES.index("demo_request")] > 0)
        + 0.6 * normal(s, ids, "noise")
    )
    p_true = 1 / (1 + np.exp(-logit))
    age_days = (spec.end_s - created) / DAY
    closed = uniform(s, ids, "closed") < np.where(age_days > 45, 0.92, 0.15)
    won = closed & (uniform(s, ids, "won") < p_true)
    closed_at = created + ((10 + uniform(s, ids, "cycle") * 110) * DAY).astype(np.int64)
    closed_at = np.minimum(closed_at, spec.end_s - DAY)
    deal = np.round(np.exp(np.log(3000 + size * 25.0) + 0.5 * normal(s, ids, "deal")), 2)
    return pd.DataFrame({
        "n": ids, "junk": junk, "intent": intent, "source": source, "seniority": seniority,
        "email_kind": email_kind, "size": size, "created": created, "n_msgs": n_msgs,
        "p_true": p_true, "closed": closed, "won": won, "closed_at": closed_at, "deal": deal,
        **{f"v_{p}": visits[:, j] for j, p in enumerate(PAGES)},
    })


def _ts(seconds: int | np.ndarray):
    return pd.to_datetime(seconds, unit="s", utc=True)


def _frame(rows: list[dict], columns: list[str], *time_columns: str) -> pd.DataFrame:
    """Generated rows as a batch for Spark, epoch-second columns as UTC timestamps."""
    out = pd.DataFrame(rows, columns=columns)
    for col in time_columns:
        out[col] = _ts(out[col])
    return out


def lead_id(n: int) -> str:
    return f"L{n:07d}"


def customer_id(n: int) -> str:
    return f"C{n:07d}"


def _company(rng: random.Random, industry: str, junk: bool) -> str:
    if junk:
        return rng.choice(JUNK_COMPANIES)
    name = rng.choice(COMPANY_A) + rng.choice(COMPANY_B)
    parts = [name, COMPANY_SUFFIX[industry] if rng.random() < 0.6 else "", rng.choice(LEGAL)]
    return " ".join(p for p in parts if p)


def _phone(rng: random.Random, country: str, junk: bool) -> str | None:
    if junk:
        return rng.choice(["0000000000", "123456", "1111111111", None])
    if rng.random() < 0.12:
        return None
    code = {"US": "+1", "CA": "+1", "GB": "+44", "DE": "+49", "FR": "+33", "IN": "+91", "BR": "+55",
            "AU": "+61", "NL": "+31", "ES": "+34", "JP": "+81", "SG": "+65"}[country]
    digits = "".join(str(rng.randrange(10)) for _ in range(9))
    return rng.choice([f"{code} {digits[:3]} {digits[3:6]} {digits[6:]}", f"{code}{digits}",
                       f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"])


def _person(rng: random.Random, company: str, email_kind: str, junk: bool) -> tuple[str, str]:
    first = rng.choice(text.FIRST_NAMES)
    last = rng.choice(["Smith", "Müller", "Garcia", "Chen", "Okafor", "Singh", "Rossi", "Kowalski",
                       "Martin", "Silva", "Tanaka", "Nowak", "Brown", "Dubois"])
    if junk and rng.random() < 0.6:
        return first, rng.choice(["test@test.com", "asdf@asdf.com", "a@b.c", "noreply@example.com",
                                  f"bot{rng.randrange(10**6)}@{rng.choice(DISPOSABLE_DOMAINS)}"])
    user = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}"]).lower().replace("ü", "ue")
    if email_kind == "corporate":
        domain = "".join(ch for ch in company.lower().split(" ")[0] if ch.isalnum()) or "company"
        return first, f"{user}@{domain}.{rng.choice(['com', 'io', 'co', 'net'])}"
    if email_kind == "personal":
        return first, f"{user}{rng.randrange(100)}@{rng.choice(PERSONAL_DOMAINS)}"
    return first, f"{user}@{rng.choice(DISPOSABLE_DOMAINS)}"


def _title(rng: random.Random, seniority: str, junk: bool) -> str:
    if junk:
        return rng.choice(JUNK_TITLES)
    title = rng.choice(TITLES[seniority])
    return title.lower() if rng.random() < 0.15 else title


def _budget_band(rng: random.Random, size: int, intent: str) -> str:
    if rng.random() < 0.35:
        return "unknown"
    score = math.log10(size) + (0.8 if intent in ("buying", "evaluating") else 0) + rng.gauss(0, 0.5)
    return "<10k" if score < 1.8 else "10k-50k" if score < 2.8 else "50k+"


def _lead_basics(row, spec: DemoSpec) -> tuple[random.Random, str, str, str]:
    rng = random.Random(row_seed(spec.seed, int(row.n), "lead"))
    industry = rng.choices(list(INDUSTRIES), weights=list(INDUSTRIES.values()))[0]
    country = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()))[0]
    company = _company(rng, industry, bool(row.junk))
    return rng, industry, country, company


@dataclass(frozen=True)
class Identity:
    """Who a lead is, as the CRM and their own messages show it."""

    industry: str
    country: str
    company: str
    first_name: str
    email: str
    job_title: str
    phone: str | None


def _identity(row, spec: DemoSpec) -> tuple[random.Random, Identity]:
    rng, industry, country, company = _lead_basics(row, spec)
    junk = bool(row.junk)
    first, email = _person(rng, company, row.email_kind, junk)
    title = _title(rng, row.seniority, junk)
    return rng, Identity(industry, country, company, first, email, title, _phone(rng, country, junk))


LEAD_COLUMNS = ["lead_id", "created_at", "source", "company", "industry", "company_size", "country", "job_title",
                "first_name", "email", "phone", "crm_territory", "crm_owner", "crm_budget_band"]


def gen_leads(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        tr = lead_traits(batch["id"].to_numpy(), spec)
        rows = []
        for row in tr.itertuples(index=False):
            rng, who = _identity(row, spec)
            rows.append({
                "lead_id": lead_id(row.n),
                "created_at": row.created,
                "source": row.source,
                "company": who.company,
                "industry": who.industry,
                "company_size": int(row.size),
                "country": who.country,
                "job_title": who.job_title,
                "first_name": who.first_name,
                "email": who.email,
                "phone": who.phone,
                "crm_territory": TERRITORIES[who.country],
                "crm_owner": rng.choice(OWNERS),
                "crm_budget_band": _budget_band(rng, int(row.size), row.intent),
            })
        yield _frame(rows, LEAD_COLUMNS, "created_at")


def language(n: int, spec: DemoSpec) -> str:
    """``zh`` for the share of leads who write Chinese, from a stream of its own (the English demo is unchanged)."""
    if spec.zh_share <= 0:
        return "en"
    return "zh" if random.Random(row_seed(spec.seed, int(n), "language")).random() < spec.zh_share else "en"


def _interaction_rows(batch: pd.DataFrame, spec: DemoSpec) -> list[dict]:
    """Messages with their hidden kind (``_kind``), which only eval.message_truth keeps."""
    channels, weights = list(CHANNELS), list(CHANNELS.values())
    tr = lead_traits(batch["id"].to_numpy(), spec)
    rows = []
    for row in tr.itertuples(index=False):
        _, who = _identity(row, spec)
        ctx = {"company": who.company, "country": who.country, "industry": who.industry,
               "size": str(int(row.size)), "title": who.job_title, "sender": who.first_name,
               "email": who.email, "phone": who.phone or ""}
        mrng = random.Random(row_seed(spec.seed, int(row.n), "messages"))
        mix = MESSAGE_MIX[row.intent]
        horizon = (row.closed_at if row.closed else spec.end_s) - row.created
        lang = language(row.n, spec)
        write = text_zh.message if lang == "zh" else text.message
        for k in range(int(row.n_msgs)):
            kind = mrng.choices(list(mix), weights=list(mix.values()))[0]
            channel = mrng.choices(channels, weights=weights)[0]
            rows.append({
                "interaction_id": f"I{row.n:07d}-{k:02d}",
                "lead_id": lead_id(row.n),
                "ts": int(row.created + mrng.random() * max(horizon, DAY)),
                "channel": channel,
                "text": write(kind, channel, mrng, ctx),
                "_kind": kind,
                "_lang": lang,
            })
    return rows


def gen_interactions(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = _interaction_rows(batch, spec)
        yield _frame(rows, ["interaction_id", "lead_id", "ts", "channel", "text"], "ts")


def gen_message_truth(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = _interaction_rows(batch, spec)
        yield pd.DataFrame({"interaction_id": [r["interaction_id"] for r in rows],
                            "kind": [r["_kind"] for r in rows], "lang": [r["_lang"] for r in rows]}, dtype=object)


def gen_web_events(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        tr = lead_traits(batch["id"].to_numpy(), spec)
        rows = []
        for row in tr.itertuples(index=False):
            rng = random.Random(row_seed(spec.seed, int(row.n), "web"))
            horizon = (row.closed_at if row.closed else spec.end_s) - row.created
            k = 0
            for page in PAGES:
                for _ in range(int(getattr(row, f"v_{page}"))):
                    rows.append({
                        "event_id": f"W{row.n:07d}-{k:03d}",
                        "lead_id": lead_id(row.n),
                        "ts": int(row.created - 3 * DAY + rng.random() * (horizon + 3 * DAY)),
                        "page": page,
                        "duration_s": round(rng.lognormvariate(3.5 if page != "pricing" else 4.2, 0.8), 1),
                    })
                    k += 1
        yield _frame(rows, ["event_id", "lead_id", "ts", "page", "duration_s"], "ts")


def gen_conversions(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        tr = lead_traits(batch["id"].to_numpy(), spec)
        out = pd.DataFrame({
            "lead_id": [lead_id(n) for n in tr["n"]],
            "outcome": np.where(tr["won"], "won", np.where(tr["closed"], "lost", "open")),
            "closed_at": _ts(np.where(tr["closed"], tr["closed_at"], 0)),
            "amount": np.where(tr["won"], tr["deal"], np.nan),
        })
        out.loc[~tr["closed"].to_numpy(), "closed_at"] = pd.NaT
        yield out


def gen_lead_truth(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        tr = lead_traits(batch["id"].to_numpy(), spec)
        yield pd.DataFrame({
            "lead_id": [lead_id(n) for n in tr["n"]],
            "is_junk": tr["junk"].astype(bool),
            "intent": tr["intent"],
            "p_convert_true": tr["p_true"].astype(float),
            "lang": [language(n, spec) for n in tr["n"]],
        })


def gen_customers(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        tr = lead_traits(batch["id"].to_numpy(), spec)
        rows = []
        for row in tr[tr["won"]].itertuples(index=False):
            _, industry, country, company = _lead_basics(row, spec)
            rows.append({
                "customer_id": customer_id(row.n), "lead_id": lead_id(row.n), "company": company,
                "industry": industry, "country": country, "company_size": int(row.size),
                "customer_since": row.closed_at,
            })
        yield _frame(rows, ["customer_id", "lead_id", "company", "industry", "country", "company_size",
                            "customer_since"], "customer_since")


def _customer_process(row, spec: DemoSpec) -> tuple[random.Random, float, float, float, float]:
    """BG/NBD-like buyer: purchase rate, dropout probability, mean spend, satisfaction."""
    rng = random.Random(row_seed(spec.seed, int(row.n), "customer"))
    rate = rng.gammavariate(0.9, (1 / 40) / 0.9)  # purchases per day while alive
    dropout = rng.betavariate(0.8, 3.0)
    spend = rng.gammavariate(4.0, (80 + 0.4 * row.size) / 4.0)
    satisfaction = rng.gauss(0, 1) - 2.0 * (dropout - 0.2)
    return rng, rate, dropout, spend, satisfaction


class Basket:
    """What one customer buys next: their industry's and their own taste, owned one-off products never twice."""

    def __init__(self, row, spec: DemoSpec) -> None:
        _, industry, _, _ = _lead_basics(row, spec)
        self.rng = random.Random(row_seed(spec.seed, int(row.n), "taste"))
        favourite = self.rng.choice(sorted({p[2] for p in PRODUCTS}))
        taste = {**INDUSTRY_TASTE[industry]}
        taste[favourite] = taste.get(favourite, 1.0) * FAVOURITE_BOOST
        self.weights = {p: PRODUCT_POPULARITY.get(p[0], 1) * taste.get(p[2], 1.0) for p in PRODUCTS}
        self.owned: set[str] = set()

    def next(self, budget: float) -> tuple:
        """The next product for an order worth about ``budget``: what the customer spends decides what they can buy
        (a product far above it is rarely bought), so order values follow the customer's spend, not the catalogue."""
        again = [p for p in PRODUCTS if p[0] in self.owned and p[0] in REPURCHASABLE]
        fresh = [p for p in PRODUCTS if p[0] not in self.owned]
        pool = again if (again and self.rng.random() < REPURCHASE_SHARE) or not fresh else fresh
        weights = [self.weights[p] * min(1.0, budget / p[3]) ** 2 for p in pool]
        product = self.rng.choices(pool, weights=weights)[0]
        self.owned.add(product[0])
        return product


def _customer_orders(row, spec: DemoSpec) -> list[dict]:
    """One customer's order lines (refunds as negative lines) up to the demo's last day."""
    rng, rate, dropout, spend, _ = _customer_process(row, spec)
    t = float(row.closed_at)
    k = 0
    basket = Basket(row, spec)
    rows = []
    while t < spec.end_s:
        target = rng.gammavariate(6.0, spend / 6.0)
        product = basket.next(target)
        qty = max(1, round(target / product[3]))
        amount = round(qty * product[3] * rng.choice([1.0, 1.0, 0.9, 0.85]), 2)
        rows.append({"order_id": f"O{row.n:07d}-{k:04d}", "customer_id": customer_id(row.n),
                     "ts": int(t), "amount": amount, "product_id": product[0], "quantity": qty})
        k += 1
        if rng.random() < 0.01:  # a refund line for this order
            rows.append({"order_id": f"O{row.n:07d}-{k:04d}", "customer_id": customer_id(row.n),
                         "ts": int(t + rng.random() * 14 * DAY), "amount": -amount,
                         "product_id": product[0], "quantity": -qty})
            k += 1
        if rng.random() < dropout:
            break
        t += rng.expovariate(rate) * DAY if rate > 0 else spec.end_s
    return [r for r in rows if r["ts"] <= spec.end_s]


def gen_orders(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        tr = lead_traits(batch["id"].to_numpy(), spec)
        rows = [r for row in tr[tr["won"]].itertuples(index=False) for r in _customer_orders(row, spec)]
        yield _frame(rows, ["order_id", "customer_id", "ts", "amount", "product_id", "quantity"], "ts")


# Past campaigns: (id, name, channel, offer, first contact day). Everyone in the CRM by that day is contacted,
# half of them at random get the offer (treated), the rest are the control group; responses within 30 days.
CAMPAIGNS = [
    ("K2025-03", "Spring webinar invitation", "email", "a seat at a live product webinar", dt.date(2025, 3, 3)),
    ("K2025-06", "Summer add-on offer", "email", "20% off any add-on for 30 days", dt.date(2025, 6, 2)),
    ("K2025-09", "Case study mailing", "email", "an industry case study and a call with an expert",
     dt.date(2025, 9, 1)),
    ("K2025-11", "Year-end check-in", "email", "a free account review and one month of Premium Support",
     dt.date(2025, 11, 3)),
]
RESPONSE_DAYS = 30
# Who the campaign changes, by what the person is on the day of contact: (P(respond) untreated, effect).
CAMPAIGN_GROUPS = {
    "sure_thing": (0.45, 0.0),      # active, happy customers and buying prospects: would buy anyway
    "persuadable": (0.05, 0.25),    # lapsed customers, prospects still evaluating: the offer moves them
    "sleeping_dog": (0.20, -0.15),  # unhappy customers, prospects with a complaint: the e-mail puts them off
    "lost_cause": (0.01, 0.0),      # not interested, job seekers, junk
}


def _campaign_group(row, contact_s: int, spec: DemoSpec) -> str:
    if row.won and row.closed_at < contact_s:
        *_, satisfaction = _customer_process(row, spec)
        if satisfaction < -0.9:
            return "sleeping_dog"
        bought = [o["ts"] for o in _customer_orders(row, spec) if o["amount"] > 0 and o["ts"] < contact_s]
        lapsed = not bought or contact_s - max(bought) > 90 * DAY
        return "persuadable" if lapsed else "sure_thing"
    if row.intent in ("junk", "job_seeker", "not_interested"):
        return "lost_cause"
    if row.intent in ("support", "complaint"):
        return "sleeping_dog"
    return "sure_thing" if row.intent == "buying" else "persuadable"


def _contact_rows(batch: pd.DataFrame, spec: DemoSpec) -> list[dict]:
    """Campaign contacts with their hidden group and true response probabilities (``_``-prefixed keys)."""
    tr = lead_traits(batch["id"].to_numpy(), spec)
    rows = []
    for campaign, *_, day in CAMPAIGNS:
        contact_s = int(dt.datetime.combine(day, dt.time(9), dt.timezone.utc).timestamp())
        for row in tr[tr["created"] < contact_s].itertuples(index=False):
            rng = random.Random(row_seed(spec.seed, int(row.n), f"campaign/{campaign}"))
            group = _campaign_group(row, contact_s, spec)
            p0, effect = CAMPAIGN_GROUPS[group]
            treated = rng.random() < 0.5
            responded = rng.random() < p0 + (effect if treated else 0.0)
            customer = row.won and row.closed_at < contact_s
            rows.append({
                "contact_id": f"{campaign}-{row.n:07d}", "campaign_id": campaign, "lead_id": lead_id(row.n),
                "customer_id": customer_id(row.n) if customer else None,
                "contacted_at": contact_s + int(rng.random() * 3 * DAY), "treated": treated,
                "responded": responded,
                "revenue": round(float(row.deal) * rng.uniform(0.05, 0.15), 2) if responded else 0.0,
                "_group": group, "_p_control": p0, "_uplift": effect,
            })
    return rows


CONTACT_COLUMNS = ["contact_id", "campaign_id", "lead_id", "customer_id", "contacted_at", "treated", "responded",
                   "revenue"]


def gen_campaign_contacts(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        yield _frame(_contact_rows(batch, spec), CONTACT_COLUMNS, "contacted_at")


def gen_campaign_truth(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = _contact_rows(batch, spec)
        yield pd.DataFrame({"contact_id": [r["contact_id"] for r in rows], "group": [r["_group"] for r in rows],
                            "p_control_true": [float(r["_p_control"]) for r in rows],
                            "uplift_true": [float(r["_uplift"]) for r in rows]})


def campaigns_frame() -> pd.DataFrame:
    out = pd.DataFrame([(c, name, channel, offer, day) for c, name, channel, offer, day in CAMPAIGNS],
                       columns=["campaign_id", "name", "channel", "offer", "started_at"])
    out["started_at"] = pd.to_datetime(out["started_at"]).dt.tz_localize("UTC")
    return out


FEEDBACK_CATEGORIES = {"product_feature": 30, "service_quality": 25, "user_experience": 20,
                       "pricing": 15, "other": 10}


def _feedback_rows(batch: pd.DataFrame, spec: DemoSpec) -> list[dict]:
    """Feedback items with their hidden need category (``_category``), which only eval.feedback_truth keeps."""
    cats, weights = list(FEEDBACK_CATEGORIES), list(FEEDBACK_CATEGORIES.values())
    tr = lead_traits(batch["id"].to_numpy(), spec)
    rows = []
    for row in tr[tr["won"]].itertuples(index=False):
        *_, satisfaction = _customer_process(row, spec)
        rng = random.Random(row_seed(spec.seed, int(row.n), "feedback"))
        lang = language(row.n, spec)
        write = text_zh.feedback_text if lang == "zh" else text.feedback_text
        n_items = int(rng.random() < 0.7) + int(rng.random() < 0.35 + 0.3 * (satisfaction < -0.5))
        for k in range(n_items):
            rating = int(min(5, max(1, round(3.6 + 1.1 * satisfaction + rng.gauss(0, 0.7)))))
            polarity = "pos" if rating >= 4 else "neg" if rating <= 2 else rng.choice(["neu", "neg", "pos"])
            category = rng.choices(cats, weights=weights)[0]
            ctx = {"name": rng.choice(text.FIRST_NAMES)}
            ts = row.closed_at + rng.random() * max(DAY, spec.end_s - row.closed_at)
            rows.append({
                "feedback_id": f"F{row.n:07d}-{k:02d}", "customer_id": customer_id(row.n),
                "ts": int(ts), "rating": rating,
                "kind": rng.choice(["review", "support_ticket", "survey"]),
                "text": write(category, polarity, rng, ctx),
                # A category with no phrasings of this polarity speaks generically: truly "other".
                "_category": category if (category, polarity) in text.FEEDBACK else "other",
                "_polarity": {"pos": "positive", "neg": "negative", "neu": "neutral"}[polarity],
                "_lang": lang,
            })
    return rows


def gen_feedback(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = _feedback_rows(batch, spec)
        yield _frame(rows, ["feedback_id", "customer_id", "ts", "rating", "kind", "text"], "ts")


def gen_feedback_truth(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = _feedback_rows(batch, spec)
        yield pd.DataFrame({"feedback_id": [r["feedback_id"] for r in rows],
                            "need_category": [r["_category"] for r in rows],
                            "sentiment": [r["_polarity"] for r in rows],
                            "lang": [r["_lang"] for r in rows]}, dtype=object)


def products_frame() -> pd.DataFrame:
    return pd.DataFrame(PRODUCTS, columns=["product_id", "name", "category", "price", "description"])
