"""``leadlake score-leads``: the champion model over leads -> gold.lead_scores; prints the top leads."""

from __future__ import annotations

import argparse

from pyspark.sql import functions as F

from leadlake.lakehouse import Lakehouse
from leadlake.leads.scoring import SCORES_TABLE, score_leads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--new-only", action="store_true", help="score only leads not in gold.lead_scores yet")
    parser.add_argument("--top", type=int, default=10, help="leads to print (default 10)")


def format_top_leads(lh: Lakehouse, top: int) -> str:
    rows = lh.read(SCORES_TABLE).where(~F.col("is_junk")).orderBy("rank").limit(top).collect()
    lines = [f"top {len(rows)} leads to call:", f"  {'rank':>5} {'lead':<10} {'score':>5} {'tier':<5} reasons"]
    for r in rows:
        lines.append(f"  {r['rank']:>5} {r.lead_id:<10} {r.score:>5} {r.tier:<5} {'; '.join(r.top_reasons or [])}")
    return "\n".join(lines)


def run(ctx, args: argparse.Namespace) -> int:
    print(score_leads(ctx.lakehouse, only_new=args.new_only))
    print(format_top_leads(ctx.lakehouse, args.top))
    return 0
