"""``leadlake write-briefs``: a weekly brief per need category and lead segment -> gold.insight_briefs."""

from __future__ import annotations

import argparse

from leadlake.generate.briefs import write_briefs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (briefs, generate)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(write_briefs(ctx.lakehouse))
    return 0
