"""Every table leadlake knows, in one place: layer, name, keys, and the stage that writes it.

The pipeline reads its stages' inputs and outputs from here, ``leadlake
tables`` describes the lakehouse with it, and the README's table list is
checked against it in the tests. Conf still decides where a table lives
(``tables:`` overrides, ``catalog:``); this is what the table *is*.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    """One logical table: ``layer.name``, its key columns and the stage that writes it."""

    name: str
    keys: tuple[str, ...]
    written_by: str
    about: str


TABLES: dict[str, TableSpec] = {t.name: t for t in (
    TableSpec("bronze.leads", ("lead_id",), "ingest", "CRM leads, custom crm_* fields kept"),
    TableSpec("bronze.interactions", ("interaction_id",), "ingest", "emails, chats, call notes, inbound messages"),
    TableSpec("bronze.web_events", ("event_id",), "ingest", "page views of known leads"),
    TableSpec("bronze.conversions", ("lead_id",), "ingest", "observed outcome of each lead: won, lost, open"),
    TableSpec("bronze.customers", ("customer_id",), "ingest", "accounts, with the lead each came from"),
    TableSpec("bronze.orders", ("order_id",), "ingest", "order lines, refunds as negative amounts"),
    TableSpec("bronze.products", ("product_id",), "ingest", "the catalogue"),
    TableSpec("bronze.feedback", ("feedback_id",), "ingest", "reviews, tickets and surveys"),
    TableSpec("bronze.campaigns", ("campaign_id",), "ingest", "past marketing campaigns and their offers"),
    TableSpec("bronze.campaign_contacts", ("contact_id",), "ingest",
              "who each campaign reached, treated or control, and whether they responded"),
    TableSpec("bronze.kb_articles", ("article_id",), "ingest", "help-centre articles that service replies cite"),
    TableSpec("bronze.support_questions", ("question_id",), "ingest", "inbound support questions from customers"),
    TableSpec("bronze.quarantine", ("quarantine_id",), "ingest", "every rejected input row with its reasons"),
    TableSpec("eval.lead_truth", ("lead_id",), "demo-data", "the demo's hidden lead labels (evaluation only)"),
    TableSpec("eval.feedback_truth", ("feedback_id",), "demo-data", "the demo's hidden need categories"),
    TableSpec("eval.message_truth", ("interaction_id",), "demo-data", "the demo's hidden message kinds"),
    TableSpec("eval.campaign_truth", ("contact_id",), "demo-data",
              "the demo's hidden campaign effect per contact (evaluation only)"),
    TableSpec("eval.support_truth", ("question_id",), "demo-data",
              "the demo's answering article and escalation truth per support question"),
    TableSpec("silver.text_embeddings", ("text_hash", "model_id"), "embed", "one vector per distinct text and encoder"),
    TableSpec("silver.text_signals", ("source", "source_id"), "mine-needs",
              "sentiment, need category, entities and topic per text"),
    TableSpec("gold.need_insights", ("need_id",), "mine-needs", "one row per need, with its priority"),
    TableSpec("gold.customer_needs", ("customer_id", "need_category"), "mine-needs", "needs per customer"),
    TableSpec("gold.discovered_leads", ("source", "message_id"), "discover-leads",
              "inbound messages that are sales leads"),
    TableSpec("silver.lead_features", ("lead_id",), "train-leads", "one feature row per lead"),
    TableSpec("gold.lead_scores", ("lead_id",), "score-leads", "p_convert, score, tier, rank, reasons, junk"),
    TableSpec("gold.tier_thresholds", ("version",), "feedback", "versioned tier thresholds from closed deals"),
    TableSpec("silver.customer_features", ("customer_id", "cutoff"), "train-clv",
              "one feature row per customer and cut-off"),
    TableSpec("gold.customer_clv", ("customer_id",), "score-clv", "clv_12m, BTYD baseline, churn risk, value segment"),
    TableSpec("gold.recommendations", ("user_kind", "user_id", "rank"), "recommend",
              "top-k products per customer and open lead, with score, rank and source"),
    TableSpec("gold.campaign_audiences", ("campaign", "person_id"), "plan-campaign",
              "uplift, p_treated, p_control, decile and audience flag per person"),
    TableSpec("gold.next_best_actions", ("person_kind", "person_id"), "next-actions",
              "action, channel, owner, why and a grounded draft per hot lead and customer"),
    TableSpec("gold.service_replies", ("source", "question_id"), "answer-questions",
              "best help articles, a cited draft reply, and whether to escalate (with why) per support question"),
    TableSpec("gold.insight_briefs", ("subject_kind", "subject", "week"), "write-briefs",
              "a short weekly brief per need category and lead segment: what rose or fell, who it concerns"),
    TableSpec("silver.generations", ("prompt_hash",), "next-actions",
              "every language-model answer by a hash of (prompt, model): reruns send nothing"),
)}


# The names modules use, so that no stage spells out (or imports from another stage) a table it does not own.
QUARANTINE = TABLES["bronze.quarantine"].name
TEXT_EMBEDDINGS = TABLES["silver.text_embeddings"].name
TEXT_SIGNALS = TABLES["silver.text_signals"].name
NEED_INSIGHTS = TABLES["gold.need_insights"].name
CUSTOMER_NEEDS = TABLES["gold.customer_needs"].name
DISCOVERED_LEADS = TABLES["gold.discovered_leads"].name
LEAD_FEATURES = TABLES["silver.lead_features"].name
LEAD_SCORES = TABLES["gold.lead_scores"].name
TIER_THRESHOLDS = TABLES["gold.tier_thresholds"].name
CUSTOMER_FEATURES = TABLES["silver.customer_features"].name
CUSTOMER_CLV = TABLES["gold.customer_clv"].name
RECOMMENDATIONS = TABLES["gold.recommendations"].name
CAMPAIGN_AUDIENCES = TABLES["gold.campaign_audiences"].name
NEXT_BEST_ACTIONS = TABLES["gold.next_best_actions"].name
INSIGHT_BRIEFS = TABLES["gold.insight_briefs"].name
SERVICE_REPLIES = TABLES["gold.service_replies"].name
LEAD_TRUTH = TABLES["eval.lead_truth"].name


def written_by(stage: str) -> tuple[str, ...]:
    return tuple(t.name for t in TABLES.values() if t.written_by == stage)
