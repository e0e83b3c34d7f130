"""``leadlake embed``: vectors for every new text of the lakehouse (silver.text_embeddings)."""

from __future__ import annotations

import argparse

from leadlake.text.encoders import ENGINES, encoder_spec
from leadlake.text.store import DEFAULT_SOURCES, update_text_embeddings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=[e for e in ENGINES if e != "spark-nlp"],
                        help="override text.engine from the conf")


def run(ctx, args: argparse.Namespace) -> int:
    overrides = {"engine": args.engine} if args.engine else {}
    spec = encoder_spec(ctx.conf, **overrides)
    sources = [tuple(s) for s in ctx.conf.get("text.sources", None) or DEFAULT_SOURCES]
    print(update_text_embeddings(ctx.lakehouse, spec, sources))
    return 0
