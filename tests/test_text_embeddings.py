"""Sentence embeddings: the Spark UDF, the ONNX fast path, PII masking and the incremental store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import functions as F

from leadlake.text import embed, encoder_spec
from leadlake.text.encoders import export_onnx, load_encoder
from leadlake.text.pii import mask_pii, mask_pii_text
from leadlake.text.store import embedding_partitions, update_text_embeddings

from .conftest import make_conf

TEXTS = [
    "We have budget approved for Q3, can you send a quote for 200 seats?",
    "Please send a quotation for 200 licenses, the budget is approved.",
    "Hi, I'm applying for the intern position, attached is my CV.",
    "never answered my ticket, worst experience with a vendor",
    "Support solved my issue within minutes, excellent service!",
    "Does your product support SSO and audit logs?",
    "",
    "word " * 2000,
]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    conf = make_conf(tmp_path_factory.mktemp("text"))
    return encoder_spec(conf)


@pytest.fixture(scope="module")
def exported(spec, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    spec = dataclasses.replace(spec, export_dir=str(folder))
    export_onnx(spec, quantize=True)
    return spec


def cos(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("mail me at jane.doe+crm@acme-corp.co.uk today", "mail me at [EMAIL] today"),
        ("call +1 (415) 555-0100 or 020 7946 0958", "call [PHONE] or [PHONE]"),
        ("card 4111 1111 1111 1111, exp 12/27", "card [CARD], exp 12/27"),
        ("card 4111-1111-1111-1111", "card [CARD]"),
        ("quote for 200 seats in Q3 2025, budget $20,000", "quote for 200 seats in Q3 2025, budget $20,000"),
        ("order O0001504-0002 shipped", "order O0001504-0002 shipped"),
    ],
)
def test_pii_is_masked_and_ordinary_numbers_are_not(spark, raw, masked):
    assert mask_pii_text(raw) == masked
    got = spark.createDataFrame([(raw,)], "t string").select(mask_pii(F.col("t")).alias("m")).first().m
    assert got == masked


def test_embed_works_on_any_dataframe(spark, spec):
    rows = [(i, t) for i, t in enumerate(TEXTS)] + [(99, None), (100, "   \n ")]
    df = spark.createDataFrame(rows, "id int, body string")
    out = {r.id: r.vec for r in embed(df, "body", "vec", spec=spec).collect()}
    assert out[6] is None and out[99] is None and out[100] is None
    vecs = {i: np.array(v) for i, v in out.items() if v is not None}
    assert all(v.shape == (384,) and abs(np.linalg.norm(v) - 1) < 1e-3 for v in vecs.values())
    assert cos(vecs[0], vecs[1]) > cos(vecs[0], vecs[2]) + 0.2, "paraphrases are closer than unrelated text"
    assert cos(vecs[3], vecs[4]) < cos(vecs[0], vecs[1])


def test_spark_udf_matches_plain_sentence_transformers(spark, spec):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(spec.model_dir, device="cpu").encode(TEXTS[:6], normalize_embeddings=True)
    df = spark.createDataFrame(list(enumerate(TEXTS[:6])), "id int, text string")
    got = {r.id: np.array(r.embedding) for r in embed(df, spec=spec).collect()}
    for i in range(6):
        assert cos(got[i], reference[i]) > 0.999


# Texts unlike the demo's: other trades, registers and shapes (int8 scales are not fitted to any text set).
OTHER_DOMAINS = [
    "The hotel room was spotless but the breakfast buffet ran out of eggs by 8am.",
    "Patient reports intermittent chest pain radiating to the left arm, onset two days ago.",
    "Pursuant to clause 14.2, either party may terminate this agreement with 30 days written notice.",
    "def handler(event): return {'statusCode': 200, 'body': json.dumps(event)}",
    "LOVE IT!!! 😍😍 best purchase this year",
    "ok",
    "Refund?",
    "Order #88231 arrived with 3 of 12 units damaged; photos attached, need replacements before Friday.",
    "The quarterly revenue grew 12.4% year over year, driven by enterprise renewals in EMEA.",
    "My kid's soccer team needs 15 jerseys in navy, sizes youth S to adult M, by next Saturday.",
    "Crop yields fell after the late frost; we are looking for frost-resistant seed varieties for spring.",
    "Wie lange dauert der Versand nach Deutschland?",
    "The firmware update bricked the router. Factory reset does nothing. Serial 4F-22-A9.",
    " ".join(["The customer asked about pricing, integrations, onboarding time and support hours."] * 12),
]


def test_onnx_fp32_and_int8_match_torch_per_text(exported):
    """Per text, on the hand-written cases, texts from other domains and 300 demo messages of every kind,
    channel and length."""
    import random

    from leadlake.demo import text as phrases

    rng = random.Random(11)
    ctx = {"company": "Northgate", "country": "US", "industry": "software", "size": "120", "title": "VP Sales"}
    demo = [phrases.message(rng.choice(list(phrases.MESSAGE_KINDS)),
                            rng.choice(["email", "chat", "call_note", "inbound_form", "social"]), rng, ctx)
            for _ in range(300)]
    texts = TEXTS + OTHER_DOMAINS + demo
    torch_vecs = load_encoder(dataclasses.replace(exported, engine="torch"))(texts)
    for engine in ("onnx", "onnx-int8"):
        vecs = load_encoder(dataclasses.replace(exported, engine=engine))(texts)
        sims = [cos(a, b) for a, b in zip(torch_vecs, vecs, strict=True)]
        assert min(sims) >= 0.99, (engine, sims)
    assert (exported.export_dir and (__import__("pathlib").Path(exported.export_dir) / "assets/vocab.txt").is_file())


def test_torch_in_bf16_matches_fp32_per_text(spec):
    """text.precision bf16 (what auto picks on a CPU with AMX-BF16) keeps each vector within 0.999 of fp32;
    forced here so the check runs on any CPU."""
    texts = [t for t in TEXTS + OTHER_DOMAINS if t.strip()]
    full = load_encoder(dataclasses.replace(spec, engine="torch", precision="fp32"))(texts)
    bf16 = load_encoder(dataclasses.replace(spec, engine="torch", precision="bf16"))(texts)
    sims = (full * bf16).sum(axis=1)
    assert sims.min() >= 0.999, sims
    assert not np.array_equal(full, bf16), "bf16 ran: its vectors are close to fp32's, not identical"


AUTO_IN_A_PROCESS = """
import json, logging, sys
from leadlake.text.encoders import EncoderSpec, load_encoder, resolve_engine
logging.basicConfig(level=logging.INFO)
spec = EncoderSpec(**json.loads(sys.argv[1]))
chosen = resolve_engine(spec)
print(json.dumps({"engine": chosen.engine, "export": chosen.export_dir,
                  "vectors": load_encoder(spec)(json.loads(sys.argv[2])).tolist()}))
