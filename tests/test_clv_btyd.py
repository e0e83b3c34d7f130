"""BTYD parity with the published CDNOW fits (data from the `lifetimes` wheel, fetched, never committed)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from leadlake.clv import fit_bgnbd, fit_gamma_gamma, rfm_summary
from leadlake.corpora import package_file
from leadlake.errors import EnvironmentProblem


@pytest.fixture(scope="module")
def cdnow(spark):
    try:
        raw = package_file("lifetimes", "0.11.3", "lifetimes/datasets/CDNOW_sample.txt").decode()
    except EnvironmentProblem as exc:
        pytest.skip(f"the CDNOW data ships in the lifetimes wheel, which could not be fetched: {exc}")
    df = pd.read_csv(io.StringIO(raw), sep=r"\s+", header=None, names=["cust", "idx", "date", "n", "amount"],
                     dtype={"cust": str, "date": str})
    df["ts"] = pd.to_datetime(df["date"], format="%Y%m%d")
    orders = spark.createDataFrame(df[["cust", "ts", "amount"]])
    return rfm_summary(orders, "cust", "ts", "amount", "1997-09-30", time_unit="W").persist()


def test_bgnbd_matches_the_published_cdnow_fit(cdnow):
    assert cdnow.count() == 2357
    model = fit_bgnbd(cdnow)
    print("\nBG/NBD on CDNOW:", {k: round(v, 4) for k, v in model.params.items()})
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert model.params[name] == pytest.approx(published, rel=0.01), name
    # Fader, Hardie & Lee (2005): x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
    assert float(model.expected_purchases(39, [2], [30.43], [38.86])[0]) == pytest.approx(1.226, abs=0.01)
    assert float(model.p_alive([0], [0], [38.86])[0]) == 1.0


def test_gamma_gamma_matches_the_published_cdnow_fit(cdnow):
    model = fit_gamma_gamma(cdnow)
    print("\nGamma-Gamma on CDNOW:", {k: round(v, 4) for k, v in model.params.items()})
    for name, published in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert model.params[name] == pytest.approx(published, rel=0.01), name
    # The Spark prediction is the closed form, row by row.
    rows = model.predict(cdnow.limit(50)).select("frequency", "monetary_value", "expected_spend").toPandas()
    expected = model.expected_spend(rows["frequency"], rows["monetary_value"])
    assert rows["expected_spend"].to_numpy() == pytest.approx(expected)


def test_fit_on_distinct_triples_equals_fit_on_every_customer(cdnow):
    from leadlake.clv.btyd import fit_bgnbd_arrays

    grouped = fit_bgnbd(cdnow)
    every = cdnow.select("frequency", "recency", "T").toPandas()
    assert len(every) > cdnow.select("frequency", "recency", "T").distinct().count()
    unweighted = fit_bgnbd_arrays(every["frequency"].to_numpy(), every["recency"].to_numpy(), every["T"].to_numpy())
    for name, value in grouped.params.items():
        assert unweighted.params[name] == pytest.approx(value, rel=1e-4), name
