"""The report's sections, each built from the tables that exist, each saying which table versions it read.

A section reads gold tables only through the catalog and aggregates in
Spark; what reaches the driver is a few dozen numbers per chart and a few
rows per table, whatever the lakehouse's size. A section whose tables do
not exist yet says which stage would write them instead of failing the
report: a report on a half-built lakehouse is still useful.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.frames import reason_label
from leadlake.lakehouse import Lakehouse
from leadlake.report.charts import bar_chart, histogram, line_chart, table

log = logging.getLogger("leadlake.report")

TOP_ROWS = 12


@dataclass
class Section:
    title: str
    sources: list[tuple[str, int | None]] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    missing: str | None = None

    def read(self, lh: Lakehouse, name: str, columns: list[str] | None = None) -> DataFrame:
        """The table, recorded with its version so the reader knows exactly what the numbers are from."""
        self.sources.append((name, lh.version(name)))
        return lh.read(name, columns=columns)

    def text(self, paragraph: str) -> None:
        self.parts.append(f"<p>{escape(paragraph)}</p>")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def section(title: str, *needs: tuple[str, str]) -> Callable[[Callable[[Lakehouse, Section], Section]],
                                                               Callable[[Lakehouse], Section]]:
    """A section builder that runs only when its tables exist; otherwise the section says what to run."""
    def wrap(build: Callable[[Lakehouse, Section], Section]) -> Callable[[Lakehouse], Section]:
        @functools.wraps(build)
        def run(lh: Lakehouse) -> Section:
            return _needs(lh, title, *needs) or build(lh, Section(title))

        return run

    return wrap


def _needs(lh: Lakehouse, title: str, *tables_and_stages: tuple[str, str]) -> Section | None:
    """A section that says what to run when a table it needs is absent, or None when all exist."""
    absent = [(t, s) for t, s in tables_and_stages if not lh.exists(t)]
    if not absent:
        return None
    return Section(title, missing="; ".join(f"{t} does not exist yet: run {s}" for t, s in absent))


@section("Leads: funnel, tiers, lift and calibration", (catalog.LEAD_SCORES, "score-leads"))
def leads_section(lh: Lakehouse, s: Section) -> Section:
    scores = s.read(lh, catalog.LEAD_SCORES, ["lead_id", "p_convert", "tier", "top_reasons", "is_junk",
                                              "segment_description"])
    outcome = lh.conf.get("leads.outcome")
    lead_id = lh.conf.get("leads.id")
    closed = None
    if outcome.get("table") and lh.exists(outcome["table"]):
        out = s.read(lh, outcome["table"], [lead_id, outcome["column"]])
        label = (F.when(F.col(outcome["column"]).isin(list(outcome["positive"])), 1.0)
                 .when(F.col(outcome["column"]).isin(list(outcome["negative"])), 0.0))
        closed = out.select(F.col(lead_id).cast("string").alias("lead_id"), label.alias("converted")).where(
            F.col("converted").isNotNull())
    tiers = {r["tier"]: r for r in (scores.join(closed, "lead_id", "left") if closed is not None
                                    else scores.withColumn("converted", F.lit(None).cast("double")))
             .groupBy("tier").agg(F.count(F.lit(1)).alias("leads"),
                                  F.sum(F.coalesce(F.col("is_junk").cast("int"), F.lit(0))).alias("junk"),
                                  F.count("converted").alias("closed"), F.avg("converted").alias("rate"),
                                  F.avg("p_convert").alias("p")).collect()}
    total = sum(int(r["leads"]) for r in tiers.values())
    order = [t for t in ("high", "mid", "low") if t in tiers]
    s.text(f"{total:,} leads scored. Realised conversion is over deals closed so far (won or lost), which "
           "includes the deals the model was trained on: it shows whether the tiers sort leads as promised, "
           "not the model's held-out accuracy (that is in MLflow).")
    s.parts.append(table(["tier", "leads", "junk", "closed deals", "realised conversion", "mean p_convert"],
                         [[t, f"{tiers[t]['leads']:,}", f"{tiers[t]['junk']:,}", f"{tiers[t]['closed']:,}",
                           _pct(tiers[t]["rate"]), _pct(tiers[t]["p"])] for t in order], numeric=(1, 2, 3, 4, 5)))
    s.parts.append(bar_chart("lead_tiers", "Leads per tier", order, [int(tiers[t]["leads"]) for t in order],
                             value_label="leads"))
    if closed is not None:
        deciles = scores.join(closed, "lead_id").withColumn(
            "decile", F.ntile(10).over(Window.orderBy(F.desc("p_convert"), "lead_id"))).groupBy("decile").agg(
            F.avg("converted").alias("rate"), F.avg("p_convert").alias("p"), F.count(F.lit(1)).alias("n")
        ).orderBy("decile").collect()
        if deciles:
            overall = sum(r["rate"] * r["n"] for r in deciles) / max(1, sum(r["n"] for r in deciles))
            lift = [(r["decile"], (r["rate"] / overall) if overall else 0.0) for r in deciles]
            s.parts.append(line_chart(
                "lead_lift", "Lift by score decile (realised conversion over the average)", {"lift": lift},
                x_label="score decile (1 = highest scores)", y_label="lift",
                x_ticks={float(d): str(d) for d, _ in lift}))
            s.parts.append(line_chart(
                "lead_calibration", "Calibration: predicted vs realised conversion, per score decile",
                {"deciles": [(float(r["p"]), float(r["rate"])) for r in deciles]},
                x_label="mean p_convert", y_label="realised conversion", diagonal=True))
            s.text(f"Top-decile lift {lift[0][1]:.2f}x over an average conversion of {overall:.1%} on "
                   f"{sum(r['n'] for r in deciles):,} closed deals.")
    reasons = scores.select(F.explode("top_reasons").alias("r")).select(
        reason_label(F.col("r")).alias("reason")).groupBy("reason").count() \
        .orderBy(F.desc("count"), "reason").limit(10).collect()
    if reasons:
        s.parts.append(bar_chart("lead_reasons", "Most common reasons among the leads' top reasons",
                                 [r["reason"] for r in reasons], [int(r["count"]) for r in reasons],
                                 value_label="leads"))
    segments = scores.where(F.col("segment_description").isNotNull()).groupBy("segment_description").agg(
        F.count(F.lit(1)).alias("n"), F.avg("p_convert").alias("p")).orderBy(F.desc("n")).limit(8).collect()
    if segments:
        s.parts.append(table(["segment", "leads", "mean p_convert"],
                             [[r["segment_description"], f"{r['n']:,}", _pct(r["p"])] for r in segments],
                             numeric=(1, 2)))
    return s


@section("Customers: lifetime value, value segments, churn risk", (catalog.CUSTOMER_CLV, "score-clv"))
def value_section(lh: Lakehouse, s: Section) -> Section:
    clv = s.read(lh, catalog.CUSTOMER_CLV, ["customer_id", "clv_12m", "value_segment", "churn_risk"])
    quantiles = clv.approxQuantile("clv_12m", [i / 200 for i in range(201)], 0.001)
    s.parts.append(histogram("clv_distribution", "Expected 12-month value per customer (share of customers)",
                             quantiles, x_label="clv_12m", log_scale=True, share=True))
    s.text("The distribution is drawn from 201 quantiles of clv_12m, so it costs the same for any number of "
           "customers.")
    segments = clv.groupBy("value_segment").agg(F.count(F.lit(1)).alias("n"), F.sum("clv_12m").alias("total"),
                                                F.avg("clv_12m").alias("mean")).orderBy(F.desc("total")).collect()
    s.parts.append(table(["value segment", "customers", "total clv_12m", "mean clv_12m"],
                         [[r["value_segment"], f"{r['n']:,}", _money(r["total"]), _money(r["mean"])]
                          for r in segments], numeric=(1, 2, 3)))
    s.parts.append(bar_chart("value_segments", "Expected 12-month value by segment",
                             [r["value_segment"] for r in segments], [float(r["total"] or 0) for r in segments],
                             value_label="total clv_12m"))
    risk = {r["churn_risk"]: int(r["n"]) for r in clv.groupBy("churn_risk").agg(F.count(F.lit(1)).alias("n"))
            .collect()}
    order = [k for k in ("high", "medium", "low") if k in risk] + sorted(k for k in risk if k not in
                                                                        ("high", "medium", "low"))
    s.parts.append(bar_chart("churn_risk", "Customers by churn risk", [str(k) for k in order],
                             [risk[k] for k in order], value_label="customers"))
    return s


@section("Customer needs: what they ask for, and how it is trending", (catalog.NEED_INSIGHTS, "mine-needs"))
def needs_section(lh: Lakehouse, s: Section) -> Section:
    needs = s.read(lh, catalog.NEED_INSIGHTS).orderBy(F.desc("priority"), "need_id").limit(10).collect()
    s.parts.append(table(
        ["need", "topic", "mentions", "customers", "trend", "negative", "value at stake", "priority", "example"],
        [[r["need_category"], r["topic_label"], f"{r['volume']:,}", f"{r['customers']:,}",
          f"{r['trend']} ({r['growth']:+.0%})", _pct(r["negative_share"]), _money(r["customer_value"]),
          f"{r['priority']:.1f}", (r["example_texts"] or [""])[0][:160]] for r in needs],
        numeric=(2, 3, 6, 7)))
    if lh.exists(catalog.TEXT_SIGNALS):
        top = [c for c in dict.fromkeys(r["need_category"] for r in needs)][:5]
        monthly = s.read(lh, catalog.TEXT_SIGNALS, ["need_category", "ts"]).where(
            F.col("need_category").isin(top) & F.col("ts").isNotNull()).groupBy(
            "need_category", F.date_format(F.date_trunc("month", "ts"), "yyyy-MM").alias("month")).count().collect()
        months = sorted({r["month"] for r in monthly})[-12:]
        index = {m: i for i, m in enumerate(months)}
        series = {c: [(float(index[r["month"]]), float(r["count"])) for r in sorted(monthly, key=lambda r: r["month"])
                      if r["need_category"] == c and r["month"] in index] for c in top}
        series = {c: pts for c, pts in series.items() if pts}
        if series:
            step = max(1, len(months) // 4)
            s.parts.append(line_chart("need_trends", "Mentions per month of the top needs (last 12 months)", series,
                                      x_label="month", y_label="mentions",
                                      x_ticks={float(i): m for i, m in enumerate(months) if i % step == 0}))
    return s


def _action_rows(lh: Lakehouse, s: Section) -> list:
    actions = s.read(lh, catalog.NEXT_BEST_ACTIONS, ["person_kind", "person_id", "action", "channel", "owner_role",
                                                     "why", "draft"])
    order = F.lit(0.0)
    if lh.exists(catalog.LEAD_SCORES):
        scores = lh.read(catalog.LEAD_SCORES, columns=["lead_id", "p_convert"]).withColumnRenamed("lead_id",
                                                                                                 "person_id")
        actions = actions.join(scores.withColumn("person_kind", F.lit("lead")), ["person_kind", "person_id"], "left")
        order = F.coalesce(F.col("p_convert"), order)
    if lh.exists(catalog.CUSTOMER_CLV):
        clv = lh.read(catalog.CUSTOMER_CLV, columns=["customer_id", "clv_12m"]).withColumnRenamed(
            "customer_id", "person_id")
        actions = actions.join(clv.withColumn("person_kind", F.lit("customer")), ["person_kind", "person_id"], "left")
        order = F.coalesce(F.col("clv_12m"), order)
    ranked = actions.withColumn("_r", F.row_number().over(Window.partitionBy("person_kind").orderBy(
        F.desc(order), "person_id")))
    return ranked.where(F.col("_r") <= TOP_ROWS // 2).orderBy("person_kind", "_r").collect()


@section("Next best actions to take this week", (catalog.NEXT_BEST_ACTIONS, "next-actions"))
def actions_section(lh: Lakehouse, s: Section) -> Section:
    counts = lh.read(catalog.NEXT_BEST_ACTIONS, columns=["action"]).groupBy("action").count().orderBy(
        F.desc("count"), "action").collect()
    s.parts.append(bar_chart("next_actions", "Actions by kind", [r["action"] for r in counts],
                             [int(r["count"]) for r in counts], value_label="people"))
    rows = _action_rows(lh, s)
    s.text("The hottest leads (by p_convert) and the most valuable customers (by clv_12m) first.")
    s.parts.append(table(["who", "action", "channel", "owner", "why", "draft"],
                         [[f"{r['person_kind']} {r['person_id']}", r["action"], r["channel"], r["owner_role"],
                           r["why"], (r["draft"] or "")[:240]] for r in rows]))
    return s


def _latest_metrics(lh: Lakehouse, domain: str) -> tuple[str, dict[str, float]] | None:
    """The newest MLflow run of a section's experiment: its id and metrics (None without one)."""
    try:
        import mlflow

        from leadlake.ml import tracking

        tracking.start(lh.conf, domain)
        runs = mlflow.search_runs(experiment_names=[str(lh.conf.get(f"{domain}.mlflow.experiment"))],
                                  order_by=["attributes.start_time DESC"], max_results=1, output_format="list")
    except Exception as exc:  # a report without metrics is still a report
        log.warning("no MLflow metrics for %s: %s", domain, exc)
        return None
    if not runs:
        return None
    return runs[0].info.run_id, dict(runs[0].data.metrics)


