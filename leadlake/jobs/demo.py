"""``leadlake demo``: build the embedded demo lakehouse end to end and show what it holds.

This is what ``make run`` runs. Each capability of leadlake adds its stage
here, so the demo always exercises the whole suite on one lakehouse.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from leadlake.demo import generate_demo
from leadlake.jobs.demo_data import add_arguments as add_data_arguments
from leadlake.jobs.demo_data import spec_from_args
from leadlake.jobs.tables import format_summaries, summarize_lakehouse
from leadlake.text.encoders import encoder_spec
from leadlake.text.store import DEFAULT_SOURCES, update_text_embeddings

log = logging.getLogger("leadlake.demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)


def run(ctx, args: argparse.Namespace) -> int:
    generate_demo(ctx.lakehouse, spec_from_args(args))
    report = update_text_embeddings(ctx.lakehouse, encoder_spec(ctx.conf), DEFAULT_SOURCES)
    log.info("text embeddings: %s", report)
    print(format_summaries(summarize_lakehouse(str(Path(ctx.conf.lakehouse).resolve()))))
    return 0
