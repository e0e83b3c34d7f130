"""``silver.lead_features``: one row per lead, as it looked ``window_days`` after it arrived.

Structured CRM fields (columns named in conf), seniority parsed from the job
title, the kind of e-mail address, behaviour on the website, interaction
counts, and the lead's own words: the mean of its interaction embeddings
(PCA-reduced inside the model pipeline), their sentiment and need categories.
Behaviour and text are cut at ``created_at + window_days`` for every lead,
trained or scored, so no feature sees what happened after the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.config import Conf
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.leads.junk import bot_like, junk_flags
from leadlake.text.sources import signal_aggregates
from leadlake.text.store import SUM_DIGITS, pooled_embeddings

log = logging.getLogger("leadlake.leads")

FEATURES_TABLE = catalog.LEAD_FEATURES
# The need mix columns are fixed: a model trained on them must find the same columns when it scores.
NEED_CATEGORIES = ("product_feature", "service_quality", "user_experience", "pricing", "other")
SENIORITY = [
    ("c_level", r"\b(ceo|cto|cfo|coo|cmo|cro|chief|founder|co-founder|owner|president)\b"),
    ("vp", r"\b(vp|svp|evp|vice president)\b"),
    ("director", r"\b(director|head of)\b"),
    ("manager", r"\b(manager|team lead|lead)\b"),
    ("student", r"\b(student|intern|internship|trainee)\b"),
]


@dataclass(frozen=True)
class LeadSchema:
    """What the columns of a CRM's leads table mean, from conf ``leads``."""

    table: str
    id: str
    created_at: str
    outcome: dict
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    job_title: str | None
    email: str | None
    company: str | None
    person: str | None
    phone: str | None
    window_days: int
    web: dict = field(default_factory=dict)
    interactions: dict = field(default_factory=dict)
    text_pca_k: int = 16
    free_domains: tuple[str, ...] = ()
    disposable_domains: tuple[str, ...] = ()

    @classmethod
    def from_conf(cls, conf: Conf) -> LeadSchema:
        c = conf.get("leads")
        try:
            return cls(
                table=c["table"], id=c["id"], created_at=c["created_at"], outcome=dict(c.get("outcome") or {}),
                categorical=tuple(c.get("categorical") or ()), numeric=tuple(c.get("numeric") or ()),
                job_title=c.get("job_title"), email=c.get("email"), company=c.get("company"),
                person=c.get("first_name"), phone=c.get("phone"), window_days=int(c["window_days"]),
                web=dict(c.get("web_events") or {}), interactions=dict(c.get("interactions") or {}),
                text_pca_k=int(c["text_pca_k"]),
                free_domains=tuple(c.get("free_email_domains") or ()),
                disposable_domains=tuple(c.get("disposable_email_domains") or ()),
            )
        except KeyError as exc:
            raise ConfError(f"leads.{exc.args[0]} is required in the conf") from exc

    @property
    def categorical_features(self) -> list[str]:
        derived = (["seniority"] if self.job_title else []) + (["email_type"] if self.email else [])
        return [*self.categorical, *derived]

    def numeric_features(self, df: DataFrame) -> list[str]:
        own = [c for c in self.numeric if c in df.columns]
        prefixes = ("web_", "msg_", "text_", "junk_")
        return own + [c for c in df.columns if c.startswith(prefixes) and c != "text_embedding"]


def seniority(title: Column) -> Column:
    t = F.lower(F.trim(title))
    out = F.when(t.isNull() | (F.length(F.regexp_replace(t, "[^a-z]", "")) < 2), "unknown")
    for label, pattern in SENIORITY:
        out = out.when(t.rlike(pattern), label)
    return out.otherwise(F.when(t.isin("test", "n/a", "na", "none", "xxx", "aaa", "asdf", "-"), "unknown")
                         .otherwise("individual"))


