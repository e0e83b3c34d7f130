"""``discover-leads`` -> ``gold.discovered_leads``: which inbound messages are sales leads.

Every message of the sources in ``discovery.sources`` (emails, chats, social
posts, forms) gets a class (``discovery.classes``: sales_lead, support,
job_seeker, spam, out_of_office, other by default) and ``p_lead``, the
probability of the lead class, from a classifier over its sentence
embedding. Without labelled messages the classifier is zero-shot (a softmax
over the cosine similarity to each class's describing phrases); once a team
labels messages (``discovery.labels``, ``discover-leads --train``) a
logistic-regression head is trained on them, measured on held-out labels,
saved beside the other heads and used from then on. The same classifier as
sentiment and need categories (``leadlake.text.classify``), so all improve together.

Messages without text keep their row with a null class and reason
``no_text``: rows read = rows written, checked every run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.config import Conf
from leadlake.errors import ConfError, LeadlakeError
from leadlake.lakehouse import Lakehouse
from leadlake.ml.store import model_store
from leadlake.progress import stage
from leadlake.text.classify import (
    PROBS,
    TextClassifier,
    anchors_from_conf,
    head_parts,
    load_classifier,
    train_from_labels,
)
from leadlake.text.encoders import EncoderSpec
from leadlake.text.language import detect_language
from leadlake.text.routing import TextEncoders, as_encoders, per_model
from leadlake.text.sources import read_texts, sources_from_conf
from leadlake.text.store import stored_embeddings, update_text_embeddings

log = logging.getLogger("leadlake.leads")

DISCOVERED_TABLE = catalog.DISCOVERED_LEADS
CLASSES_KEY = "discovery.classes"
KIND = "discovery"


@dataclass(frozen=True)
class DiscoveryReport:
    read: int
    written: int
    without_text: int
    leads: int
    method: str

    def __str__(self) -> str:
        return (f"{self.read:,} inbound messages classified ({self.method}), {self.leads:,} flagged as sales leads, "
                f"{self.without_text:,} without text; {self.written:,} rows in {DISCOVERED_TABLE}")


def lead_class(conf: Conf) -> str:
    name = str(conf.get("discovery.lead_class"))
    if name not in anchors_from_conf(conf, CLASSES_KEY):
        raise ConfError(f"discovery.lead_class {name!r} is not one of discovery.classes")
    return name


def load_discovery(conf: Conf, spec: EncoderSpec) -> TextClassifier:
    """The trained head for these classes if there is one, else zero-shot."""
    return load_classifier(model_store(conf), head_parts(KIND, spec.model_id), spec,
                           anchors_from_conf(conf, CLASSES_KEY, multilingual=spec.multilingual))


def load_discovery_heads(conf: Conf, encoders: TextEncoders) -> dict[str, TextClassifier]:
    """The discovery classifier of each encoder (messages are read by the encoder of their language)."""
    return {s.model_id: load_discovery(conf, s) for s in encoders.specs}


def classify_messages(df: DataFrame, model: TextClassifier, spec: EncoderSpec, emb_col: str,
                      positive: str) -> DataFrame:
    """``df`` plus ``message_class``, ``class_confidence`` and ``p_lead`` (null where there is no embedding)."""
    out = model.classify(df, spec, embedding_col=emb_col, label="message_class", confidence="class_confidence",
                         keep_probs=True)
    p_lead = F.element_at(F.col(PROBS), model.labels.index(positive) + 1)
    return out.withColumn("p_lead", F.round(p_lead, 4)).drop(PROBS)


def train_discovery(lh: Lakehouse, spec: EncoderSpec) -> tuple[TextClassifier, dict[str, float]]:
    """Fit the head on the labelled messages outside the held-out share, measure it on the rest, save it."""
    model, metrics, _ = train_from_labels(
        lh, spec, labels_key="discovery.labels",
        anchors=anchors_from_conf(lh.conf, CLASSES_KEY, multilingual=spec.multilingual),
        label_col="message_class", parts=head_parts(KIND, spec.model_id), what="lead-discovery head")
    return model, metrics


def discover_leads(lh: Lakehouse, encoders: TextEncoders | EncoderSpec,
                   model: TextClassifier | Mapping[str, TextClassifier]) -> DiscoveryReport:
    """Classify every inbound message, each with the classifier of the encoder its language goes to.

    ``encoders``: the conf's routing (``text_encoders``) or one encoder for
    every message; ``model``: one classifier, or one per encoder's model id
    (``load_discovery_heads``).
    """
    conf = lh.conf
    routing = as_encoders(encoders)
    models = per_model(model, routing)
    method = "; ".join(sorted({m.method for m in models.values()}))
    sources = sources_from_conf(conf, "discovery.sources")
    positive = lead_class(conf)
    threshold = float(conf.get("discovery.threshold"))
    update_text_embeddings(lh, routing, [(s.table, s.text_col) for s in sources])
    texts = read_texts(lh, sources).withColumn("lang", detect_language(F.col("text"))).persist()

    def one(part: DataFrame, spec: EncoderSpec) -> DataFrame:
        head = models[spec.model_id]
        emb = stored_embeddings(lh, spec.model_id, "_emb")
        return classify_messages(part.join(emb, "text_hash", "left"), head, spec, "_emb", positive).withColumns(
            {"method": F.lit(head.method), "model_id": F.lit(spec.model_id)})

    try:
        with stage(log, f"classify inbound messages ({method})") as st:
            classified = routing.each(texts, F.col("lang"), one)
            rows = classified.select(
                "source", F.col("source_id").alias("message_id"), "lead_id", "customer_id", "ts",
                F.substring("text", 1, 280).alias("excerpt"), "message_class", "class_confidence", "p_lead",
                F.coalesce(F.col("p_lead") >= threshold, F.lit(False)).alias("is_lead"),
                F.when(F.col("text").isNull(), "no_text").alias("reason"),
                "method", "model_id", F.current_timestamp().alias("scored_at"))
            read = texts.count()
            st.rows = read
        with stage(log, f"upsert {DISCOVERED_TABLE}") as st:
            lh.upsert(rows, DISCOVERED_TABLE, ["source", "message_id"])
            written = lh.read(DISCOVERED_TABLE).join(texts.select("source", F.col("source_id").alias("message_id")),
                                                     ["source", "message_id"]).count()
            st.rows = written
        if written != read:
            raise LeadlakeError(f"{read:,} messages read but {written:,} in {DISCOVERED_TABLE}")
        stats = lh.read(DISCOVERED_TABLE).agg(F.sum(F.col("is_lead").cast("int")).alias("leads"),
                                              F.sum(F.col("reason").isNotNull().cast("int")).alias("empty")).first()
        return DiscoveryReport(read, written, int(stats["empty"] or 0), int(stats["leads"] or 0), method)
    finally:
        texts.unpersist()


def evaluate_discovery(discovered: DataFrame, truth: DataFrame, positive: str = "sales_lead") -> dict[str, float]:
    """Against (message_id, true_class): class accuracy; precision, recall and ROC-AUC of finding leads."""
    data = discovered.where(F.col("p_lead").isNotNull()).join(truth, "message_id").select(
        "message_class", "true_class", "is_lead", "p_lead",
        (F.col("true_class") == positive).cast("double").alias("label")).persist()
    try:
        row = data.agg(
            F.count(F.lit(1)).alias("n"),
            F.avg((F.col("message_class") == F.col("true_class")).cast("double")).alias("accuracy"),
            F.sum((F.col("is_lead") & (F.col("label") == 1)).cast("int")).alias("tp"),
            F.sum(F.col("is_lead").cast("int")).alias("flagged"), F.sum("label").alias("positives")).first()
        auc = BinaryClassificationEvaluator(labelCol="label", rawPredictionCol="p_lead").evaluate(
            data.withColumn("p_lead", F.col("p_lead").cast("double")))
        return {"n": float(row["n"]), "accuracy": float(row["accuracy"]),
                "lead_precision": row["tp"] / row["flagged"] if row["flagged"] else 0.0,
                "lead_recall": row["tp"] / row["positives"] if row["positives"] else 0.0, "lead_roc_auc": auc}
    finally:
        data.unpersist()
