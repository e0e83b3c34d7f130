"""``leadlake next-actions``: next best action, why and a grounded draft -> gold.next_best_actions."""

from __future__ import annotations

import argparse

from leadlake.generate.next_actions import next_actions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (next_actions, generate)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(next_actions(ctx.lakehouse))
    return 0
