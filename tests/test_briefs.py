"""Insight briefs: what rose or fell last week per need category and lead segment, in words grounded in the tables."""

from __future__ import annotations

import datetime as dt

import pytest

from leadlake.errors import ConfError
from leadlake.generate.briefs import TABLE, write_briefs
from leadlake.lakehouse import Lakehouse

from .conftest import make_conf

AS_OF = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone.utc)


def _ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def _tables(lh: Lakehouse) -> None:
    spark = lh.spark
    signals = [
        # pricing: 3 this week (2 negative), 1 the week before -> up from 1
        ("C1", None, _ago(0), "Your price went up again, too expensive.", "negative", "pricing", "price increase"),
        ("C2", None, _ago(2), "The invoice was wrong twice.", "negative", "pricing", "invoice errors"),
        ("C1", None, _ago(5), "Fair pricing for what we get.", "positive", "pricing", "price increase"),
        ("C3", None, _ago(9), "Is there a cheaper plan?", "neutral", "pricing", "price increase"),
        # service_quality: 1 this week, 3 the week before -> down from 3; one older text counts for neither
        ("C2", None, _ago(1), "Support answered quickly, thanks.", "positive", "service_quality", "fast support"),
        ("C4", None, _ago(8), "Nobody answered my ticket.", "negative", "service_quality", "slow tickets"),
        ("C4", None, _ago(10), "Still waiting on support.", "negative", "service_quality", "slow tickets"),
        ("C3", None, _ago(13), "Ticket open for weeks.", "negative", "service_quality", "slow tickets"),
        ("C3", None, _ago(40), "Old complaint.", "negative", "service_quality", "slow tickets"),
        # excluded by needs.priority.exclude (other), and lead texts for the segment quotes
        (None, "L1", _ago(3), "Please send a quote for 40 seats.", "neutral", "other", "quotes"),
        (None, "L2", _ago(4), "Can we see a demo next week?", "neutral", "other", "demos"),
    ]
    signals.append(("C1", None, _ago(30), "The app is slow.", "negative", "user_experience", "slow app"))
    lh.write(spark.createDataFrame(signals, "customer_id string, lead_id string, ts timestamp, text string, "
                                            "sentiment_label string, need_category string, topic_label string"),
             "silver.text_signals")
    lh.write(spark.createDataFrame([("pricing:0", "pricing", "price increase", 80.0),
                                    ("pricing:1", "pricing", "invoice errors", 40.0),
                                    ("service_quality:0", "service_quality", "slow tickets", 60.0)],
                                   "need_id string, need_category string, topic_label string, priority double"),
             "gold.need_insights")
    lh.write(spark.createDataFrame([("C1", 1000.0, "low"), ("C2", 2500.0, "high"), ("C3", 500.0, "high"),
                                    ("C4", 100.0, "medium")],
                                   "customer_id string, clv_12m double, churn_risk string"), "gold.customer_clv")
    lh.write(spark.createDataFrame([
        ("L1", 0.8, "high", "more web_demo_request"), ("L2", 0.6, "mid", "more web_demo_request"),
        ("L3", 0.1, "low", "fewer msg_count"), ("L4", 0.2, "low", "fewer msg_count"),
        ("L5", 0.3, "low", None)], "lead_id string, p_convert double, tier string, segment_description string"),
        "gold.lead_scores")
    lh.write(spark.createDataFrame([("L1", _ago(1)), ("L2", _ago(9)), ("L3", _ago(2)), ("L4", _ago(3)),
                                    ("L5", _ago(0))], "lead_id string, created_at timestamp"), "bronze.leads")


@pytest.fixture(scope="module")
def briefed(spark, tmp_path_factory):
    lh = Lakehouse(spark, make_conf(tmp_path_factory.mktemp("briefs") / "lh"))
    _tables(lh)
    return lh, write_briefs(lh)


def test_need_briefs_count_this_week_against_last_and_name_the_customers_and_revenue(briefed):
    lh, report = briefed
    rows = {(r.subject_kind, r.subject): r for r in lh.read(TABLE).collect()}
    assert report.needs == 3 and report.week == "2025-06-30"
    pricing = rows[("need", "pricing")]
    assert (pricing.recent, pricing.prior, pricing.customers, pricing.at_risk) == (3, 1, 3, 2)
    assert str(pricing.week) == "2025-06-30" and pricing.period_days == 7 and pricing.grounded
    assert pricing.brief.startswith("pricing: 3 mentions in the 7 days to 2025-06-30, up from 1 in the 7 days before")
    assert "67% of them negative" in pricing.brief and "3 customers have raised it, worth 4,000" in pricing.brief
    assert "(2 at high churn risk)" in pricing.brief and "Top topic: price increase" in pricing.brief
    assert 'Example: "Your price went up again, too expensive."' in pricing.brief
    service = rows[("need", "service_quality")]
    assert (service.recent, service.prior) == (1, 3) and "down from 3" in service.brief
    assert ("need", "other") not in rows
    quiet = rows[("need", "user_experience")]
    assert (quiet.recent, quiet.prior) == (0, 0)
    assert "0 mentions in the 7 days to 2025-06-30, the same as 0" in quiet.brief


def test_segment_briefs_count_new_leads_and_quote_a_lead_of_the_segment(briefed):
    lh, report = briefed
    rows = {r.subject: r for r in lh.read(TABLE).where("subject_kind = 'lead_segment'").collect()}
    assert report.segments == 2 and set(rows) == {"more web_demo_request", "fewer msg_count"}
    demo = rows["more web_demo_request"]
    assert (demo.recent, demo.prior) == (1, 1)
    assert "the same as 1" in demo.brief and "Mean conversion chance 70%; 1 in the high tier" in demo.brief
    assert 'Example: "Please send a quote for 40 seats."' in demo.brief
    assert rows["fewer msg_count"].recent == 2 and 'Example: "Can we see' not in rows["fewer msg_count"].brief


def test_a_rerun_writes_the_same_briefs_and_a_bad_period_is_refused(briefed):
    lh, _ = briefed
    before = sorted((r.subject_kind, r.subject, str(r.week), r.brief) for r in lh.read(TABLE).collect())
    write_briefs(lh)
    after = sorted((r.subject_kind, r.subject, str(r.week), r.brief) for r in lh.read(TABLE).collect())
    assert before == after
    with pytest.raises(ConfError, match=r"briefs\.period_days must be at least 1"):
        write_briefs(lh.with_conf(lh.conf.with_overrides({"briefs": {"period_days": 0}})))