"""


def test_engine_auto_exports_once_per_machine_and_encodes_as_torch_does(spec, tmp_path):
    """Two processes that need the encoder at once (two Python workers of an executor) on a machine with no
    export yet: one exports, the other waits for it, both run ONNX Runtime (fp32 asked for, no GPU), and each
    vector is torch's. bf16 asked for is torch's to run, on any CPU."""
    import json
    import os
    import subprocess
    import sys

    from leadlake.text.encoders import resolve_engine

    auto = dataclasses.replace(spec, engine="auto", precision="fp32", device="cpu")
    texts = [t for t in TEXTS + OTHER_DOMAINS if t.strip()]
    env = {**os.environ, "LEADLAKE_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", AUTO_IN_A_PROCESS, json.dumps(dataclasses.asdict(auto)),
                               json.dumps(texts)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    got = [json.loads(out.splitlines()[-1]) for out, _ in outs]
    assert [g["engine"] for g in got] == ["onnx", "onnx"] and got[0]["export"] == got[1]["export"]
    assert sum("exporting all-MiniLM-L6-v2 to ONNX once" in err for _, err in outs) == 1
    exports = tmp_path / "cache" / "exports"
    assert [p.name for p in exports.iterdir() if p.is_dir()] == [Path(got[0]["export"]).name]  # no half export left
    reference = load_encoder(dataclasses.replace(spec, engine="torch", precision="fp32"))(texts)
    for g in got:
        assert (np.array(g["vectors"]) * reference).sum(axis=1).min() >= 0.9999
    assert resolve_engine(dataclasses.replace(auto, precision="bf16")).engine == "torch"


def test_engine_auto_encodes_with_torch_and_says_why_where_no_export_can_be_made(spec, tmp_path, monkeypatch,
                                                                                 caplog):
    import logging

    from leadlake.text.encoders import resolve_engine

    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("LEADLAKE_CACHE", str(blocked))
    with caplog.at_level(logging.WARNING, logger="leadlake.text"):
        chosen = resolve_engine(dataclasses.replace(spec, engine="auto", precision="fp32", device="cpu"))
    assert chosen.engine == "torch"
    assert "exporting all-MiniLM-L6-v2 to ONNX failed" in caplog.text and "encoding with torch" in caplog.text


def test_an_export_kept_in_a_bucket_is_copied_once_per_machine_and_encodes_as_the_local_one(
        exported, s3_server, monkeypatch, tmp_path):
    from leadlake import locations
    from leadlake.text.encoders import local_export

    from .conftest import make_bucket

    _, env = s3_server
    make_bucket(env, "models")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADLAKE_CACHE", str(tmp_path / "cache"))
    remote = dataclasses.replace(exported, engine="onnx", export_dir="s3://models/minilm/onnx")
    assert not local_export(remote).exists()  # nothing in the bucket yet: nothing copied, the encoder says so
    locations.upload_dir(exported.export_dir, remote.export_dir, locations.storage_options(remote.export_dir))
    copy = local_export(remote)
    assert copy.parent == tmp_path / "cache" / "exports" and (copy / "model.onnx").is_file()
    assert local_export(remote) == copy and [p for p in copy.parent.iterdir() if p.is_dir()] == [copy]
    texts = [t for t in TEXTS if t.strip()]
    local = load_encoder(dataclasses.replace(exported, engine="onnx"))(texts)
    assert np.allclose(load_encoder(remote)(texts), local, atol=1e-6)


def test_a_precision_the_encoder_cannot_run_is_a_conf_error(tmp_path):
    from leadlake.errors import ConfError

    with pytest.raises(ConfError, match=r"text\.precision must be one of auto, bf16, fp32"):
        encoder_spec(make_conf(tmp_path, text={"precision": "fp16"}))


def test_an_int8_vector_does_not_depend_on_the_texts_batched_with_it(exported):
    """Activations are scaled per token, so a text's vector is the same alone or beside a long, loud text."""
    encode = load_encoder(dataclasses.replace(exported, engine="onnx-int8"))
    alone = encode(OTHER_DOMAINS[:4])
    crowded = encode([*OTHER_DOMAINS[:4], "WORST. SERVICE. EVER!!! " * 30, OTHER_DOMAINS[-1]])[:4]
    np.testing.assert_allclose(alone, crowded, atol=1e-5)


