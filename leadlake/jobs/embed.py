"""``leadlake embed``: vectors for every new text of the lakehouse (silver.text_embeddings)."""

from __future__ import annotations

import argparse

from leadlake.text.encoders import ENGINES, encoder_spec
from leadlake.text.store import embedding_sources, update_text_embeddings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=[e for e in ENGINES if e != "spark-nlp"],
                        help="override text.engine from the conf")


def run(ctx, args: argparse.Namespace) -> int:
    overrides = {"engine": args.engine} if args.engine else {}
    spec = encoder_spec(ctx.conf, **overrides)
    print(update_text_embeddings(ctx.lakehouse, spec, embedding_sources(ctx.conf)))
    return 0
