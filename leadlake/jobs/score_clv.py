"""``leadlake score-clv``: the champion CLV model over every customer -> gold.customer_clv; prints the segments."""

from __future__ import annotations

import argparse

from leadlake.clv.scoring import format_segments, score_clv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (clv)."""


def run(ctx, args: argparse.Namespace) -> int:
    report = score_clv(ctx.lakehouse)
    print(report)
    print(format_segments(report.segments))
    return 0
