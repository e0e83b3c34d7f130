"""``leadlake report``: the lakehouse's leads, value, needs, actions, recommendations and campaigns in one HTML file."""

from __future__ import annotations

import argparse

from leadlake.report import write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="where to write the HTML file (default: conf report.output, or "
                                      "<lakehouse>/reports/leadlake_report.html)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log the report as an MLflow artifact")


def run(ctx, args: argparse.Namespace) -> int:
    print(write_report(ctx.lakehouse, args.out, log_to_mlflow=not args.no_mlflow))
    return 0
