"""``leadlake mine-needs``: what customers need, from feedback and interactions.

Writes ``silver.text_signals`` (one row per text), ``gold.need_insights`` (one
row per need, with its priority) and ``gold.customer_needs`` (one row per
customer and need category), then prints the top needs by priority. With
``--train``, first fits the need-category head on the labelled examples named
in ``needs.labels`` and reports its held-out accuracy.
"""

from __future__ import annotations

import argparse
import logging

from pyspark.sql import functions as F

from leadlake.lakehouse import Lakehouse
from leadlake.needs.mining import INSIGHTS_TABLE, load_text_heads, mine_needs
from leadlake.needs.training import train_needs_head
from leadlake.text.routing import text_encoders

log = logging.getLogger("leadlake.needs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", action="store_true",
                        help="fit the need-category head on the labelled examples in needs.labels first")
    parser.add_argument("--top", type=int, default=10, help="needs to print (default 10)")


def format_top_needs(lh: Lakehouse, top: int) -> str:
    rows = lh.read(INSIGHTS_TABLE).orderBy(F.desc("priority"), "need_id").limit(top).collect()
    lines = [f"top {len(rows)} customer needs by priority:",
             f"  {'priority':>8}  {'need':<16} {'topic':<40} {'volume':>6} {'trend':<8} {'neg':>5} {'urgent':>6}"]
    for r in rows:
        lines.append(f"  {r.priority:>8.1f}  {r.need_category:<16} {(r.topic_label or '')[:40]:<40} "
                     f"{r.volume:>6} {r.trend:<8} {r.negative_share:>5.0%} {r.urgent_share:>6.0%}")
        if r.example_texts:
            lines.append(f"            e.g. \"{r.example_texts[0][:110]}\"")
    return "\n".join(lines)


def run(ctx, args: argparse.Namespace) -> int:
    lh, encoders = ctx.lakehouse, text_encoders(ctx.conf)
    if args.train:
        for spec in encoders.specs:
            print(train_needs_head(lh, spec)[1])
    sentiment, needs = load_text_heads(lh.models, encoders, ctx.conf)
    report = mine_needs(lh, encoders, sentiment, needs)
    print(report)
    print(format_top_needs(lh, args.top))
    return 0
