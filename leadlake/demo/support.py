"""The demo help centre: knowledge-base articles, and customers' support questions whose answer is known.

Questions are written the way customers write, not the way articles are
titled ("the invite button is greyed out" for "Invite teammates and manage
seats"), so keyword search alone does not find every answer. Some questions
have no article at all (the help centre cannot answer them: a person must),
and some customers write angrily, more often the unhappy ones; both are
what ``eval.support_truth`` says should be escalated.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pandas as pd

from leadlake.demo import text
from leadlake.demo.crm import DAY, DemoSpec, _customer_process, _frame, customer_id, lead_traits
from leadlake.demo.rng import row_seed

# (article_id, title, body, product_id)
ARTICLES: list[tuple[str, str, str, str | None]] = [
    ("KB001", "Reset your password or unlock your account",
     "If you cannot sign in, choose 'Forgot password' on the sign-in page and follow the link we e-mail you; the "
     "link is valid for 30 minutes. Check your spam folder if the e-mail does not arrive. After five failed "
     "attempts an account is locked for 15 minutes, or an admin can unlock it under Settings > Users.", "P007"),
    ("KB002", "What to do when pages load slowly or the app seems down",
     "Open status.example.com to see whether an incident is open; it is updated every 5 minutes. If no incident "
     "is listed, clear your browser cache, try a private window and send us the time and the page that was slow.",
     None),
    ("KB003", "Invite teammates and manage user seats",
     "Admins invite people under Settings > Users > Invite. The invite button is disabled when every seat of your "
     "plan is taken: buy another seat or remove a user who left. Invitations expire after 7 days.", "P007"),
    ("KB004", "Import contacts and leads from a CSV file",
     "Go to Data > Import and upload a UTF-8 CSV file with a header row. Dates must be written as YYYY-MM-DD; other "
     "formats make the import fail with a date column error. Up to 50,000 rows per file.", None),
    ("KB005", "Fix a data sync that stopped or is missing records",
     "Open Integrations, pick the connection and press Reconnect: most stalled syncs come from an expired token at "
     "the other system. The sync then catches up with every change since it stopped. Records changed in both "
     "systems keep the newest version.", "P005"),
    ("KB006", "Download invoices and receipts",
     "Every invoice is under Billing > Invoices as a PDF, from the first month of your subscription. Billing admins "
     "can add a purchase order number and a VAT ID that then appear on new invoices.", None),
    ("KB007", "You were charged twice or charged the wrong amount",
     "A duplicate charge is refunded automatically within 5 business days. If the amount is wrong, open Billing > "
     "Invoices, select the invoice and choose 'Dispute this charge' so our billing team can correct it.", None),
    ("KB008", "Cancel or downgrade your subscription",
     "Owners can change plan or cancel under Billing > Plan. A downgrade takes effect at the end of the billing "
     "period; your data stays available for export for 90 days after cancelling.", None),
    ("KB009", "API rate limits and exporting leads through the API",
     "The REST API allows 100 requests per minute per workspace, 1,000 with the Webhook Pack. Use the /leads "
     "endpoint with paging to export leads; create API keys under Settings > API.", "P006"),
    ("KB010", "Set up single sign-on with SAML",
     "With the Security Add-on, admins add your identity provider under Settings > Security > SSO: upload its "
     "metadata XML and map the e-mail attribute. Okta, Azure AD and Google Workspace are supported.", "P012"),
    ("KB011", "Turn on two-factor authentication",
     "Each user turns on two-factor authentication under Profile > Security with an authenticator app. Admins with "
     "the Security Add-on can require it for the whole workspace.", "P012"),
    ("KB012", "Work offline in the mobile app",
     "The Mobile Field Pack keeps accounts, contacts and your route for the day on the phone. Changes made offline "
     "sync when the phone is back online; pull down on the home screen to sync at once.", "P015"),
    ("KB013", "Track e-mail opens and clicks",
     "Turn on Email Tracking in Settings > Email. Opens and clicks appear on the contact's timeline within a "
     "minute; some mail clients block tracking images, so opens are a lower bound.", "P018"),
    ("KB014", "Schedule a nightly export to your data warehouse",
     "Warehouse Export writes every CRM object to Snowflake or BigQuery each night at 02:00 in your workspace's "
     "time zone. Add the warehouse credentials under Integrations > Warehouse.", "P019"),
    ("KB015", "Build a quote and send it for e-signature",
     "Open a deal and choose New quote: add products, discounts need approval above your limit, then send the "
     "quote for e-signature. Signed quotes are attached to the deal automatically.", "P024"),
    ("KB016", "Add custom fields and custom objects",
     "Admins add custom fields under Settings > Data model. Custom objects need a Pro seat; each object can have up "
     "to 200 fields and its own permissions.", "P008"),
    ("KB017", "Reports show an error or yesterday's numbers",
     "Reports refresh every 15 minutes. If a report shows an error or old numbers, open it and press Refresh now; "
     "an error that persists usually means a filter uses a deleted field, so edit the filter.", "P001"),
    ("KB018", "Delete a person's personal data on request",
     "To answer a GDPR erasure request, open the contact and choose Delete personal data: the contact, their "
     "activities and e-mails are erased within 30 days, and an audit entry records the request.", None),
]

QUESTIONS: dict[str, list[str]] = {
    "KB001": ["I can't log in since this morning and the reset email never shows up.",
              "Locked out of my account after typing the wrong password a few times, help?",
              "How do I get back into my account? I forgot my password.",
              "sign in keeps failing for me, what do I do"],
    "KB002": ["The dashboard has been loading forever all day, is something down?",
              "Everything is really slow today, is there an outage on your side?",
              "App won't load at all for our whole team right now.",
              "Is your platform having problems? pages time out constantly"],
    "KB003": ["How do I add a new user to our account? The invite button is greyed out.",
              "A colleague joined, how can I give her access?",
              "We need to add two more people to the team account.",
              "my invitation link to a coworker stopped working"],
    "KB004": ["Our import failed with an error about the date column, can someone help?",
              "Uploading our spreadsheet of contacts keeps failing.",
              "What format do dates need to be in when I upload leads?",
              "How many rows can I bring in from a csv at once?"],
    "KB005": ["Salesforce stopped syncing yesterday, we're missing records.",
              "Our HubSpot connection hasn't updated anything since Monday.",
              "Records from the other system aren't coming through anymore.",
              "the integration seems stuck, no new data for days"],
    "KB006": ["Where do I download last month's invoice?",
              "I need a PDF of our bill for accounting.",
              "Can you add our VAT number to the invoices?",
              "finance is asking for copies of all our receipts this year"],
    "KB007": ["We were billed twice this month.",
              "The amount on our card is higher than our plan price.",
              "Why did you take two payments from us?",
              "I think there's a mistake on our latest bill"],
    "KB008": ["How do I cancel our plan?",
              "We want to move to a cheaper tier at renewal.",
              "If we stop paying, what happens to our data?",
              "please close our account at the end of the month"],
    "KB009": ["What are the limits on API calls?",
              "We keep getting 429 errors from your API.",
              "Is there a way to pull all our leads out programmatically?",
              "where do I create a key for the REST interface"],
    "KB010": ["Can we log in through Okta?",
              "Our IT team wants SAML for everyone, how do we configure it?",
              "Does your product work with Azure AD single sign-on?",
              "we need to connect our identity provider"],
    "KB011": ["How do I enable 2FA on my login?",
              "Can we force every user to use an authenticator app?",
              "Our security policy needs multi-factor for all staff.",
              "where is the setting for two step verification"],
    "KB012": ["Does the phone app work without signal?",
              "Our field reps lose connection in rural areas, can they still see accounts?",
              "Changes I made on my phone in the basement didn't show up.",
              "how do I force the mobile app to update"],
    "KB013": ["Can I see when a prospect reads my email?",
              "How do I know if someone clicked the link I sent?",
              "Open tracking doesn't show every read, why?",
              "turn on notifications for email opens"],
    "KB014": ["Can we get our CRM data into Snowflake every day?",
              "We want a daily copy of everything in BigQuery.",
              "What time does the nightly export run?",
              "how do i connect our data warehouse"],
    "KB015": ["How do I send a quote for the customer to sign?",
              "Can customers sign the proposal online?",
              "Discounts on my quote are stuck waiting for approval.",
              "where do signed quotes end up"],
    "KB016": ["Can we add our own fields to accounts?",
              "We need to track equipment as its own record type.",
              "Is there a limit to how many custom fields we can add?",
              "how do I change the data model"],
    "KB017": ["Getting a 500 error when I open reports. Please advise.",
              "Reports are showing yesterday's numbers, the sync seems stuck.",
              "My pipeline report is blank and says something went wrong.",
              "how often do dashboards update"],
    "KB018": ["A contact asked us to erase all their data, how do we do that?",
              "We got a GDPR deletion request, what's the process?",
              "How do I remove everything we hold about one person?",
              "right to be forgotten request from a former customer"],
}
# Questions the help centre cannot answer: a person has to.
UNANSWERABLE = [
    "Can your engineers build a custom connector to our in-house mainframe system?",
    "We'd like to negotiate a multi-year enterprise agreement with special legal terms.",
    "Our auditor needs a signed letter about your company's insurance coverage.",
    "Can we visit your office next month to meet the product team?",
    "Would you sponsor our industry conference in the autumn?",
    "One of your employees was rude to me on the phone, I want to speak to a manager.",
    "We need you to sign our vendor security questionnaire, 140 questions attached.",
    "Can you recommend a consultant to redesign our whole sales process?",
]
ANGRY_OPEN = ["This is the third time I'm writing about this.", "Unacceptable.", "I'm furious.",
              "Seriously, this is ridiculous.", "I am extremely frustrated."]
ANGRY_CLOSE = ["Fix this now or we cancel.", "Worst service we have ever had.",
               "We pay a lot of money for this and nobody cares.", "I want an answer today, not another ticket."]
CHANNELS = ["email", "chat", "web_form"]
P_UNANSWERABLE = 0.12


def articles_frame() -> pd.DataFrame:
    return pd.DataFrame(ARTICLES, columns=["article_id", "title", "body", "product_id"])


def _question_rows(batch: pd.DataFrame, spec: DemoSpec) -> list[dict]:
    """Support questions of the demo's customers, with the hidden answer (``_article``) and tone (``_angry``)."""
    tr = lead_traits(batch["id"].to_numpy(), spec)
    articles = list(QUESTIONS)
    rows = []
    for row in tr[tr["won"]].itertuples(index=False):
        *_, satisfaction = _customer_process(row, spec)
        rng = random.Random(row_seed(spec.seed, int(row.n), "support"))
        n_questions = int(rng.random() < 0.6) + int(rng.random() < 0.3) + int(rng.random() < 0.1)
        for k in range(n_questions):
            article = None if rng.random() < P_UNANSWERABLE else rng.choice(articles)
            body = rng.choice(UNANSWERABLE if article is None else QUESTIONS[article])
            angry = rng.random() < (0.45 if satisfaction < -0.5 else 0.12)
            if angry:
                body = " ".join(p for p in (rng.choice(ANGRY_OPEN) if rng.random() < 0.7 else "", body,
                                            rng.choice(ANGRY_CLOSE)) if p)
            if rng.random() < 0.25:
                body = text.add_typos(body, rng)
            ts = row.closed_at + rng.random() * max(DAY, spec.end_s - row.closed_at)
            rows.append({"question_id": f"Q{row.n:07d}-{k:02d}", "customer_id": customer_id(row.n), "ts": int(ts),
                         "channel": rng.choice(CHANNELS), "text": body, "_article": article, "_angry": angry})
    return rows


def gen_support_questions(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        yield _frame(_question_rows(batch, spec), ["question_id", "customer_id", "ts", "channel", "text"], "ts")


def gen_support_truth(batches: Iterator[pd.DataFrame], spec: DemoSpec) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = _question_rows(batch, spec)
        yield pd.DataFrame({"question_id": [r["question_id"] for r in rows],
                            "article_id": [r["_article"] for r in rows],
                            "angry": [bool(r["_angry"]) for r in rows],
                            "escalate": [bool(r["_angry"] or r["_article"] is None) for r in rows]}).astype(
            {"question_id": object, "article_id": object})
