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

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]


def _t(name: str, keys: tuple[str, ...], written_by: str, about: str) -> TableSpec:
    return TableSpec(name, keys, written_by, about)


TABLES: dict[str, TableSpec] = {t.name: t for t in (
    _t("bronze.leads", ("lead_id",), "ingest", "CRM leads, custom crm_* fields kept"),
    _t("bronze.interactions", ("interaction_id",), "ingest", "emails, chats, call notes, inbound messages"),
    _t("bronze.web_events", ("event_id",), "ingest", "page views of known leads"),
    _t("bronze.conversions", ("lead_id",), "ingest", "observed outcome of each lead: won, lost, open"),
    _t("bronze.customers", ("customer_id",), "ingest", "accounts, with the lead each came from"),
    _t("bronze.orders", ("order_id",), "ingest", "order lines, refunds as negative amounts"),
    _t("bronze.products", ("product_id",), "ingest", "the catalogue"),
    _t("bronze.feedback", ("feedback_id",), "ingest", "reviews, tickets and surveys"),
    _t("bronze.quarantine", ("quarantine_id",), "ingest", "every rejected input row with its reasons"),
    _t("eval.lead_truth", ("lead_id",), "demo-data", "the demo's hidden lead labels (evaluation only)"),
    _t("eval.feedback_truth", ("feedback_id",), "demo-data", "the demo's hidden need categories"),
    _t("eval.message_truth", ("interaction_id",), "demo-data", "the demo's hidden message kinds"),
    _t("silver.text_embeddings", ("text_hash", "model_id"), "embed", "one vector per distinct text and encoder"),
    _t("silver.text_signals", ("source", "source_id"), "mine-needs",
       "sentiment, need category, entities and topic per text"),
    _t("gold.need_insights", ("need_id",), "mine-needs", "one row per need, with its priority"),
    _t("gold.customer_needs", ("customer_id", "need_category"), "mine-needs", "needs per customer"),
    _t("gold.discovered_leads", ("source", "message_id"), "discover-leads", "inbound messages that are sales leads"),
    _t("silver.lead_features", ("lead_id",), "train-leads", "one feature row per lead"),
    _t("gold.lead_scores", ("lead_id",), "score-leads", "p_convert, score, tier, rank, reasons, junk"),
    _t("gold.tier_thresholds", ("version",), "feedback", "versioned tier thresholds from closed deals"),
    _t("silver.customer_features", ("customer_id", "cutoff"), "train-clv", "one feature row per customer and cut-off"),
    _t("gold.customer_clv", ("customer_id",), "score-clv", "clv_12m, BTYD baseline, churn risk, value segment"),
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


def table(name: str) -> TableSpec:
    """The catalog entry of ``name``; a KeyError names the known tables."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"{name} is not in leadlake's table catalog; known: {', '.join(sorted(TABLES))}") from None


def written_by(stage: str) -> tuple[str, ...]:
    return tuple(t.name for t in TABLES.values() if t.written_by == stage)
