"""``answer-questions`` -> ``gold.service_replies``: a cited draft reply, or a person, for every support question.

Questions come from the tables ``service.questions`` names and, with
``service.from_discovery``, from the inbound messages lead discovery
classed as support. Each gets the best help articles (:mod:`leadlake.generate.help_search`), a
reply drafted by the generator that cites the best one, and a decision to
escalate to a person, with every reason that holds:

- ``no_article``: the best article is not similar enough
  (``escalation.min_similarity``): a reply would answer another question;
- ``angry``: the customer uses words of anger (``escalation.angry_words``)
  or the tone classifier (zero-shot over the tone anchors in conf) is sure
  they are angry: a template will not calm them;
- ``value_at_risk``: the customer is in a value segment and churn risk
  conf names (from ``gold.customer_clv``, when it exists).

Rows are upserted on (source, question_id); the vectors come from
``silver.text_embeddings`` (texts embedded once, whichever stage asks).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.errors import ConfError
from leadlake.generate.help_search import RetrievalSettings, ranked, scored_pairs
from leadlake.generate.runner import generate_texts
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage
from leadlake.text import embed
from leadlake.text.classify import TextClassifier
from leadlake.text.encoders import EncoderSpec
from leadlake.text.pii import clean_text, text_key
from leadlake.text.sources import read_texts, sources_from_conf
from leadlake.text.store import stored_embeddings, update_text_embeddings

log = logging.getLogger("leadlake.generate")

TABLE = catalog.SERVICE_REPLIES
INSTRUCTION = ("Write a short reply from our support team to this customer question, citing the help article by "
               "its title and id. If the facts say escalate, say a person will follow up instead of solving it. "
               "Say only what the facts say.")
SUMMARY_SENTENCES = 2


@dataclass(frozen=True)
class Escalation:
    """``service.escalation`` in conf."""

    min_similarity: float
    angry_words: tuple[str, ...]
    angry_min: float
    value_segments: tuple[str, ...]
    churn_risk: tuple[str, ...]
    team: str


@dataclass(frozen=True)
class ServiceReport:
    questions: int
    answered: int
    escalated: dict[str, int]
    generation: str

    def __str__(self) -> str:
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(self.escalated.items())) or "none"
        return (f"service replies for {self.questions:,} questions: {self.answered:,} answered from the knowledge "
                f"base, escalated by reason: {reasons}\n  replies: {self.generation}")


def questions(lh: Lakehouse) -> DataFrame:
    """(source, question_id, question_key, customer_id, lead_id, ts, text, text_hash) of every question to answer."""
    frames = []
    tables = [s for s in sources_from_conf(lh.conf, "service.questions") if lh.exists(s.table)]
    if tables:
        frames.append(read_texts(lh, tables))
    if lh.conf.get("service.from_discovery") and lh.exists(catalog.DISCOVERED_LEADS):
        support = lh.read(catalog.DISCOVERED_LEADS, columns=["source", "message_id", "lead_id", "customer_id", "ts",
                                                             "excerpt", "message_class"]).where(
            (F.col("message_class") == "support") & F.col("excerpt").isNotNull())
        frames.append(support.select("source", F.col("message_id").alias("source_id"), "lead_id", "customer_id", "ts",
                                     clean_text(F.col("excerpt")).alias("text")).withColumn(
            "text_hash", text_key(F.col("text"))))
    if not frames:
        raise ConfError("answer-questions found no questions: none of the tables under service.questions exists "
                        "and lead discovery has not run (service.from_discovery)")
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f, allowMissingColumns=True)
    return out.where(F.col("text").isNotNull()).select(
        "source", F.col("source_id").alias("question_id"),
        F.concat_ws(":", "source", "source_id").alias("question_key"), "customer_id", "lead_id", "ts", "text",
        "text_hash")


def knowledge_base(lh: Lakehouse, spec: EncoderSpec) -> DataFrame:
    """(article_id, title, body, text, embedding): each article's title and body, embedded together."""
    kb = lh.conf.get("service.kb")
    if not lh.exists(kb["table"]):
        raise ConfError(f"answer-questions needs the knowledge base {kb['table']} (service.kb.table)")
    articles = lh.read(kb["table"]).select(
        F.col(kb["id"]).cast("string").alias("article_id"), F.col(kb["title"]).cast("string").alias("title"),
        F.col(kb["body"]).cast("string").alias("body"))
    articles = articles.withColumn("text", F.concat_ws(". ", "title", "body"))
    return embed(articles, "text", "embedding", spec=spec)