def test_unsigned_weights_for_cpus_without_vnni_give_the_same_vectors(exported, monkeypatch):
    """The u8 x u8 form (taken on x86 without VNNI, where u8 x s8 kernels saturate) holds the same integers:
    the encoder loaded as such a CPU would load it gives this CPU's vectors."""
    from leadlake.text import encoders

    spec = dataclasses.replace(exported, engine="onnx-int8")
    signed = encoders._onnx_encoder(spec)(OTHER_DOMAINS[:6])
    monkeypatch.setattr(encoders, "saturates_u8s8", lambda: True)
    unsigned = encoders._onnx_encoder(spec)(OTHER_DOMAINS[:6])
    assert signed.shape == (6, 384)
    np.testing.assert_allclose(signed, unsigned, atol=1e-5)


def test_an_int8_model_from_an_older_quantizer_is_refused_with_what_to_run(exported, tmp_path):
    import json
    import shutil
    from pathlib import Path

    from leadlake.errors import EnvironmentProblem

    old = tmp_path / "old-export"
    shutil.copytree(Path(exported.export_dir), old)
    record = json.loads((old / "leadlake-export.json").read_text())
    (old / "leadlake-export.json").write_text(json.dumps({k: v for k, v in record.items() if k != "quantization"}))
    with pytest.raises(EnvironmentProblem, match="export-model --quantize"):
        load_encoder(dataclasses.replace(exported, engine="onnx-int8", export_dir=str(old)))


def test_onnx_engine_inside_spark(spark, exported):
    spec = dataclasses.replace(exported, engine="onnx-int8")
    df = spark.createDataFrame(list(enumerate(TEXTS[:3])), "id int, text string")
    got = {r.id: np.array(r.embedding) for r in embed(df, spec=spec).collect()}
    assert cos(got[0], got[1]) > cos(got[0], got[2])
    assert spec.model_id.endswith("/int8-per-token")


def test_store_embeds_each_text_once(spark, lakehouse, spec):
    interactions = spark.createDataFrame(
        [("I1", "Send me a quote for 50 seats, mail bob@x.com"),
         ("I2", "Send me a quote  for 50 seats, mail ann@y.org"),
         ("I3", "Unsubscribe"), ("I4", None), ("I5", "   ")],
        "interaction_id string, text string",
    )
    lakehouse.write(interactions, "bronze.interactions", mode="overwrite")
    first = update_text_embeddings(lakehouse, spec, [("bronze.interactions", "text")])
    assert (first.distinct_texts, first.embedded_now) == (2, 2), "masked e-mails make I1 and I2 one text"
    again = update_text_embeddings(lakehouse, spec, [("bronze.interactions", "text")])
    assert (again.already_embedded, again.embedded_now) == (2, 0)
    more = spark.createDataFrame([("I6", "Do you support SSO?")], "interaction_id string, text string")
    lakehouse.write(more, "bronze.interactions", mode="append")
    assert update_text_embeddings(lakehouse, spec, [("bronze.interactions", "text")]).embedded_now == 1
    table = lakehouse.read("silver.text_embeddings")
    assert table.count() == table.select("text_hash", "model_id").distinct().count() == 3
    stored = " ".join(r.text for r in table.collect())
    assert "bob@x.com" not in stored and "[EMAIL]" in stored


