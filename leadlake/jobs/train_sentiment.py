"""``leadlake train-sentiment``: fit the sentiment head on real labelled text, measure it on held-out text.

The training itself is :func:`leadlake.needs.training.train_sentiment_head`.
"""

from __future__ import annotations

import argparse

from leadlake.needs.training import SentimentTraining, train_sentiment_head
from leadlake.text.encoders import encoder_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows-per-domain", type=int,
                        help="labelled public texts per domain, train + held out (default: pipeline.train_sentiment)")
    parser.add_argument("--holdout", type=float, help="share of corpus texts held out (default: conf)")
    parser.add_argument("--feedback-table",
                        help="rated feedback to train on as well (text, rating 1-5); skipped if absent (default: conf)")
    parser.add_argument("--multilingual", action="store_true",
                        help="train text.multilingual_model's head (English and Chinese corpora), not text.model's")


def run(ctx, args: argparse.Namespace) -> int:
    settings = SentimentTraining.from_conf(ctx.conf, rows_per_domain=args.rows_per_domain, holdout=args.holdout,
                                           feedback_table=args.feedback_table)
    _, report = train_sentiment_head(ctx.lakehouse, encoder_spec(ctx.conf, multilingual=args.multilingual), settings)
    print(report)
    return 0
