"""``leadlake demo``: the pipeline on the demo CRM, then what the demo lakehouse holds.

A thin alias of ``leadlake run --demo`` (this is what ``make run`` runs):
the same stages from :mod:`leadlake.pipeline`, then checks only a demo can
make, against the generator's hidden truth, and the top needs, leads and
value segments.
"""

from __future__ import annotations

import argparse
import logging

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.clv.scoring import format_segments, segment_summary
from leadlake.demo.crm import MESSAGE_CLASS
from leadlake.generate.answer_questions import escalation_agreement
from leadlake.jobs import run as run_job
from leadlake.jobs.mine_needs import format_top_needs
from leadlake.jobs.score_leads import format_top_leads
from leadlake.jobs.tables import format_summaries, summarize_lakehouse
from leadlake.leads.discovery import evaluate_discovery
from leadlake.needs.categories import load_needs
from leadlake.pipeline import STAGES
from leadlake.report import write_report
from leadlake.text.encoders import encoder_spec

log = logging.getLogger("leadlake.demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", help="the day customer value and churn are computed for (YYYY-MM-DD)")
    run_job.add_demo_arguments(parser, flag=False)


def run(ctx, args: argparse.Namespace) -> int:
    lh = run_job.execute(ctx, list(STAGES), args, demo=True)
    print(needs_check(lh, load_needs(lh.models, encoder_spec(ctx.conf), ctx.conf).method))
    print(discovery_check(lh))
    if args.zh_share > 0:
        print(language_check(lh))
    print(campaign_check(lh))
    print(support_check(lh))
    print(format_summaries(summarize_lakehouse(lh.root, lh.storage)))
    print(format_top_needs(lh, 10))
    print(format_top_leads(lh, 10))
    print(format_segments(segment_summary(lh)))
    print(write_report(lh))
    return 0


def message_truth(lh) -> DataFrame:
    """(message_id, true_class, lang): the demo's hidden kind of each message, in lead discovery's classes."""
    classes = F.create_map(*[F.lit(x) for kv in MESSAGE_CLASS.items() for x in kv])
    return lh.read("eval.message_truth").select(F.col("interaction_id").alias("message_id"),
                                                classes[F.col("kind")].alias("true_class"), "lang")


def accuracy_by_language(lh) -> dict[str, dict[str, float]]:
    """Per language the demo wrote in: need category, sentiment, discovery and lead-score quality against its
    hidden truth (feedback categories and tones, message kinds, each lead's true conversion probability)."""
    truth = lh.read("eval.feedback_truth").select("feedback_id", F.col("need_category").alias("_need"),
                                                  F.col("sentiment").alias("_tone"), "lang")
    mined = lh.read(catalog.TEXT_SIGNALS).where(F.col("source") == "bronze.feedback").select(
        F.col("source_id").alias("feedback_id"), "need_category", "sentiment_label", "sentiment_score")
    polar = F.col("_tone") != "neutral"
    feedback = {r["lang"]: r for r in mined.join(truth, "feedback_id").groupBy("lang").agg(
        F.count(F.lit(1)).alias("n"),
        F.avg((F.col("need_category") == F.col("_need")).cast("double")).alias("need_accuracy"),
        F.avg((F.col("sentiment_label") == F.col("_tone")).cast("double")).alias("sentiment_accuracy"),
        F.avg(F.when(polar, ((F.col("sentiment_score") > 0) == (F.col("_tone") == "positive")).cast("double")))
        .alias("positive_vs_negative")).collect()}
    scored = lh.exists(catalog.LEAD_SCORES)
    leads = lh.read(catalog.LEAD_SCORES, columns=["lead_id", "p_convert"]).join(
        lh.read("eval.lead_truth", columns=["lead_id", "p_convert_true", "lang"]), "lead_id") if scored else None
    out: dict[str, dict[str, float]] = {}
    for lang, row in sorted(feedback.items()):
        found = evaluate_discovery(lh.read(catalog.DISCOVERED_LEADS),
                                   message_truth(lh).where(F.col("lang") == lang).drop("lang"))
        out[lang] = {"feedback": float(row["n"]), "need_accuracy": float(row["need_accuracy"]),
                     "sentiment_accuracy": float(row["sentiment_accuracy"]),
                     "positive_vs_negative": float(row["positive_vs_negative"] or 0.0),
                     "discovery_accuracy": found["accuracy"], "discovery_roc_auc": found["lead_roc_auc"]}
        if leads is not None:
            mine = leads.where(F.col("lang") == lang).select("p_convert", "p_convert_true").toPandas()
            out[lang]["leads"] = float(len(mine))
            out[lang]["lead_score_spearman"] = float(mine["p_convert"].corr(mine["p_convert_true"], method="spearman"))
    return out


