"""``next-actions`` -> ``gold.next_best_actions``: what to do next with each hot lead and each customer who needs it.

Who gets an action (``next_actions.leads`` / ``.customers``): open, non-junk
leads of the listed tiers; customers in the listed value segments or churn
risks, or with an open negative need. Nobody else: a junk lead gets none.

What the action is: the first rule in ``next_actions.lead_rules`` /
``.customer_rules`` whose conditions hold over what the tables say about the
person (tier, score, main discovered intent, pricing-page visits; value
segment, churn risk, CLV, top need, whether it is negative, their top
recommended product). Every table is optional: a lead with no messages
still gets an action from its tier.

``why`` is one plain sentence from the lead's top reasons or the customer's
value and needs; ``draft`` is a short personalised opener from the
generator (template by default, any chat completions endpoint by conf),
grounded in the same facts. Rows are upserted on (person_kind, person_id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.errors import ConfError
from leadlake.frames import reason_label
from leadlake.generate.runner import generate_texts
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage
from leadlake.text.sources import message_intents

log = logging.getLogger("leadlake.generate")

TABLE = catalog.NEXT_BEST_ACTIONS
INSTRUCTION = ("Write a short, personalised message for a {channel} from our {owner} to {first_name} at {company}: "
               "the goal is to {action}. Two sentences to open, then two or three talking points. Say only what "
               "the facts say.")


@dataclass(frozen=True)
class ActionReport:
    leads: int
    customers: int
    by_action: dict[str, int]
    generation: str

    def __str__(self) -> str:
        actions = ", ".join(f"{a} {n:,}" for a, n in sorted(self.by_action.items(), key=lambda t: -t[1]))
        return (f"next best actions for {self.leads:,} leads and {self.customers:,} customers: {actions}\n"
                f"  drafts: {self.generation}")


def rule_column(rules: list[dict], columns: list[str], key: str) -> Column:
    """The first rule whose conditions hold, as ``key`` of that rule (null when none holds)."""
    out = None
    for rule in rules:
        if not isinstance(rule, dict) or key not in rule:
            raise ConfError(f"next_actions rules need when, action, channel and owner: {rule!r}")
        cond = F.lit(True)
        for name, value in (rule.get("when") or {}).items():
            col, op = (name[:-4], "min") if name.endswith("_min") else (name[:-4], "max") \
                if name.endswith("_max") else (name, "eq")
            if col not in columns:
                raise ConfError(f"next_actions rule condition {name!r} names no known column "
                                f"(known: {', '.join(sorted(columns))})")
            c = F.col(col)
            if op == "min":
                test = c >= F.lit(value)
            elif op == "max":
                test = c <= F.lit(value)
            elif isinstance(value, list):
                test = c.isin(value)
            else:
                test = c == F.lit(value)
            cond = cond & F.coalesce(test, F.lit(False))
        out = F.when(cond, F.lit(str(rule[key]))) if out is None else out.when(cond, F.lit(str(rule[key])))
    return out if out is not None else F.lit(None).cast("string")


def _names(lh: Lakehouse) -> DataFrame | None:
    """(lead_id, first_name, company) from the leads table, the people the drafts are addressed to."""
    table = lh.conf.get("leads.table")
    if not lh.exists(table):
        return None
    cols = lh.read(table).columns
    return lh.read(table).select(
        F.col("lead_id").cast("string").alias("lead_id"),
        (F.col("first_name") if "first_name" in cols else F.lit(None)).cast("string").alias("first_name"),
        (F.col("company") if "company" in cols else F.lit(None)).cast("string").alias("company"))


def lead_candidates(lh: Lakehouse) -> DataFrame | None:
    """Open, non-junk leads of the chosen tiers, with what the rules and the drafts use."""
    if not lh.exists(catalog.LEAD_SCORES):
        return None
    tiers = list(lh.conf.get("next_actions.leads.tiers"))
    leads = lh.read(catalog.LEAD_SCORES, columns=["lead_id", "tier", "score", "top_reasons", "is_junk"]).where(
        F.col("tier").isin(tiers) & ~F.coalesce(F.col("is_junk"), F.lit(False)))
    outcomes = lh.conf.get("reco.people")
    if lh.exists(outcomes["outcomes"]):
        closed = lh.read(outcomes["outcomes"], columns=[outcomes["lead_id"], outcomes["outcome"]]).where(
            F.col(outcomes["outcome"]).isin(list(outcomes["closed"]))).select(F.col(outcomes["lead_id"]).alias("lead_id"))
        leads = leads.join(closed, "lead_id", "left_anti")
    intents = message_intents(lh)
    if intents is not None:
        leads = leads.join(intents.select("lead_id", "main_intent"), "lead_id", "left")
    else:
        leads = leads.withColumn("main_intent", F.lit(None).cast("string"))
    web = lh.conf.get("leads.web_events") or {}
    if web.get("table") and lh.exists(web["table"]):
        visits = lh.read(web["table"]).where(F.col(web.get("page", "page")) == "pricing").groupBy(
            F.col(web.get("lead_id", "lead_id")).alias("lead_id")).agg(F.count(F.lit(1)).alias("pricing_visits"))
        leads = leads.join(visits, "lead_id", "left")
    else:
        leads = leads.withColumn("pricing_visits", F.lit(None).cast("long"))
    reasons = F.transform(F.coalesce("top_reasons", F.array().cast("array<string>")),
                          reason_label)
    why = F.concat(F.initcap("tier"), F.lit("-tier lead, score "), F.col("score").cast("string"),
                   F.when(F.size(reasons) > 0, F.concat(F.lit(": "), F.array_join(reasons, ", "))).otherwise(F.lit("")),
                   F.lit("."))
    return leads.select(F.lit("lead").alias("person_kind"), F.col("lead_id").alias("person_id"), "lead_id",
                        F.lit(None).cast("string").alias("customer_id"), "tier", "score", "main_intent",
                        F.coalesce("pricing_visits", F.lit(0)).alias("pricing_visits"), why.alias("why"))


def customer_candidates(lh: Lakehouse) -> DataFrame | None:
    """Customers at risk, of high value, or with an open negative need, with what the rules and drafts use."""
    if not lh.exists(catalog.CUSTOMER_CLV):
        return None
    sel = lh.conf.get("next_actions.customers")
    clv = lh.read(catalog.CUSTOMER_CLV, columns=["customer_id", "value_segment", "churn_risk", "clv_12m"])
    if lh.exists(catalog.CUSTOMER_NEEDS):
        needs = lh.read(catalog.CUSTOMER_NEEDS, columns=["customer_id", "need_category", "negative_mentions",
                                                         "need_priority", "latest_topic"])
        worst = Window.partitionBy("customer_id").orderBy(F.desc("negative_mentions"), F.desc_nulls_last(
            "need_priority"), "need_category")
        top = needs.withColumn("_r", F.row_number().over(worst)).where("_r = 1").select(
            "customer_id", F.col("need_category").alias("top_need"), F.col("latest_topic").alias("need_topic"),
            (F.col("negative_mentions") > 0).alias("negative_need"))
        clv = clv.join(top, "customer_id", "left")
    else:
        clv = clv.select("*", *[F.lit(None).cast(t).alias(c) for c, t in
                                (("top_need", "string"), ("need_topic", "string"), ("negative_need", "boolean"))])
    if lh.exists(catalog.RECOMMENDATIONS):
        recs = lh.read(catalog.RECOMMENDATIONS, columns=["user_kind", "user_id", "product_id", "rank"]).where(
            "user_kind = 'customer' and rank = 1").select(F.col("user_id").alias("customer_id"), "product_id")
        clv = clv.join(recs, "customer_id", "left")
    else:
        clv = clv.withColumn("product_id", F.lit(None).cast("string"))
    wanted = (F.col("value_segment").isin(list(sel["segments"])) | F.col("churn_risk").isin(list(sel["churn_risk"]))
              | (F.coalesce(F.col("negative_need"), F.lit(False)) & F.lit(bool(sel["negative_need"]))))
    link = lh.conf.get("clv.customers")
    customers = clv.where(wanted)
    if lh.exists(link["table"]):
        customers = customers.join(lh.read(link["table"]).select(
            F.col(link["id"]).alias("customer_id"), F.col(link["lead_id"]).cast("string").alias("lead_id")),
            "customer_id", "left")
    else:
        customers = customers.withColumn("lead_id", F.lit(None).cast("string"))
    need = F.when(F.col("negative_need"), F.concat(F.lit("; raised a complaint about "),
                                                    F.regexp_replace("top_need", "_", " "))).otherwise(F.lit(""))
    why = F.concat(F.initcap(F.regexp_replace("value_segment", "_", " ")), F.lit(" customer, churn risk "),
                   F.col("churn_risk"), F.lit(", expected 12-month value "),
                   F.format_number(F.col("clv_12m"), 0), need, F.lit("."))
    return customers.select(F.lit("customer").alias("person_kind"), F.col("customer_id").alias("person_id"),
                            "lead_id", "customer_id", "value_segment", "churn_risk", "clv_12m", "top_need",
                            "need_topic", F.coalesce("negative_need", F.lit(False)).alias("negative_need"),
                            "product_id", F.col("product_id").isNotNull().alias("has_product"), why.alias("why"))


def _with_actions(people: DataFrame, rules: list[dict]) -> DataFrame:
    cols = people.columns
    return people.select("*", rule_column(rules, cols, "action").alias("action"),
                         rule_column(rules, cols, "channel").alias("channel"),
                         rule_column(rules, cols, "owner").alias("owner_role"))


def _facts(people: DataFrame, products: DataFrame | None) -> DataFrame:
    """Each person's facts as JSON: only what the tables say, the only things a draft may mention."""
    if products is not None and "product_id" in people.columns:
        people = people.join(products, "product_id", "left")
    wanted = ("first_name", "company", "action", "channel", "owner_role", "why", "tier", "score", "value_segment",
              "churn_risk", "top_need", "need_topic", "product_name")
    fields = [c for c in wanted if c in people.columns]
    facts = F.to_json(F.struct(*[F.col(c) for c in fields],
                               *([F.regexp_replace("top_need", "_", " ").alias("top_need_label")]
                                 if "top_need" in people.columns else [])))
    return people.withColumn("facts", facts)


