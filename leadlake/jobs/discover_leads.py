"""``leadlake discover-leads``: flag the inbound messages that are sales leads -> gold.discovered_leads."""

from __future__ import annotations

import argparse

from pyspark.sql import functions as F

from leadlake.lakehouse import Lakehouse
from leadlake.leads.discovery import DISCOVERED_TABLE, discover_leads, load_discovery_heads, train_discovery
from leadlake.text.routing import text_encoders


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", action="store_true",
                        help="fit the discovery head on the labelled messages in discovery.labels first")
    parser.add_argument("--top", type=int, default=5, help="most likely leads to print (default 5)")


def format_top_discovered(lh: Lakehouse, top: int) -> str:
    rows = lh.read(DISCOVERED_TABLE).where(F.col("is_lead")).orderBy(F.desc("p_lead"), "message_id") \
        .limit(top).collect()
    lines = [f"top {len(rows)} inbound messages that read as sales leads:"]
    lines += [f"  {r.p_lead:.2f} {r.message_id} ({r.lead_id or 'unknown sender'}): {(r.excerpt or '')[:100]}"
              for r in rows]
    return "\n".join(lines)


def run(ctx, args: argparse.Namespace) -> int:
    lh, encoders = ctx.lakehouse, text_encoders(ctx.conf)
    if args.train:
        for spec in encoders.specs:
            _, metrics = train_discovery(lh, spec)
            print(f"lead-discovery head for {spec.model_id}: accuracy {metrics['accuracy']:.3f}, macro-F1 "
                  f"{metrics['macro_f1']:.3f} on {int(metrics['n']):,} held-out labelled messages")
    print(discover_leads(lh, encoders, load_discovery_heads(ctx.conf, encoders)))
    print(format_top_discovered(lh, args.top))
    return 0
