"""The demo CRM: deterministic, at the asked scale, within its contracts, and learnable."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pyspark.sql import functions as F

from leadlake.contracts import VIOLATIONS, load_contracts, validate
from leadlake.demo import DemoSpec, demo_frames, generate_demo, text
from leadlake.demo.crm import lead_traits
from leadlake.lakehouse import Lakehouse

from .conftest import make_conf

LEADS = 2500
BRONZE = ["leads", "interactions", "web_events", "conversions", "customers", "orders", "feedback", "products"]


@pytest.fixture(scope="module")
def demo(spark, tmp_path_factory) -> Lakehouse:
    lh = Lakehouse(spark, make_conf(tmp_path_factory.mktemp("demo")))
    generate_demo(lh, DemoSpec(leads=LEADS, seed=11))
    return lh


def _fingerprint(df) -> tuple[int, int]:
    return df.count(), df.select(F.sum(F.pmod(F.xxhash64(*df.columns), F.lit(2**31))).alias("h")).first()["h"]


def test_same_seed_same_tables_other_seed_other_tables(spark, demo, tmp_path):
    again = Lakehouse(spark, make_conf(tmp_path / "again"))
    for table, df in demo_frames(again, DemoSpec(leads=LEADS, seed=11)).items():
        assert _fingerprint(df) == _fingerprint(demo.read(table)), table
    other = demo_frames(again, DemoSpec(leads=LEADS, seed=12))
    assert _fingerprint(other["bronze.interactions"]) != _fingerprint(demo.read("bronze.interactions"))


def test_traits_do_not_depend_on_how_leads_are_split():
    spec = DemoSpec(leads=1000, seed=3)
    whole = lead_traits(np.arange(1000), spec)
    parts = [lead_traits(np.arange(a, a + 250), spec) for a in range(0, 1000, 250)]
    import pandas as pd

    pd.testing.assert_frame_equal(whole, pd.concat(parts, ignore_index=True))


def test_scale_is_respected_and_tables_hang_together(demo):
    assert demo.row_count("bronze.leads") == LEADS
    assert demo.row_count("bronze.conversions") == LEADS
    assert demo.row_count("eval.lead_truth") == LEADS
    leads = demo.read("bronze.leads", columns=["lead_id"])
    for table in ("interactions", "web_events", "conversions"):
        orphans = demo.read(f"bronze.{table}").join(leads, "lead_id", "left_anti").count()
        assert orphans == 0, table
    assert demo.row_count("bronze.interactions") > 1.5 * LEADS
    won = demo.read("bronze.conversions").where("outcome = 'won'").count()
    assert demo.row_count("bronze.customers") == won
    assert 0.05 * LEADS < won < 0.25 * LEADS
    per_customer = demo.read("bronze.orders").where("amount > 0").groupBy("customer_id").count()
    stats = per_customer.agg(F.min("count"), F.max("count"), F.avg("count")).first()
    assert stats[0] == 1 and stats[1] >= 15, "repeat buying is heterogeneous: one-off and frequent buyers"
    last_order = demo.read("bronze.orders").agg(F.max("ts")).first()[0]
    assert str(last_order) <= "2025-12-31 23:59:59"


def test_every_bronze_table_meets_its_contract(demo):
    contracts = load_contracts(demo.conf)
    for table in BRONZE:
        df = demo.read(f"bronze.{table}").withColumn("_row_order", F.monotonically_increasing_id())
        bad = validate(df, contracts[table]).where(F.size(VIOLATIONS) > 0)
        assert bad.count() == 0, (table, bad.select(VIOLATIONS).limit(5).collect())


def test_text_is_varied_not_one_template(demo):
    texts = demo.read("bronze.interactions", columns=["text", "channel"])
    total = texts.count()
    distinct = texts.select("text").distinct().count()
    assert distinct / total > 0.6
    top = texts.groupBy("text").count().orderBy(F.desc("count")).first()["count"]
    assert top / total < 0.02
    assert texts.select("channel").distinct().count() == 5
    lengths = texts.agg(F.min(F.length("text")), F.max(F.length("text"))).first()
    assert lengths[0] < 40 and lengths[1] > 300


def _typo_variants() -> set[str]:
    """Misspellings the way people make them (swapped or dropped letters) of the phrase banks' words."""
    banks = [*text.OPENERS, *text.CLOSERS, *text.FILLERS, *text.FEATURES]
    for templates in (*text.MESSAGE_KINDS.values(), *text.CALL_NOTES.values()):
        banks.extend(templates)
    vocab = {w for line in banks for w in re.findall(r"[a-z]+", line.lower())}
    variants = set()
    for w in (w for w in vocab if len(w) >= 6):
        for i in range(len(w) - 1):
            variants.add(w[:i] + w[i + 1] + w[i] + w[i + 2:])
            variants.add(w[:i] + w[i + 1:])
    return variants - vocab


def test_people_make_typos(demo):
    variants = _typo_variants()
    sample = [r.text for r in demo.read("bronze.interactions", columns=["text"]).limit(3000).collect()]
    with_typo = [t for t in sample if variants & set(re.findall(r"[a-z]+", t.lower()))]
    assert 0.03 < len(with_typo) / len(sample) < 0.5


def test_intent_in_the_text_predicts_conversion(demo):
    """Ground truth is learnable from text: buying language converts, job hunting does not."""
    buying = r"(?i)(quote|order form|contract|ready to (buy|purchase|sign)|budget approved|invoice|paperwork)"
    job = r"(?i)(resume|internship|\bcv\b|hiring|job opportunities|application)"
    flags = demo.read("bronze.interactions").groupBy("lead_id").agg(
        F.max(F.col("text").rlike(buying).cast("int")).alias("buying"),
        F.max(F.col("text").rlike(job).cast("int")).alias("job"),
    )
    closed = demo.read("bronze.conversions").where("outcome != 'open'").select(
        "lead_id", (F.col("outcome") == "won").cast("int").alias("won"))
    rates = {
        name: closed.join(flags.where(F.col(name) == flag), "lead_id").agg(F.avg("won")).first()[0]
        for name, flag in (("buying", 1), ("job", 1))
    }
    base = closed.agg(F.avg("won")).first()[0]
    assert rates["buying"] > 1.8 * base, (rates, base)
    assert rates["job"] < 0.5 * base, (rates, base)


def test_junk_leads_exist_and_look_like_junk(demo):
    truth = demo.read("eval.lead_truth")
    junk_rate = truth.agg(F.avg(F.col("is_junk").cast("int"))).first()[0]
    assert 0.03 < junk_rate < 0.10
    leads = demo.read("bronze.leads").join(truth, "lead_id")
    junk_mail = r"(?i)(test@test\.com|asdf|mailinator|10minutemail|guerrillamail|tempmail|yopmail|a@b\.c|bot\d+)"
    rate = lambda junk: leads.where(F.col("is_junk") == junk).agg(  # noqa: E731
        F.avg(F.col("email").rlike(junk_mail).cast("int"))).first()[0]
    assert rate(True) > 0.6 and rate(False) < 0.1
    assert "is_junk" not in demo.read("bronze.leads").columns


def test_custom_crm_fields_ride_along(demo):
    cols = demo.read("bronze.leads").columns
    assert {"crm_territory", "crm_owner", "crm_budget_band"} <= set(cols)
