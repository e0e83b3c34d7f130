"""One local SparkSession for the whole suite, as the session factory builds it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.pop("LEADLAKE_LAKEHOUSE", None)

from leadlake.config import Conf, load_conf
from leadlake.lakehouse import Lakehouse

TEST_SPARK = {
    "spark": {
        "master": "local[2]",
        "conf": {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"},
    }
}


def make_conf(root: Path, **overrides) -> Conf:
    return load_conf(lakehouse=str(root), overrides={**TEST_SPARK, **overrides})


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from leadlake.session import get_spark

    session = get_spark(make_conf(tmp_path_factory.mktemp("session-lakehouse")))
    yield session
    session.stop()


@pytest.fixture
def conf(tmp_path) -> Conf:
    return make_conf(tmp_path / "lakehouse")


@pytest.fixture
def lakehouse(spark, conf) -> Lakehouse:
    return Lakehouse(spark, conf)


DEMO_LEADS = 1500
FAST_MODELS = {"leads": {"model": {"max_iter": 30, "max_depth": 4}}, "clv": {"model": {"max_iter": 25}}}


@pytest.fixture(scope="session")
def demo_lakehouse(spark, tmp_path_factory) -> Lakehouse:
    """One demo lakehouse with embeddings and mined needs, shared by the needs and lead tests."""
    from leadlake.demo import DemoSpec, generate_demo
    from leadlake.needs.categories import load_needs
    from leadlake.needs.mining import mine_needs
    from leadlake.needs.sentiment import SentimentModel
    from leadlake.text import encoder_spec

    lh = Lakehouse(spark, make_conf(tmp_path_factory.mktemp("demo-lakehouse"), **FAST_MODELS))
    generate_demo(lh, DemoSpec(leads=DEMO_LEADS, seed=5))
    spec = encoder_spec(lh.conf)
    lh.mining_report = mine_needs(lh, lh.conf, spec, SentimentModel(spec.model_id),
                                  load_needs("/nonexistent", spec, lh.conf))
    return lh
