"""``leadlake train-sentiment``: fit the sentiment head on real labelled text, measure it on held-out text.

The training itself is :func:`leadlake.needs.training.train_sentiment_head`.
"""

from __future__ import annotations

import argparse

from leadlake.needs.training import train_sentiment_head
from leadlake.text.encoders import encoder_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus-rows", type=int, default=12000,
                        help="labelled corpus texts to use, train + held out (default 12000)")
    parser.add_argument("--holdout", type=float, default=0.2, help="share of corpus texts held out (default 0.2)")
    parser.add_argument("--feedback-table", default="bronze.feedback",
                        help="rated feedback to train on as well (text, rating 1-5); skipped if absent")


def run(ctx, args: argparse.Namespace) -> int:
    _, report = train_sentiment_head(ctx.lakehouse, encoder_spec(ctx.conf), corpus_rows=args.corpus_rows,
                                     holdout=args.holdout, feedback_table=args.feedback_table)
    print(report)
    return 0
