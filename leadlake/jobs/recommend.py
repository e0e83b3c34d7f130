"""``leadlake recommend``: top-k products for every customer and open lead -> gold.recommendations."""

from __future__ import annotations

import argparse

from leadlake.reco.recommend import recommend_products
from leadlake.text.encoders import encoder_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (reco)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(recommend_products(ctx.lakehouse, encoder_spec(ctx.conf)))
    return 0
