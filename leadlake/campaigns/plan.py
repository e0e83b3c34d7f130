"""``plan-campaign`` -> ``gold.campaign_audiences``: whom the next campaign should target, by uplift.

Learns from past randomised campaigns (``campaigns.contacts``: who was
contacted, treated or control, responded or not). Each person's features
are what the lakehouse already knows about them, from whichever tables
exist: the lead's firmographics, its score and tier, what its messages were
about, and for customers their value segment, churn risk, CLV and top need.

People are split by a hash of their id: the held-out share never trains a
model. On it, in one run, the uplift model (``campaigns.method``), the other
uplift method, a response model (p_treated alone: whom a marketer targets
today) and random targeting are compared by Qini coefficient and uplift in
the top 10/30/50 %; the Qini curves go to MLflow. The served model is
refitted on every contact and scores every person: ``uplift``,
``p_treated``, ``p_control``, ``decile`` (1 = the tenth the campaign moves
most) and ``in_audience`` for the budget in ``campaigns.audience``, with the
segment, tier and top need a marketer filters on. Rows are upserted on
(campaign, person_id).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.campaigns.qini import qini
from leadlake.campaigns.uplift import METHODS, UpliftModel, fit_uplift
from leadlake.errors import ConfError
from leadlake.frames import as_of_day
from leadlake.lakehouse import Lakehouse
from leadlake.ml import tracking
from leadlake.ml.trees import TreeParams, XGBoostSettings
from leadlake.progress import stage
from leadlake.text.sources import message_intents, with_customers

log = logging.getLogger("leadlake.campaigns")

TABLE = catalog.CAMPAIGN_AUDIENCES
SECTION = "campaigns"
PERSON = "person_id"


@dataclass(frozen=True)
class Contacts:
    """``campaigns.contacts`` in conf."""

    table: str
    person: str
    treatment: str
    outcome: str
    ts: str


@dataclass(frozen=True)
class People:
    """``campaigns.people`` in conf: who can be targeted, their lead and customer ids (either may be null), and
    the columns of theirs that are features."""

    table: str
    id: str
    lead_id: str | None
    customer_id: str | None
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]


@dataclass(frozen=True)
class Audience:
    """``campaigns.audience`` in conf: the campaign being planned and its budget (top_n people, or min_uplift)."""

    campaign: str
    top_n: int | None
    min_uplift: float


@dataclass(frozen=True)
class CampaignReport:
    comparison: dict[str, dict]
    method: str
    people: int
    audience: int
    campaign: str
    model_version: str

    def __str__(self) -> str:
        lines = [f"campaign {self.campaign!r}: {self.audience:,} of {self.people:,} people in the audience, "
                 f"ranked by {self.method} uplift (run {self.model_version})",
                 f"  held-out contacts: {next(iter(self.comparison.values()))['contacts']:,}; "
                 f"average effect (treated - control) {next(iter(self.comparison.values()))['ate']:+.3f}",
                 f"  {'targeting by':<22} {'Qini':>7} {'top 10%':>8} {'top 30%':>8} {'top 50%':>8}"]
        for name, m in self.comparison.items():
            lines.append(f"  {name:<22} {m['qini_coefficient']:>7.4f} {m['uplift_at_10']:>+8.3f}"
                         f" {m['uplift_at_30']:>+8.3f} {m['uplift_at_50']:>+8.3f}")
        return "\n".join(lines)


def person_features(lh: Lakehouse) -> tuple[DataFrame, list[str]]:
    """(person_id, lead_id, customer_id, features...) per person that hold whenever they are read, and their names.

    Each source table is optional: a lakehouse where score-clv never ran
    simply has no value features, and the model uses what is there. What a
    person bought and said changes over time and comes from
    ``history_features`` instead, as of the moment that matters.
    """
    conf = lh.conf
    p = conf.section("campaigns.people", People)
    if not lh.exists(p.table):
        raise ConfError(f"campaigns.people.table {p.table} does not exist: nobody to target")
    def id_of(col: str | None) -> Column:
        return F.col(col).cast("string") if col else F.lit(None).cast("string")

    ids = list(dict.fromkeys(c for c in (p.id, p.lead_id, p.customer_id) if c))
    people = lh.read(p.table, columns=[*ids, *p.categorical, *p.numeric]).select(
        F.col(p.id).cast("string").alias(PERSON), id_of(p.lead_id).alias("lead_id"),
        id_of(p.customer_id).alias("customer_id"), *[F.col(c).cast("string").alias(c) for c in p.categorical],
        *[F.col(c).cast("double").alias(c) for c in p.numeric]).dropDuplicates([PERSON])
    features = [*p.categorical, *p.numeric]
    if lh.exists(catalog.LEAD_SCORES):
        scores = lh.read(catalog.LEAD_SCORES, columns=["lead_id", "p_convert", "tier", "is_junk"]).select(
            "lead_id", "p_convert", "tier", F.col("is_junk").cast("string").alias("is_junk"))
        people, features = people.join(scores, "lead_id", "left"), [*features, "p_convert", "tier", "is_junk"]
    intents = message_intents(lh)
    if intents is not None:
        people = people.join(intents, "lead_id", "left")
        features += ["main_intent", "support_share"]
    return with_customers(lh, people), features


def snapshot_features(lh: Lakehouse, people: DataFrame) -> tuple[DataFrame, list[str]]:
    """What the gold tables say of each customer today: value segment, churn risk, CLV, top need and its tone.

    They describe the person now, not on the day of a past contact, so they
    are columns a marketer filters the audience on and, only with
    ``campaigns.snapshot_features``, model features.
    """
    features: list[str] = []
    if lh.exists(catalog.CUSTOMER_CLV):
        clv = lh.read(catalog.CUSTOMER_CLV, columns=["customer_id", "value_segment", "churn_risk", "clv_12m",
                                                     "p_churn", "spend_to_date"])
        people = people.join(clv, "customer_id", "left")
        features += ["value_segment", "churn_risk", "clv_12m", "p_churn", "spend_to_date"]
    if lh.exists(catalog.CUSTOMER_NEEDS):
        needs = lh.read(catalog.CUSTOMER_NEEDS, columns=["customer_id", "need_category", "need_priority",
                                                         "avg_sentiment", "negative_mentions"])
        first = Window.partitionBy("customer_id").orderBy(F.desc_nulls_last("need_priority"), "need_category")
        top = needs.withColumn("_r", F.row_number().over(first)).where("_r = 1").select(
            "customer_id", F.col("need_category").alias("top_need"))
        tone = needs.groupBy("customer_id").agg(F.avg("avg_sentiment").alias("need_sentiment"),
                                                F.sum("negative_mentions").cast("double").alias("negative_mentions"))
        people = people.join(top, "customer_id", "left").join(tone, "customer_id", "left")
        features += ["top_need", "need_sentiment", "negative_mentions"]
    return people, features


HISTORY = ("is_customer", "orders", "spend", "orders_90d", "days_since_order", "feedback_items", "mean_rating",
           "low_ratings", "days_since_feedback")


def history_features(lh: Lakehouse, frame: DataFrame, at: str) -> tuple[DataFrame, list[str]]:
    """``frame`` (with customer_id and a timestamp column ``at``) with what each customer had bought and rated
    strictly before that moment.

    A past campaign's contacts are described as they were on the day they
    were contacted, and today's people as of the newest order: a customer
    who lapsed after the spring campaign was active when it reached them,
    and a model trained on today's recency would learn the opposite of what
    the campaign saw. Columns without the source tables are null.
    """
    moments = frame.select(F.col("customer_id").alias("_cust"), F.col(at).cast("timestamp").alias("_at")).where(
        F.col("_cust").isNotNull()).distinct()
    o = lh.conf.get("clv.orders") or {}
    f = lh.conf.get("clv.feedback") or {}
    out = frame.withColumn("_cust", F.col("customer_id")).withColumn("_at", F.col(at).cast("timestamp"))
    if o.get("table") and lh.exists(o["table"]):
        lines = lh.read(o["table"], columns=[o["customer"], o["ts"], o["amount"]]).select(
            F.col(o["customer"]).cast("string").alias("_cust"), F.col(o["ts"]).cast("timestamp").alias("_ts"),
            F.col(o["amount"]).cast("double").alias("_amount"))
        paid = F.col("_amount") > 0
        recent = F.col("_ts") >= F.col("_at") - F.expr("INTERVAL 90 DAYS")
        before = moments.join(lines, "_cust").where(F.col("_ts") < F.col("_at")).groupBy("_cust", "_at").agg(
            F.sum(paid.cast("double")).alias("orders"), F.sum("_amount").alias("spend"),
            F.sum((paid & recent).cast("double")).alias("orders_90d"),
            F.datediff(F.col("_at"), F.max(F.when(paid, F.col("_ts")))).cast("double").alias("days_since_order"))
        out = out.join(before, ["_cust", "_at"], "left")
    if f.get("table") and f.get("rating") and lh.exists(f["table"]):
        items = lh.read(f["table"], columns=[f["customer"], f["ts"], f["rating"]]).select(
            F.col(f["customer"]).cast("string").alias("_cust"), F.col(f["ts"]).cast("timestamp").alias("_ts"),
            F.col(f["rating"]).cast("double").alias("_rating"))
        said = moments.join(items, "_cust").where(F.col("_ts") < F.col("_at")).groupBy("_cust", "_at").agg(
            F.count(F.lit(1)).cast("double").alias("feedback_items"), F.avg("_rating").alias("mean_rating"),
            F.sum((F.col("_rating") <= 2).cast("double")).alias("low_ratings"),
            F.datediff(F.col("_at"), F.max("_ts")).cast("double").alias("days_since_feedback"))
        out = out.join(said, ["_cust", "_at"], "left")
    out = out.drop("_cust", "_at")
    for col in HISTORY:
        if col not in out.columns:
            out = out.withColumn(col, F.lit(None).cast("double"))
    out = out.withColumn("is_customer", (F.coalesce(F.col("orders"), F.lit(0.0)) > 0).cast("string"))
    return out, list(HISTORY)


def as_of(lh: Lakehouse) -> Column:
    """The moment today's people are described at: the end of CLV's as-of day (``frames.as_of_day``), or now
    when there are no orders."""
    o = lh.conf.get("clv.orders") or {}
    orders = lh.read(o["table"], columns=[o["ts"]]) if o.get("table") and lh.exists(o["table"]) else None
    day = as_of_day(orders, lh.conf, o.get("ts"))
    return F.to_timestamp(F.date_add(F.lit(day), 1)) if day is not None else F.current_timestamp()


def _contacts(lh: Lakehouse, people: DataFrame) -> DataFrame:
    c = lh.conf.section("campaigns.contacts", Contacts)
    if not lh.exists(c.table):
        raise ConfError(f"campaigns.contacts.table {c.table} does not exist: no past campaign to learn from")
    raw = lh.read(c.table, columns=[c.person, c.treatment, c.outcome, c.ts]).select(
        F.col(c.person).cast("string").alias(PERSON), F.col(c.treatment).cast("int").alias("treated"),
        F.col(c.outcome).cast("int").alias("responded"), F.col(c.ts).cast("timestamp").alias("contacted_at"))
    usable = raw.where(F.col(PERSON).isNotNull() & F.col("treated").isNotNull() & F.col("responded").isNotNull()
                       & F.col("contacted_at").isNotNull())
    return usable.join(people, PERSON, "left")


def _held_out(share: float):
    return (F.abs(F.xxhash64(PERSON)) % 1000) < round(share * 1000)


def plan_campaign(lh: Lakehouse) -> CampaignReport:
    import mlflow

    conf = lh.conf
    method = str(conf.get("campaigns.method"))
    if method not in (*METHODS, "auto"):
        raise ConfError(f"campaigns.method must be one of {', '.join(METHODS)} or auto, not {method!r}")
    trees, fitting = conf.section("campaigns.model", TreeParams), conf.section("xgboost", XGBoostSettings)
    audience = conf.section("campaigns.audience", Audience)
    people, features = person_features(lh)
    base, snapshot = snapshot_features(lh, people)
    if conf.get("campaigns.snapshot_features"):
        features += snapshot
    base = base.persist()  # read twice: joined to the past contacts and described as of today
    contacts, history = history_features(lh, _contacts(lh, base), "contacted_at")
    contacts = contacts.persist()
    people, _ = history_features(lh, base.withColumn("_as_of", as_of(lh)), "_as_of")
    people = people.drop("_as_of").persist()
    features += history
    try:
        holdout = _held_out(float(conf.get("campaigns.holdout")))
        train, test = contacts.where(~holdout), contacts.where(holdout)
        comparison: dict[str, dict] = {}
        with stage(log, "fit uplift models on the training contacts, compare on the held-out ones") as st:
            st.rows = contacts.count()
            fitted = {m: fit_uplift(train, "treated", "responded", features, m, trees, fitting) for m in METHODS}
            for m, model in fitted.items():
                comparison[f"uplift ({m})"] = qini(model.transform(test), "treated", "responded", "uplift")
            response = fitted["t_learner"].transform(test)
            comparison["response model"] = qini(response, "treated", "responded", "p_treated")
            comparison["random"] = qini(test.withColumn("_rand", F.rand(7)), "treated", "responded", "_rand")
        if method == "auto":
            method = max(METHODS, key=lambda m: comparison[f"uplift ({m})"]["qini_coefficient"])
        tracking.start(conf, SECTION)
        with mlflow.start_run(run_name="plan-campaign") as run:
            mlflow.log_params({"method": method, "features": ",".join(features), **{
                f"model.{k}": v for k, v in asdict(trees).items()}})
            mlflow.log_metrics({f"{_slug(name)}_{k}": v for name, m in comparison.items()
                                for k, v in m.items() if isinstance(v, float)})
            tracking.log_figure(lambda ax: _draw_qini(ax, comparison), "qini_curves.png")
            with stage(log, f"refit the {method} uplift model on every contact"):
                served = fit_uplift(contacts, "treated", "responded", features, method, trees, fitting)
                for name, model in served.models.items():
                    mlflow.spark.log_model(model, f"uplift_{name}", pip_requirements=tracking.PIP_REQUIREMENTS)
            version = run.info.run_id[:12]
        rows = _audience(served, people, audience, version)
        with stage(log, f"upsert {TABLE}") as st:
            lh.upsert(rows, TABLE, ["campaign", PERSON])
            st.rows = lh.row_count(TABLE)
        chosen = lh.read(TABLE).where((F.col("campaign") == audience.campaign) & F.col("in_audience")).count()
        return CampaignReport(comparison, method, people.count(), chosen, audience.campaign, version)
    finally:
        contacts.unpersist()
        people.unpersist()
        base.unpersist()


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_").replace("__", "_")


def _draw_qini(ax, comparison: dict[str, dict]) -> None:
    for name, m in comparison.items():
        xs, ys = zip(*m["curve"], strict=True)
        ax.plot(xs, ys, label=f"{name} ({m['qini_coefficient']:.4f})")
    ax.set_xlabel("share of people targeted (best score first)")
    ax.set_ylabel("incremental responders")
    ax.set_title("Qini curves on held-out contacts")
    ax.legend()


def _audience(model: UpliftModel, people: DataFrame, audience: Audience, version: str) -> DataFrame:
    scored = model.transform(people)
    decile = F.ntile(10).over(Window.orderBy(F.desc("uplift"), PERSON))
    position = F.row_number().over(Window.orderBy(F.desc("uplift"), PERSON))
    ranked = scored.withColumn("decile", decile).withColumn("_pos", position)
    chosen = (F.col("_pos") <= audience.top_n) if audience.top_n else (F.col("uplift") >= audience.min_uplift)
    optional = [c for c in ("value_segment", "tier", "top_need", "churn_risk") if c in scored.columns]
    return ranked.select(
        F.lit(audience.campaign).alias("campaign"), PERSON, "lead_id", "customer_id",
        F.round("uplift", 5).alias("uplift"), F.round("p_treated", 5).alias("p_treated"),
        F.round("p_control", 5).alias("p_control"), "decile", F.coalesce(chosen, F.lit(False)).alias("in_audience"),
        *optional, F.lit(model.method).alias("method"), F.lit(version).alias("model_version"),
        F.current_timestamp().alias("scored_at"))
