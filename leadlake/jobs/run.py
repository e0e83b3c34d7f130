"""``leadlake run``: the whole pipeline, or part of it, with one summary table at the end.

The stages and their order are declared in :mod:`leadlake.pipeline`; this
job only parses the selection and prints.
"""

from __future__ import annotations

import argparse

from leadlake.jobs.demo_data import add_language_argument, spec_from_args
from leadlake.lakehouse import Lakehouse
from leadlake.pipeline import STAGE_NAMES, Stage, StageFailed, format_summary, run_pipeline, select, with_as_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="+", default=[], metavar="STAGE", choices=STAGE_NAMES,
                        help=f"run only these stages (in pipeline order): {', '.join(STAGE_NAMES)}")
    parser.add_argument("--from", dest="start", metavar="STAGE", choices=STAGE_NAMES,
                        help="start at this stage (resume a failed run)")
    parser.add_argument("--until", metavar="STAGE", choices=STAGE_NAMES, help="stop after this stage")
    parser.add_argument("--as-of", help="the day customer value and churn are computed for (YYYY-MM-DD)")
    parser.add_argument("--force", action="store_true",
                        help="run stages that are not due (train although a model exists)")
    add_demo_arguments(parser, flag=True)


def add_demo_arguments(parser: argparse.ArgumentParser, *, flag: bool) -> None:
    if flag:
        parser.add_argument("--demo", action="store_true",
                            help="a demo run: the demo-data stage generates the demo CRM first")
    parser.add_argument("--leads", type=int, default=3000, help="demo leads (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="demo random seed (default 7)")
    add_language_argument(parser)


def preflight(conf, args: argparse.Namespace) -> None:
    select(args.only, args.start, args.until)
    with_as_of(conf, args.as_of)


def execute(ctx, stages: list[Stage], args: argparse.Namespace, *, demo: bool, force: bool = False) -> Lakehouse:
    """Run ``stages`` and print the summary, also when a stage fails; returns the lakehouse they ran on."""
    lh = Lakehouse(ctx.spark, with_as_of(ctx.conf, args.as_of))
    try:
        results = run_pipeline(lh, stages, demo=spec_from_args(args) if demo else None, force=force)
    except StageFailed as exc:
        print(format_summary(exc.results))
        raise
    print(format_summary(results))
    return lh


def run(ctx, args: argparse.Namespace) -> int:
    execute(ctx, select(args.only, args.start, args.until), args, demo=args.demo, force=args.force)
    return 0