def language_check(lh) -> str:
    lines = ["per language, against the demo's hidden truth:"]
    for lang, m in accuracy_by_language(lh).items():
        lines.append(
            f"  {lang}: need category {m['need_accuracy']:.1%}, sentiment {m['sentiment_accuracy']:.1%} "
            f"(positive vs negative {m['positive_vs_negative']:.1%}) on {int(m['feedback']):,} feedback items; "
            f"discovery class accuracy {m['discovery_accuracy']:.1%}, ROC-AUC {m['discovery_roc_auc']:.3f}"
            + (f"; lead scores vs true propensity Spearman {m['lead_score_spearman']:.3f} ({int(m['leads']):,} leads)"
               if "leads" in m else ""))
    return "\n".join(lines)


def discovery_check(lh) -> str:
    """The demo knows what each message is: say how well discovery found the sales leads."""
    m = evaluate_discovery(lh.read(catalog.DISCOVERED_LEADS), message_truth(lh))
    return (f"lead discovery against the demo's hidden message kinds ({int(m['n']):,} messages): class accuracy "
            f"{m['accuracy']:.1%}, sales leads found with precision {m['lead_precision']:.1%}, recall "
            f"{m['lead_recall']:.1%}, ROC-AUC {m['lead_roc_auc']:.3f}")


def needs_check(lh, method: str) -> str:
    """The demo knows each feedback item's true need category: say how often mining got it right."""
    truth = lh.read("eval.feedback_truth").withColumnRenamed("need_category", "truth")
    mined = lh.read(catalog.TEXT_SIGNALS, columns=["source", "source_id", "need_category"]).where(
        F.col("source") == "bronze.feedback")
    row = mined.join(truth, mined.source_id == truth.feedback_id).agg(
        F.count(F.lit(1)).alias("n"), F.avg((F.col("need_category") == F.col("truth")).cast("double")).alias("acc"),
    ).first()
    return f"need category ({method}) matches the demo's hidden category on {row.acc:.1%} of {row.n:,} feedback items"


def campaign_check(lh) -> str:
    """The demo knows whom its last campaign moved: say where the audience ranks each kind of person, by uplift and
    by the response model (p_treated) a marketer would use instead."""
    latest = lh.read("bronze.campaign_contacts").groupBy("lead_id").agg(F.max("contact_id").alias("contact_id"))
    truth = lh.read("eval.campaign_truth").join(latest, "contact_id")
    by_response = F.ntile(10).over(Window.orderBy(F.desc("p_treated"), "person_id"))
    ranked = lh.read(catalog.CAMPAIGN_AUDIENCES).withColumn("_response", by_response).join(truth, "lead_id").groupBy(
        "group").agg(F.count(F.lit(1)).alias("n"), F.avg("decile").alias("decile"), F.avg("uplift").alias("uplift"),
                     F.avg("_response").alias("response"), F.first("uplift_true").alias("true"))
    parts = [f"{r.group} {r.n:,} (true effect {r.true:+.2f}, mean decile {r.decile:.1f}, by response model "
             f"{r.response:.1f}, predicted {r.uplift:+.3f})" for r in ranked.orderBy("decile").collect()]
    return "campaign audience against the demo's hidden effect (decile 1 = moved most): " + "; ".join(parts)


def support_check(lh) -> str:
    """The demo knows which article answers each support question and which need a person: say how often the
    replies cited it first or in the top 3, and how often escalation agreed."""
    replies = lh.read(catalog.SERVICE_REPLIES).where(F.col("source") == "bronze.support_questions")
    truth = lh.read("eval.support_truth")
    first = F.coalesce(F.col("article_ids")[0] == F.col("_truth"), F.lit(False))
    top3 = F.array_contains(F.slice("article_ids", 1, 3), F.col("_truth"))
    hits = replies.join(truth.where(F.col("article_id").isNotNull()).select(
        "question_id", F.col("article_id").alias("_truth")), "question_id").agg(
        F.count(F.lit(1)).alias("n"), F.avg(first.cast("double")).alias("h1"), F.avg(top3.cast("double")).alias("h3")
    ).first()
    m = escalation_agreement(replies, truth)
    return (f"service replies against the demo's answering articles ({hits.n:,} answerable questions): hit@1 "
            f"{hits.h1:.1%}, hit@3 {hits.h3:.1%}; escalation agrees on {m['agreement']:.1%} of {int(m['questions']):,} "
            f"(precision {m['precision']:.2f}, recall {m['recall']:.2f})")