@section("Product recommendations", (catalog.RECOMMENDATIONS, "recommend"))
def recommendations_section(lh: Lakehouse, s: Section) -> Section:
    recs = s.read(lh, catalog.RECOMMENDATIONS, ["user_kind", "user_id", "product_id", "rank", "source"])
    people = {r["user_kind"]: int(r["n"]) for r in recs.groupBy("user_kind").agg(
        F.countDistinct("user_id").alias("n")).collect()}
    s.text(", ".join(f"{n:,} {k}s" for k, n in sorted(people.items())) + " have recommendations.")
    metrics = _latest_metrics(lh, "reco")
    if metrics:
        run, m = metrics
        models = [x for x in ("als", "popularity", "content") if f"{x}_ndcg_at_k" in m]
        cols = ("precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k")
        s.text(f"Held-out ranking quality (each customer's latest purchases), MLflow run {run[:12]}:")
        s.parts.append(table(["model", *cols], [[x, *(f"{m.get(f'{x}_{c}', float('nan')):.3f}" for c in cols)]
                                                 for x in models], numeric=(1, 2, 3, 4)))
    top = recs.where("rank = 1").groupBy("product_id").count().withColumn("name", F.col("product_id"))
    products = lh.conf.get("reco.products.table")
    if lh.exists(products):
        names = lh.read(products).select(F.col(lh.conf.get("reco.products.id")).cast("string").alias("product_id"),
                                         F.col("name").cast("string").alias("_name"))
        top = top.join(names, "product_id", "left").withColumn("name", F.coalesce("_name", "product_id"))
    rows = top.orderBy(F.desc("count"), "product_id").limit(10).collect()
    s.parts.append(bar_chart("top_recommendations", "Products most often recommended first",
                             [r["name"] for r in rows], [int(r["count"]) for r in rows], value_label="people"))
    return s


