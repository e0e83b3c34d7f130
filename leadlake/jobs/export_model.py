"""``leadlake export-model``: the sentence encoder as ONNX (and int8) for the CPU fast path."""

from __future__ import annotations

import argparse

from leadlake.text.encoders import encoder_spec, export_onnx


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quantize", action="store_true", help="also write an int8-quantized model")
    parser.add_argument("--out", help="export folder (default <lakehouse>/models/<model>/onnx)")


def run(ctx, args: argparse.Namespace) -> int:
    spec = encoder_spec(ctx.conf)
    if args.out:
        from dataclasses import replace

        spec = replace(spec, export_dir=args.out)
    folder = export_onnx(spec, quantize=args.quantize)
    print(f"exported {spec.name} to {folder}")
    return 0