def _summary(body) -> F.Column:
    sentences = F.split(F.regexp_replace(body, r"\s+", " "), r"(?<=[.!?])\s")
    return F.array_join(F.slice(sentences, 1, SUMMARY_SENTENCES), " ")


def angry_words(text: F.Column, words: tuple[str, ...]) -> F.Column:
    """Whether ``text`` holds any of ``words`` (whole words or phrases, any case)."""
    if not words:
        return F.lit(False)
    return F.coalesce(text.rlike(r"(?i)\b(" + "|".join(re.escape(w) for w in words) + r")\b"), F.lit(False))


def tone_classifier(lh: Lakehouse, spec: EncoderSpec) -> TextClassifier:
    anchors = {str(k): [str(x) for x in v] for k, v in (lh.conf.get("service.escalation.tone") or {}).items()}
    if set(anchors) != {"angry", "calm"}:
        raise ConfError("service.escalation.tone needs anchor phrases for exactly two labels: angry and calm")
    return TextClassifier(spec.model_id, anchors)


def answer_questions(lh: Lakehouse, spec: EncoderSpec) -> ServiceReport:
    conf = lh.conf
    settings = conf.section("service.retrieval", RetrievalSettings)
    esc = conf.section("service.escalation", Escalation)
    asked = questions(lh)
    sources = sorted({(s.table, s.text_col) for s in sources_from_conf(conf, "service.questions")
                      if lh.exists(s.table)})
    if sources:
        update_text_embeddings(lh, spec, sources)
    vectors = stored_embeddings(lh, spec.model_id) if lh.exists(catalog.TEXT_EMBEDDINGS) \
        else None
    asked = asked.join(vectors, "text_hash", "left") if vectors is not None else asked.withColumn(
        "embedding", F.lit(None).cast("array<float>"))
    # Texts no stage embedded yet (discovered messages' excerpts) are embedded here, once per run.
    missing = asked.where(F.col("embedding").isNull()).drop("embedding")
    asked = asked.where(F.col("embedding").isNotNull()).unionByName(embed(missing, "text", "embedding", spec=spec))
    asked = asked.persist()
    articles = knowledge_base(lh, spec).persist()
    top = people = None
    try:
        with stage(log, "find the best help articles for every question") as st:
            st.rows = n = asked.count()
            pairs = scored_pairs(asked.select("question_key", "text", "embedding"),
                                 articles.select("article_id", "text", "embedding"), settings)
            # best and cited both read the ranking: scored once, kept (k rows per question).
            top = ranked(pairs, "hybrid", settings.k).join(articles.select("article_id", "title", "body"),
                                                           "article_id").persist()
            best = top.where("rank = 1").select("question_key", "article_id", F.col("title").alias("article_title"),
                                                _summary(F.col("body")).alias("article_summary"),
                                                F.round("similarity", 4).alias("similarity"),
                                                F.round("keyword", 4).alias("keyword_score"),
                                                F.round("hybrid", 4).alias("score"))
            ordered = F.array_sort(F.collect_list(F.struct("rank", "article_id", "title")))
            also = F.transform(F.slice(ordered, 2, settings.k), lambda a: F.format_string('"%s" (%s)', a["title"],
                                                                                          a["article_id"]))
            cited = top.groupBy("question_key").agg(F.transform(ordered, lambda a: a["article_id"]).alias(
                "article_ids"), F.when(F.size(also) > 0, F.concat(F.lit("See also "), F.array_join(also, ", "),
                                                                  F.lit("."))).otherwise("").alias("see_also"))
        tone = tone_classifier(lh, spec)
        toned = tone.classify(asked, spec, embedding_col="embedding", keep_probs=True)
        p_angry = F.col("_label_probs")[tone.labels.index("angry")]
        people = toned.select("source", "question_id", "question_key", "customer_id", "lead_id", "ts", "text",
                              F.round(p_angry, 4).alias("p_angry")).join(best, "question_key", "left").join(
            cited, "question_key", "left")
        if lh.exists(catalog.CUSTOMER_CLV):
            clv = lh.read(catalog.CUSTOMER_CLV, columns=["customer_id", "value_segment", "churn_risk"])
            people = people.join(clv, "customer_id", "left")
        else:
            people = people.withColumn("value_segment", F.lit(None).cast("string")).withColumn(
                "churn_risk", F.lit(None).cast("string"))
        no_article = F.coalesce(F.col("similarity"), F.lit(0.0)) < esc.min_similarity
        angry = (F.col("p_angry") >= esc.angry_min) | angry_words(F.col("text"), esc.angry_words)
        at_risk = F.coalesce(F.col("value_segment").isin(list(esc.value_segments))
                             & F.col("churn_risk").isin(list(esc.churn_risk)), F.lit(False))
        reasons = F.filter(F.array(F.when(no_article, "no_article"), F.when(angry, "angry"),
                                   F.when(at_risk, "value_at_risk")), lambda r: r.isNotNull())
        people = people.withColumn("escalate_reasons", reasons).withColumn(
            "escalate", F.size("escalate_reasons") > 0).persist()
        templates = conf.get("service.templates")
        template = (F.when(~F.col("escalate"), F.lit(templates["answer"]))
                    .when(no_article, F.lit(templates["escalate"]))
                    .otherwise(F.lit(templates["escalate_with_article"])))
        facts = F.to_json(F.struct(
            F.substring("text", 1, 300).alias("question"), "article_id", "article_title", "article_summary",
            F.coalesce("see_also", F.lit("")).alias("see_also"),
            "escalate", F.array_join("escalate_reasons", ", ").alias("escalate_reasons"),
            F.lit(esc.team).alias("team")))
        requests = people.select(F.col("question_key").alias("key"), F.lit(INSTRUCTION).alias("instruction"),
                                 facts.alias("facts"), template.alias("template"))
        replies, report = generate_texts(lh, requests)
        rows = people.join(replies.select(F.col("key").alias("question_key"), F.col("text").alias("reply"),
                                          "generator", "grounded", F.col("reason").alias("reply_note")),
                           "question_key", "left").select(
            "source", "question_id", "customer_id", "lead_id", "ts", F.substring("text", 1, 500).alias("question"),
            F.when(~no_article, F.col("article_id")).alias("article_id"), "article_title",
            F.coalesce("article_ids", F.array().cast("array<string>")).alias("article_ids"), "similarity",
            "keyword_score", "score", "p_angry", "escalate", "escalate_reasons", "reply", "generator", "grounded",
            "reply_note", F.lit(spec.model_id).alias("model_id"), F.current_timestamp().alias("answered_at"))
        with stage(log, f"upsert {TABLE}") as st:
            lh.upsert(rows, TABLE, ["source", "question_id"])
            st.rows = lh.row_count(TABLE)
        counts = people.select(F.explode("escalate_reasons").alias("r")).groupBy("r").count().collect()
        answered = people.where(~F.col("escalate")).count()
        return ServiceReport(n, answered, {r["r"]: int(r["count"]) for r in counts}, str(report))
    finally:
        for frame in (people, top, articles, asked):
            if frame is not None:
                frame.unpersist()


