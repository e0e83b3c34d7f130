"""``leadlake train-clv``: fit the CLV and churn models beside the BTYD baseline, log to MLflow, promote if better."""

from __future__ import annotations

import argparse

from leadlake.clv.training import train_clv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (clv)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(train_clv(ctx.lakehouse))
    return 0
