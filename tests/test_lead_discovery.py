"""Lead discovery: which inbound messages are sales leads, zero-shot and with a trained head."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from leadlake.config import load_conf
from leadlake.jobs.demo import message_truth
from leadlake.lakehouse import Lakehouse
from leadlake.leads.discovery import (
    DISCOVERED_TABLE,
    discover_leads,
    evaluate_discovery,
    load_discovery,
    train_discovery,
)
from leadlake.text.encoders import encoder_spec
from tests.conftest import TEST_SETTINGS

WEB_CHATS = [
    ("W1", "L-new", dt.datetime(2025, 12, 1), "Hi, we have budget for next quarter and want a quote for 40 seats."),
    ("W2", "L-new", dt.datetime(2025, 12, 2), "Automatic reply: I'm away until Monday with no access to email."),
    ("W3", None, dt.datetime(2025, 12, 3), "   "),
]


def _conf(lh: Lakehouse, **discovery):
    extra = {"sources": [["bronze.interactions", "text", "interaction_id", "lead_id"],
                         ["bronze.web_chats", "text", "chat_id", "lead_id"]], **discovery}
    return load_conf(lakehouse=lh.conf.lakehouse, overrides={**TEST_SETTINGS, "discovery": extra})


def test_zero_shot_discovery_finds_the_sales_leads_and_keeps_every_message(demo_copy):
    lh = demo_copy
    lh.write(lh.spark.createDataFrame(WEB_CHATS, "chat_id string, lead_id string, ts timestamp, text string"),
             "bronze.web_chats", mode="overwrite")
    conf = _conf(lh)
    spec = encoder_spec(conf)
    report = discover_leads(lh.with_conf(conf), spec, load_discovery(conf, spec))
    print("\n", report)
    messages = lh.row_count("bronze.interactions") + len(WEB_CHATS)
    assert report.read == report.written == messages == lh.row_count(DISCOVERED_TABLE)
    assert report.method == "zero-shot" and report.without_text == 1
    chats = {r.message_id: r for r in lh.read(DISCOVERED_TABLE).where(F.col("source") == "bronze.web_chats").collect()}
    assert chats["W1"].message_class == "sales_lead" and chats["W1"].is_lead and chats["W1"].p_lead > 0.5
    assert chats["W2"].message_class == "out_of_office" and not chats["W2"].is_lead
    assert chats["W3"].reason == "no_text" and chats["W3"].p_lead is None and not chats["W3"].is_lead
    metrics = evaluate_discovery(lh.read(DISCOVERED_TABLE), message_truth(lh))
    print(" zero-shot against the hidden message kinds:", {k: round(v, 3) for k, v in metrics.items()})
    assert metrics["n"] == lh.row_count("bronze.interactions")
    assert metrics["lead_roc_auc"] > 0.85 and metrics["lead_recall"] > 0.75 and metrics["lead_precision"] > 0.6


def test_a_head_trained_on_labelled_messages_beats_zero_shot_on_the_rest(demo_copy):
    lh = demo_copy
    labelled = F.abs(F.xxhash64("message_id")) % 5 == 0
    truth = message_truth(lh)
    texts = lh.read("bronze.interactions").select(F.col("interaction_id").alias("message_id"), "text")
    lh.write(texts.join(truth.where(labelled), "message_id").select("text", F.col("true_class").alias("label")),
             "bronze.message_labels", mode="overwrite")
    conf = _conf(lh, labels={"table": "bronze.message_labels", "text": "text", "label": "label"})
    spec = encoder_spec(conf)
    if not lh.exists(DISCOVERED_TABLE) or lh.read(DISCOVERED_TABLE).where(F.col("method") != "zero-shot").count():
        discover_leads(lh.with_conf(_conf(lh)), spec, load_discovery(_conf(lh), spec))
    zero_shot = evaluate_discovery(lh.read(DISCOVERED_TABLE), truth.where(~labelled))
    model, held_out = train_discovery(lh.with_conf(conf), spec)
    assert model.method == "supervised" and held_out["n"] > 50
    assert load_discovery(conf, spec).method == "supervised"  # saved, and used from then on
    discover_leads(lh.with_conf(conf), spec, model)
    trained = evaluate_discovery(lh.read(DISCOVERED_TABLE), truth.where(~labelled))
    print(f"\n accuracy on unlabelled messages: zero-shot {zero_shot['accuracy']:.3f}, "
          f"trained on {lh.row_count('bronze.message_labels')} labels {trained['accuracy']:.3f}")
    assert trained["accuracy"] > zero_shot["accuracy"] and trained["lead_roc_auc"] > zero_shot["lead_roc_auc"]