@section("Campaign audience by uplift", (catalog.CAMPAIGN_AUDIENCES, "plan-campaign"))
def campaigns_section(lh: Lakehouse, s: Section) -> Section:
    audience = s.read(lh, catalog.CAMPAIGN_AUDIENCES, ["campaign", "person_id", "uplift", "decile", "in_audience"])
    by_decile = audience.groupBy("decile").agg(F.avg("uplift").alias("uplift"), F.count(F.lit(1)).alias("n"),
                                               F.sum(F.col("in_audience").cast("int")).alias("chosen")) \
        .orderBy("decile").collect()
    chosen = sum(int(r["chosen"] or 0) for r in by_decile)
    s.text(f"{chosen:,} of {sum(int(r['n']) for r in by_decile):,} people are in the audience.")
    s.parts.append(line_chart("uplift_deciles", "Predicted uplift per decile", {
        "mean uplift": [(float(r["decile"]), float(r["uplift"])) for r in by_decile]},
        x_label="decile (1 = moved most)", y_label="uplift", x_ticks={float(r["decile"]): str(r["decile"])
                                                                       for r in by_decile}))
    metrics = _latest_metrics(lh, "campaigns")
    if metrics:
        run, m = metrics
        names = sorted({k[: -len("_qini_coefficient")] for k in m if k.endswith("_qini_coefficient")})
        cols = ("qini_coefficient", "uplift_at_10", "uplift_at_30")
        s.text(f"Held-out past-campaign contacts, MLflow run {run[:12]} (higher Qini: better at finding the "
               "people a campaign moves):")
        s.parts.append(table(["ranking by", *cols], [[n.replace("_", " "), *(f"{m.get(f'{n}_{c}', float('nan')):.4f}"
                                                                              for c in cols)] for n in names],
                             numeric=(1, 2, 3)))
    return s


@section("Insight briefs", (catalog.INSIGHT_BRIEFS, "write-briefs"))
def briefs_section(lh: Lakehouse, s: Section) -> Section:
    briefs = s.read(lh, catalog.INSIGHT_BRIEFS).orderBy("subject_kind", F.desc("weight"), "subject").limit(
        2 * TOP_ROWS).collect()
    for b in briefs:
        s.parts.append(f'<div class="brief"><h3>{escape(b["subject_kind"])}: {escape(b["subject"])}</h3>'
                       f'<p>{escape(b["brief"])}</p></div>')
    return s


SECTIONS: tuple[Callable[[Lakehouse], Section], ...] = (
    leads_section, value_section, needs_section, actions_section, recommendations_section, campaigns_section,
    briefs_section)