def next_actions(lh: Lakehouse) -> ActionReport:
    conf = lh.conf
    names = _names(lh)
    products = None
    if lh.exists(conf.get("reco.products.table")):
        products = lh.read(conf.get("reco.products.table")).select(
            F.col(conf.get("reco.products.id")).cast("string").alias("product_id"),
            F.col("name").cast("string").alias("product_name"))
    parts = []
    leads = lead_candidates(lh)
    if leads is not None:
        parts.append(_with_actions(leads, list(conf.get("next_actions.lead_rules"))))
    customers = customer_candidates(lh)
    if customers is not None:
        parts.append(_with_actions(customers, list(conf.get("next_actions.customer_rules"))))
    if not parts:
        raise ConfError(f"next-actions needs {catalog.LEAD_SCORES} or {catalog.CUSTOMER_CLV}: run score-leads or "
                        "score-clv first")
    people = None
    for part in parts:
        people = part if people is None else people.unionByName(part, allowMissingColumns=True)
    people = people.where(F.col("action").isNotNull())
    if names is not None:
        people = people.join(names, "lead_id", "left")
    people = _facts(people, products).persist()
    try:
        templates = {str(k): str(v) for k, v in (conf.get("next_actions.templates") or {}).items()}
        template = F.create_map(*[F.lit(x) for kv in templates.items() for x in kv])
        instruction = F.format_string(INSTRUCTION.replace("{channel}", "%s").replace("{owner}", "%s")
                                      .replace("{first_name}", "%s").replace("{company}", "%s")
                                      .replace("{action}", "%s"), "channel", "owner_role",
                                      F.coalesce("first_name", F.lit("the customer")),
                                      F.coalesce("company", F.lit("their company")), "action")
        requests = people.select(F.concat_ws(":", "person_kind", "person_id").alias("key"),
                                 instruction.alias("instruction"), "facts",
                                 F.coalesce(template[F.col("action")], F.lit("{why}")).alias("template"))
        names_list = [r["product_name"] for r in products.collect()] if products is not None else []
        drafts, report = generate_texts(lh, requests, names_list)
        rows = people.join(drafts.select(F.col("key"), F.col("text").alias("draft"), "generator", "grounded",
                                         F.col("reason").alias("draft_note")),
                           F.concat_ws(":", people.person_kind, people.person_id) == F.col("key"), "left").select(
            "person_kind", "person_id", "lead_id", "customer_id", "action", "channel", "owner_role", "why",
            "draft", "generator", "grounded", "draft_note",
            (F.col("product_id") if "product_id" in people.columns else F.lit(None).cast("string")).alias(
                "product_id"), F.current_timestamp().alias("created_at"))
        with stage(log, f"upsert {TABLE}") as st:
            lh.upsert(rows, TABLE, ["person_kind", "person_id"])
            st.rows = lh.row_count(TABLE)
        written = lh.read(TABLE)
        by_action = {r["action"]: int(r["count"]) for r in written.groupBy("action").count().collect()}
        kinds = {r["person_kind"]: int(r["count"]) for r in written.groupBy("person_kind").count().collect()}
        return ActionReport(kinds.get("lead", 0), kinds.get("customer", 0), by_action, str(report))
    finally:
        people.unpersist()

