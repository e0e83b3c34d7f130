"""``leadlake plan-campaign``: the next campaign's audience by uplift -> gold.campaign_audiences."""

from __future__ import annotations

import argparse

from leadlake.campaigns.plan import plan_campaign


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (campaigns)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(plan_campaign(ctx.lakehouse))
    return 0
