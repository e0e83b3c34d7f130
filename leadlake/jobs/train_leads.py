"""``leadlake train-leads``: fit the lead conversion model, log it to MLflow, promote it if it wins."""

from __future__ import annotations

import argparse

from leadlake.leads.training import train_leads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (leads.model)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(train_leads(ctx.lakehouse))
    return 0
