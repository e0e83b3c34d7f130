"""``leadlake feedback``: closed deals re-tune the tiers, measure drift and flag a retrain."""

from __future__ import annotations

import argparse

from leadlake.leads.feedback import champion_histogram, run_feedback


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (leads.feedback)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(run_feedback(ctx.lakehouse, champion_histogram(ctx.conf)))
    return 0