def test_pooled_vectors_come_from_the_configured_encoder_only(spark, tmp_path, spec):
    """The table keeps every encoder's vectors of a text (after a switch of text.model or engine); a lead's
    pooled vector averages the configured encoder's, never a mix of two spaces, and is the same every run."""
    from leadlake.lakehouse import Lakehouse
    from leadlake.text.pii import clean_text, text_key
    from leadlake.text.store import pooled_embeddings

    lh = Lakehouse(spark, make_conf(tmp_path))
    texts = spark.createDataFrame([("L1", "need a quote"), ("L1", "what about SSO?"), ("L2", "need a quote")],
                                  "lead_id string, text string")
    hashes = {r.text: r.h for r in texts.select("text", text_key(clean_text(F.col("text"))).alias("h")).collect()}
    mine = {"need a quote": [1.0, 0.0, 0.0], "what about SSO?": [0.0, 1.0, 0.0]}
    rows = [(h, spec.model_id, t, mine[t]) for t, h in hashes.items()]
    rows += [(h, "some-other-encoder", t, [0.0, 0.0, 1.0]) for t, h in hashes.items()]
    lh.write(spark.createDataFrame(rows, "text_hash string, model_id string, text string, embedding array<float>"),
             "silver.text_embeddings")
    pooled = {r.lead_id: list(r.text_embedding) for r in pooled_embeddings(lh, texts, "lead_id").collect()}
    assert pooled == {"L1": [0.5, 0.5, 0.0], "L2": [1.0, 0.0, 0.0]}
    other = pooled_embeddings(lh, texts, "lead_id", model_id="some-other-encoder")
    assert {r.lead_id: list(r.text_embedding) for r in other.collect()} == {"L1": [0, 0, 1.0], "L2": [0, 0, 1.0]}


def test_the_model_pass_is_spread_over_every_core(spark, tmp_path):
    from leadlake.lakehouse import Lakehouse

    lh = Lakehouse(spark, make_conf(tmp_path, text={"texts_per_task": 1000}))
    cores = spark.sparkContext.defaultParallelism
    assert embedding_partitions(lh, 3) == cores >= 2
    assert embedding_partitions(lh, 1000 * cores + 1) == cores + 1


def test_spark_nlp_engine_embeds_like_the_exported_model(spark, exported):
    from leadlake.session import _jvm_has_class

    if not _jvm_has_class(spark, "com.johnsnowlabs.nlp.embeddings.BertSentenceEmbeddings"):
        pytest.skip("Spark NLP jar not on classpath (no Maven access here); the ONNX export it loads is tested above")
    spec = dataclasses.replace(exported, engine="spark-nlp")
    df = spark.createDataFrame(list(enumerate(TEXTS[:3])), "id int, text string")
    got = {r.id: np.array(r.embedding) for r in embed(df, spec=spec).collect()}
    assert all(v.shape == (384,) for v in got.values())
    assert cos(got[0], got[1]) > cos(got[0], got[2])
    from leadlake.needs.sentiment import ANCHORS, LABELS
    from leadlake.text.classify import anchor_centroids

    centroids = anchor_centroids(spec, ANCHORS, LABELS)  # zero-shot anchors through Spark NLP itself
    assert centroids.shape == (3, 384) and np.allclose(np.linalg.norm(centroids, axis=1), 1.0)


def test_the_export_carries_what_spark_nlps_bert_loader_reads(exported):
    """Spark NLP's ONNX BERT (com.johnsnowlabs.ml.ai.Bert) feeds input_ids, attention_mask (id != 0) and
    all-zero token_type_ids, and fetches `pooler_output` for BertSentenceEmbeddings; loadSavedModel reads
    model.onnx and assets/vocab.txt. The vector it gets must be the sentence embedding."""
    from pathlib import Path

    import onnxruntime as ort
    from tokenizers import Tokenizer

    folder = Path(exported.export_dir)
    assert (folder / "model.onnx").is_file() and (folder / "assets" / "vocab.txt").is_file()
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    assert {"pooler_output", "last_hidden_state", "sentence_embedding"} <= {o.name for o in session.get_outputs()}
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tokenizer.encode_batch(["We need SSO before we sign.", "Too expensive"])
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64), "token_type_ids": np.zeros_like(ids)}
    pooled, sentence, hidden = session.run(["pooler_output", "sentence_embedding", "last_hidden_state"], feed)
    np.testing.assert_allclose(pooled, sentence, atol=1e-6)
    assert hidden.shape == (*ids.shape, pooled.shape[1])
    reference = load_encoder(dataclasses.replace(exported, engine="torch"))(["We need SSO before we sign.",
                                                                             "Too expensive"])
    assert min(cos(a, b) for a, b in zip(pooled, reference, strict=True)) > 0.999
