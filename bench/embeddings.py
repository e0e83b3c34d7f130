"""Embedding throughput: plain sentence-transformers vs leadlake's Spark stages, one run.

    python bench/embeddings.py [--texts 4000] [--repeats 2]

Same texts (demo CRM messages), same machine and cores. The plain baseline
encodes in one process with torch using every core; the Spark stages run
``leadlake.text.embed`` in local mode with one task per core and one thread
per task, each engine at its configured batch size (``text.batch_size`` null:
32 for torch on CPU, 8 for ONNX) and precision (``text.precision`` auto: torch
in bf16 on a CPU with AMX-BF16; then plain is also timed in bf16, to show
what the Spark stage costs at equal precision; the target reads plain fp32,
what sentence-transformers runs by default). The plain baseline is the fastest of batch sizes
16, 32 and 64, so no ratio is won by giving plain a bad batch size. Models are
loaded before timing on both sides (Spark workers are warmed on a small
batch). Prints texts/s and ratios; targets: Spark torch >= 1.0x plain, ONNX
int8 >= 2.0x plain.

It also prints where it ran (processor, matrix instruction sets, ONNX Runtime
version and provider, threads per task, the texts' mean token count) and each
engine's share of the machine's peak: the encoder's multiply-adds per text
from its real token counts (padding not counted: it is waste), times texts/s,
over the best rate of a large fp32 (numpy BLAS) or int8 (ONNX Runtime
MatMulInteger) matrix product on the same cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import machine

from leadlake.config import load_conf
from leadlake.demo import text as phrases
from leadlake.progress import setup_logging
from leadlake.session import get_spark
from leadlake.text import embed, encoder_spec
from leadlake.text.encoders import cpu_bf16, export_onnx


def demo_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    kinds = list(phrases.MESSAGE_KINDS)
    channels = ["email", "chat", "call_note", "inbound_form", "social"]
    ctx = {"company": "Northgate", "country": "US", "industry": "software", "size": "120", "title": "VP Sales"}
    return [phrases.message(rng.choice(kinds), rng.choice(channels), rng, ctx) for _ in range(n)]


def flops_per_token(model_dir: str, tokens: float) -> float:
    """Multiply-add FLOPs per token of a BERT encoder, for texts of ``tokens`` tokens (pooling is noise).

    Per layer: Q, K, V and output projections (4 h^2 multiply-adds), the
    feed-forward pair (2 h f), attention scores and their weighted sum (2 L h).
    """
    import json

    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    h, f, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    return 2.0 * layers * (4 * h * h + 2 * h * f + 2 * tokens * h)


def token_counts(export_dir: str, texts: list[str], max_len: int) -> list[int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(export_dir) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_len)
    return [len(e.ids) for e in tok.encode_batch(texts)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    setup_logging("WARNING")
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="leadlake-bench-emb-"))
    conf = load_conf(lakehouse=str(work / "lakehouse"), overrides={"spark": {"master": f"local[{cores}]"}})
    spec = encoder_spec(conf, threads_per_task=1)
    texts = demo_texts(args.texts)

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(cores)
    plain = SentenceTransformer(spec.model_dir, device="cpu")
    plain.max_seq_length = spec.max_seq_length
    plain.encode(texts[:64], batch_size=32)
    trial = texts[: max(500, len(texts) // 4)]

    def plain_rate(batch: int) -> float:
        t0 = time.perf_counter()
        plain.encode(trial, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
        return len(trial) / (time.perf_counter() - t0)

    plain_batch = max((16, 32, 64), key=plain_rate)

    export_onnx(spec, quantize=True)
    spark = get_spark(conf)
    df = spark.createDataFrame([(t,) for t in texts], "text string").repartition(cores).cache()
    df.count()
    warm = spark.createDataFrame([(t,) for t in texts[: 8 * cores]], "text string").repartition(cores)

    def run_plain() -> None:
        plain.encode(texts, batch_size=plain_batch, normalize_embeddings=True, show_progress_bar=False)

    def run_plain_bf16() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            run_plain()

    def spark_stage(engine: str):
        s = dataclasses.replace(encoder_spec(conf, threads_per_task=1, engine=engine), export_dir=spec.export_dir)
        embed(warm, spec=s).write.format("noop").mode("overwrite").save()
        return lambda: embed(df, spec=s).write.format("noop").mode("overwrite").save()

    bf16 = cpu_bf16(spec)
    runs = {"plain sentence-transformers": run_plain}
    if bf16:
        runs["plain, bf16 autocast"] = run_plain_bf16
    runs |= {"spark torch" + (" (bf16)" if bf16 else ""): spark_stage("torch"),
             "spark onnx": spark_stage("onnx"), "spark onnx-int8": spark_stage("onnx-int8")}
    rates: dict[str, float] = {}
    for name, fn in runs.items():
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        rates[name] = len(texts) / statistics.median(times)
    spark.stop()
    import onnxruntime

    counts = token_counts(spec.export_dir, texts, spec.max_seq_length)
    mean_tokens = statistics.fmean(counts)
    per_text = sum(c * flops_per_token(spec.model_dir, c) for c in counts) / len(counts)
    peak32, peak8 = machine.fp32_peak(), machine.int8_peak()
    peak16 = machine.bf16_peak() if bf16 else None
    base = rates["plain sentence-transformers"]
    print(f"ran on: {machine.describe()}; ONNX Runtime {onnxruntime.__version__} (CPUExecutionProvider), "
          f"torch {torch.__version__}; Spark: {cores} tasks x 1 thread")
    print(f"measured peak on {cores} cores: fp32 {peak32 / 1e9:.1f} GFLOP/s (numpy BLAS), "
          f"int8 {peak8 / 1e9:.1f} GOP/s (ONNX Runtime MatMulInteger), int8/fp32 {peak8 / peak32:.2f}x"
          + (f", bf16 {peak16 / 1e9:.1f} GFLOP/s (torch)" if peak16 else ""))
    print(f"{len(texts):,} demo texts, mean {mean_tokens:.1f} tokens (max {max(counts)}), "
          f"{per_text / 1e6:.0f} MFLOP each; {spec.name}, max_seq_length {spec.max_seq_length}, "
          f"median of {args.repeats}; batch: plain {plain_batch} (its fastest of 16/32/64), Spark torch "
          f"{encoder_spec(conf, engine='torch').model_batch()}, ONNX {encoder_spec(conf, engine='onnx').model_batch()}")
    for name, rate in rates.items():
        kind = "int8" if name.endswith("int8") else "bf16" if "bf16" in name else "fp32"
        peak = {"int8": peak8, "bf16": peak16, "fp32": peak32}[kind]
        print(f"  {name:<28} {rate:8.1f} texts/s   {rate / base:5.2f}x plain   "
              f"{rate * per_text / 1e9:6.1f} GFLOP/s = {100 * rate * per_text / peak:4.1f}% of the {kind} peak")
    torch_ratio = next(r for name, r in rates.items() if name.startswith("spark torch")) / base
    int8_ratio = rates["spark onnx-int8"] / base
    print(f"targets: spark torch >= 1.0x plain: {'met' if torch_ratio >= 1.0 else 'NOT met'} ({torch_ratio:.2f}x); "
          f"spark onnx-int8 >= 2.0x plain: {'met' if int8_ratio >= 2.0 else 'NOT met'} ({int8_ratio:.2f}x)")


if __name__ == "__main__":
    main()