def escalation_agreement(replies: DataFrame, truth: DataFrame) -> dict[str, float]:
    """How often the escalation decision agrees with the truth (question_id, escalate), on the reasons the truth
    speaks to (no article, anger); escalations for value at risk are a business rule and counted apart."""
    decided = replies.select("question_id", (F.array_contains("escalate_reasons", "no_article")
                                             | F.array_contains("escalate_reasons", "angry")).alias("predicted"),
                             F.array_contains("escalate_reasons", "value_at_risk").alias("value"))
    joined = decided.join(truth.select("question_id", F.col("escalate").alias("actual")), "question_id")
    row = joined.agg(
        F.count(F.lit(1)).alias("n"), F.avg((F.col("predicted") == F.col("actual")).cast("double")).alias("agree"),
        F.sum((F.col("predicted") & F.col("actual")).cast("int")).alias("tp"),
        F.sum(F.col("predicted").cast("int")).alias("pp"), F.sum(F.col("actual").cast("int")).alias("ap"),
        F.sum(F.col("value").cast("int")).alias("value")).first()
    return {"questions": float(row["n"] or 0), "agreement": float(row["agree"] or 0.0),
            "precision": (row["tp"] or 0) / max(1, row["pp"] or 0), "recall": (row["tp"] or 0) / max(1, row["ap"] or 0),
            "value_at_risk": float(row["value"] or 0)}

