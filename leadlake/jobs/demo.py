"""``leadlake demo``: build the embedded demo lakehouse end to end and show what it holds.

This is what ``make run`` runs. Each capability of leadlake adds its stage
here, so the demo always exercises the whole suite on one lakehouse.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake import tracking
from leadlake.clv.scoring import format_segments, score_clv
from leadlake.clv.training import train_clv
from leadlake.demo import generate_demo
from leadlake.demo.crm import MESSAGE_CLASS
from leadlake.errors import EnvironmentProblem
from leadlake.jobs import train_sentiment
from leadlake.jobs.demo_data import add_arguments as add_data_arguments
from leadlake.jobs.demo_data import spec_from_args
from leadlake.jobs.mine_needs import format_top_needs
from leadlake.jobs.score_leads import format_top_leads
from leadlake.jobs.tables import format_summaries, summarize_lakehouse
from leadlake.leads.discovery import DISCOVERED_TABLE, discover_leads, evaluate_discovery, load_discovery
from leadlake.leads.scoring import score_leads
from leadlake.leads.training import train_leads
from leadlake.needs import models_dir
from leadlake.needs.categories import load_needs
from leadlake.needs.mining import SIGNALS_TABLE, mine_needs
from leadlake.needs.sentiment import head_dir, load_sentiment
from leadlake.text.encoders import encoder_spec
from leadlake.text.store import DEFAULT_SOURCES, update_text_embeddings

log = logging.getLogger("leadlake.demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)


def run(ctx, args: argparse.Namespace) -> int:
    lh, spec = ctx.lakehouse, encoder_spec(ctx.conf)
    generate_demo(lh, spec_from_args(args))
    report = update_text_embeddings(lh, spec, DEFAULT_SOURCES)
    log.info("text embeddings: %s", report)
    if not (head_dir(models_dir(ctx.conf), spec) / "metadata").exists():
        try:
            train_sentiment.run(ctx, argparse.Namespace(corpus_rows=6000, holdout=0.2,
                                                        feedback_table="bronze.feedback"))
        except EnvironmentProblem as exc:
            log.warning("no sentiment head trained (%s); sentiment is zero-shot", exc)
    needs = load_needs(models_dir(ctx.conf), spec, ctx.conf)
    print(mine_needs(lh, ctx.conf, spec, load_sentiment(models_dir(ctx.conf), spec), needs))
    print(needs_check(lh, needs.method))
    print(discover_leads(lh, ctx.conf, spec, load_discovery(ctx.conf, spec)))
    print(discovery_check(lh))
    tracking.start(ctx.conf, "leads")
    if tracking.champion_version(str(ctx.conf.get("leads.mlflow.registered_model"))) is None:
        print(train_leads(lh, ctx.conf))
    print(score_leads(lh, ctx.conf))
    tracking.start(ctx.conf, "clv")
    if tracking.champion_version(str(ctx.conf.get("clv.mlflow.registered_model"))) is None:
        print(train_clv(lh, ctx.conf))
    clv = score_clv(lh, ctx.conf)
    print(clv)
    print(format_summaries(summarize_lakehouse(str(Path(ctx.conf.lakehouse).resolve()))))
    print(format_top_needs(lh, 10))
    print(format_top_leads(lh, 10))
    print(format_segments(clv.segments))
    return 0


def message_truth(lh) -> DataFrame:
    """(message_id, true_class): the demo's hidden kind of each message, in lead discovery's classes."""
    classes = F.create_map(*[F.lit(x) for kv in MESSAGE_CLASS.items() for x in kv])
    return lh.read("eval.message_truth").select(F.col("interaction_id").alias("message_id"),
                                                classes[F.col("kind")].alias("true_class"))


def discovery_check(lh) -> str:
    """The demo knows what each message is: say how well discovery found the sales leads."""
    m = evaluate_discovery(lh.read(DISCOVERED_TABLE), message_truth(lh))
    return (f"lead discovery against the demo's hidden message kinds ({int(m['n']):,} messages): class accuracy "
            f"{m['accuracy']:.1%}, sales leads found with precision {m['lead_precision']:.1%}, recall "
            f"{m['lead_recall']:.1%}, ROC-AUC {m['lead_roc_auc']:.3f}")


def needs_check(lh, method: str) -> str:
    """The demo knows each feedback item's true need category: say how often mining got it right."""
    truth = lh.read("eval.feedback_truth").withColumnRenamed("need_category", "truth")
    mined = lh.read(SIGNALS_TABLE, columns=["source", "source_id", "need_category"]).where(
        F.col("source") == "bronze.feedback")
    row = mined.join(truth, mined.source_id == truth.feedback_id).agg(
        F.count(F.lit(1)).alias("n"), F.avg((F.col("need_category") == F.col("truth")).cast("double")).alias("acc"),
    ).first()
    return f"need category ({method}) matches the demo's hidden category on {row.acc:.1%} of {row.n:,} feedback items"
