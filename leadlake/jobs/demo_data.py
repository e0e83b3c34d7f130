"""``leadlake demo-data``: generate the demo CRM into the lakehouse's bronze tables."""

from __future__ import annotations

import argparse

from leadlake.demo import DemoSpec, generate_demo
from leadlake.errors import ConfError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=3000, help="number of leads (default 3000); 1000000 works")
    parser.add_argument("--seed", type=int, default=7, help="random seed; same seed, same tables (default 7)")
    add_language_argument(parser)


def add_language_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zh-share", type=float, default=0.0,
                        help="share of leads and customers who write Chinese, 0 to 1 (default 0: all English)")


def spec_from_args(args: argparse.Namespace) -> DemoSpec:
    if args.leads < 1:
        raise ConfError(f"--leads must be at least 1, not {args.leads}")
    share = getattr(args, "zh_share", 0.0)
    if not 0.0 <= share <= 1.0:
        raise ConfError(f"--zh-share must be between 0 and 1, not {share}")
    return DemoSpec(leads=args.leads, seed=args.seed, zh_share=share)


def run(ctx, args: argparse.Namespace) -> int:
    counts = generate_demo(ctx.lakehouse, spec_from_args(args))
    width = max(len(t) for t in counts)
    for table, rows in counts.items():
        print(f"{table:<{width}}  {rows:>12,} rows")
    return 0