def email_type(email: Column, free: Sequence[str], disposable: Sequence[str]) -> Column:
    e = F.lower(F.trim(email))
    domain = F.substring_index(e, "@", -1)
    valid = e.rlike(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
    testy = e.rlike(r"^(test|asdf|noreply|no-reply|bot\d*)@") | domain.isin("example.com", "test.com", "asdf.com")
    return (F.when(e.isNull() | (e == ""), "missing").when(~valid | testy, "invalid")
            .when(domain.isin(*disposable), "disposable").when(domain.isin(*free), "free").otherwise("corporate"))


def _label(lh: Lakehouse, leads: DataFrame, s: LeadSchema) -> DataFrame:
    o = s.outcome
    col = o.get("column")
    if not col:
        raise ConfError("leads.outcome.column is required")
    src = leads if not o.get("table") else lh.read(o["table"]).select(
        F.col(s.id), F.col(col).alias("_outcome"))
    value = F.lower(F.col(col if not o.get("table") else "_outcome").cast("string"))
    positive = [str(v).lower() for v in o.get("positive", ["won", "1", "true"])]
    negative = [str(v).lower() for v in o.get("negative", ["lost", "0", "false"])]
    label = F.when(value.isin(*positive), 1.0).when(value.isin(*negative), 0.0)
    out = src.select(F.col(s.id), label.alias("label"))
    return out.dropDuplicates([s.id])


def _web_features(lh: Lakehouse, window: DataFrame, s: LeadSchema) -> DataFrame | None:
    table = s.web.get("table")
    if not table or not lh.exists(table):
        return None
    pages = [str(p) for p in s.web.get("pages") or ()]
    ev = lh.read(table, columns=[s.id, "ts", "page", "duration_s"]).join(window, s.id) \
        .where((F.col("ts") >= F.col("_start")) & (F.col("ts") < F.col("_cutoff")))
    aggs = [F.count(F.lit(1)).alias("web_visits"),
            F.coalesce(F.sum("duration_s"), F.lit(0.0)).alias("web_dwell_s"),
            F.countDistinct(F.to_date("ts")).alias("web_active_days"),
            F.datediff(F.max("_cutoff"), F.max("ts")).alias("web_days_since_last")]
    aggs += [F.sum((F.lower("page") == p).cast("int")).alias(f"web_{p}") for p in pages]
    return ev.groupBy(s.id).agg(*aggs)


def _interaction_features(lh: Lakehouse, window: DataFrame, s: LeadSchema) -> tuple[DataFrame | None, ...]:
    table = s.interactions.get("table")
    if not table or not lh.exists(table):
        return None, None
    channels = [str(c) for c in s.interactions.get("channels") or ()]
    msgs = lh.read(table, columns=[s.id, "ts", "channel", "text"]).join(window, s.id) \
        .where((F.col("ts") >= F.col("_start")) & (F.col("ts") < F.col("_cutoff")))
    aggs = [F.count(F.lit(1)).alias("msg_count"),
            F.datediff(F.min("ts"), F.min("_start")).alias("msg_days_to_first")]
    aggs += [F.sum((F.lower("channel") == c).cast("int")).alias(f"msg_{c}") for c in channels]
    counts = msgs.groupBy(s.id).agg(*aggs)
    text = pooled_embeddings(lh, msgs, s.id)
    if text is not None and lh.exists(catalog.TEXT_SIGNALS):
        sig = lh.read(catalog.TEXT_SIGNALS, columns=["source", "source_id", "lead_id", "ts", "sentiment_score",
                                              "sentiment_label", "need_category", "is_urgent"]) \
            .where(F.col("source") == table).withColumnRenamed("lead_id", s.id).join(window, s.id) \
            .where((F.col("ts") >= F.col("_start")) & (F.col("ts") < F.col("_cutoff")))
        text = text.join(sig.groupBy(s.id).agg(*signal_aggregates("text_", NEED_CATEGORIES)), s.id, "left")
    return counts, text


def build_lead_features(lh: Lakehouse, leads: DataFrame | None = None) -> DataFrame:
    """The feature rows (lazy): id, created_at, label (null for open leads), features, text_embedding."""
    conf = lh.conf
    s = LeadSchema.from_conf(conf)
    leads = leads if leads is not None else lh.read(s.table)
    missing = [c for c in (s.id, s.created_at, *s.categorical, *s.numeric) if c not in leads.columns]
    if missing:
        raise ConfError(f"{s.table} has no column(s) {', '.join(missing)} named in conf leads "
                        f"(columns: {', '.join(leads.columns)})")
    identity = {key: c for key, c in (("company", s.company), ("person", s.person), ("phone", s.phone))
                if c and c in leads.columns}
    base = leads.select(
        F.col(s.id).cast("string").alias(s.id),
        F.col(s.created_at).cast("timestamp").alias("created_at"),
        *[F.lower(F.trim(F.col(c).cast("string"))).alias(c) for c in s.categorical],
        *[F.col(c).cast("double").alias(c) for c in s.numeric],
        *([seniority(F.col(s.job_title)).alias("seniority")] if s.job_title else []),
        *([email_type(F.col(s.email), s.free_domains, s.disposable_domains).alias("email_type")] if s.email else []),
        *[F.col(c).cast("string").alias(f"_{key}") for key, c in identity.items()],
    ).dropDuplicates([s.id])
    base = junk_flags(base,
                      email_type=F.col("email_type") if s.email else None,
                      company=F.col("_company") if "company" in identity else None,
                      person=F.col("_person") if "person" in identity else None,
                      phone=F.col("_phone") if "phone" in identity else None,
                      seniority=F.col("seniority") if s.job_title else None,
                      ).drop("_company", "_person", "_phone")
    window = base.select(s.id, F.col("created_at").alias("_start"),
                         (F.col("created_at") + F.expr(f"INTERVAL {s.window_days} DAYS")).alias("_cutoff"))
    out = base.join(_label(lh, leads, s), s.id, "left")
    web = _web_features(lh, window, s)
    counts, text = _interaction_features(lh, window, s)
    for part in (web, counts):
        if part is not None:
            out = out.join(part, s.id, "left")
    zero = [c for c in out.columns if c.startswith(("web_", "msg_")) and c not in ("web_days_since_last",
                                                                                   "msg_days_to_first")]
    out = out.fillna(0, subset=zero)
    if "web_visits" in out.columns:
        out = out.withColumn("junk_bot_like", bot_like(F.col("web_visits"), F.col("web_dwell_s")))
    if text is not None:
        out = out.join(text, s.id, "left")
    out = out.select(*[F.round(c, SUM_DIGITS).alias(c) if t == "double" and c != "label" else F.col(c)
                       for c, t in out.dtypes])
    return out.withColumnRenamed(s.id, "lead_id") if s.id != "lead_id" else out
