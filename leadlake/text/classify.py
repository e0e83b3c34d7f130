"""The one classifier over sentence embeddings: sentiment, need categories and lead discovery use it.

Two ways to turn a vector into label probabilities, chosen by what the user
has: a Spark ML logistic-regression head when labelled examples exist, else
zero-shot, a softmax over the cosine similarity of the text to a few anchor
phrases per label (the labels' own descriptions, from code or conf). Both are
pure column expressions or Spark ML transforms, so they run wherever the
DataFrame lives.

Every head trained here is measured the same way: on the texts whose hash
falls in the held-out share (``is_held_out``), so a text is always on the
same side however often a head is retrained, and a head's accuracy is never
measured on text it was fitted on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from leadlake.config import Conf
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.ml.store import ModelStore, as_store
from leadlake.progress import stage
from leadlake.text import embed
from leadlake.text.encoders import EncoderSpec, load_encoder

log = logging.getLogger("leadlake.text")

FEATURES = "_head_features"
PROBS = "_label_probs"
LABELS_FILE = "labels.json"
_EMB = "_classify_embedding"


def anchor_centroids(spec: EncoderSpec, anchors: Mapping[str, Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """One unit vector per label: the mean embedding of its anchor phrases."""
    missing = [label for label in labels if not anchors.get(label)]
    if missing:
        raise ValueError(f"no anchor phrases for label(s) {', '.join(missing)}")
    return _centroids(spec, tuple((label, tuple(anchors[label])) for label in labels)).copy()


@functools.lru_cache(maxsize=32)
def _centroids(spec: EncoderSpec, phrases: tuple[tuple[str, tuple[str, ...]], ...]) -> np.ndarray:
    """Kept per process: each text stage and each classifier of a run asks again for the same anchors, and
    embedding them costs the driver an encoder load and seconds of model time (E5: ~30 phrases/s)."""
    encode = _spark_nlp_encoder(spec) if spec.engine == "spark-nlp" else load_encoder(spec)
    centroids = np.stack([encode(list(texts)).mean(axis=0) for _, texts in phrases])
    return centroids / np.linalg.norm(centroids, axis=1, keepdims=True)


def _spark_nlp_encoder(spec: EncoderSpec):
    """Anchors embedded by Spark NLP itself, so centroids and texts come from the same engine.

    Spark NLP runs in the JVM, not in a Python worker, so the anchors (a few
    dozen phrases) go through a small DataFrame on the active session.
    """
    from pyspark.sql import SparkSession

    def encode(texts: list[str]) -> np.ndarray:
        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError("text.engine spark-nlp embeds anchor phrases on the active SparkSession; none is active")
        df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, text string")
        rows = embed(df, "text", "_v", spec=spec).orderBy("i").select("_v").collect()
        return np.asarray([r["_v"] for r in rows], dtype=np.float32)

    return encode


def zero_shot_probs(emb: Column, centroids: np.ndarray, temperature: float = 20.0) -> Column:
    """Softmax over cosine similarities; embeddings are already unit length, so a dot product is the cosine.

    A vectorised pandas UDF (one matrix product per Arrow batch): the same
    sum written as Spark higher-order functions over 384 literals per label
    is interpreted element by element and ran 11-18x slower.
    """
    matrix = np.asarray(centroids, dtype=np.float64) * float(temperature)

    @pandas_udf(T.ArrayType(T.DoubleType()))
    def softmax_of_cosines(vectors: pd.Series) -> pd.Series:
        present = np.flatnonzero(vectors.notna().to_numpy())
        out: list[np.ndarray | None] = [None] * len(vectors)
        if len(present):
            logits = np.stack(vectors.iloc[present].to_numpy()).astype(np.float64) @ matrix.T
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            for i, row in zip(present, probs, strict=True):
                out[i] = row
        return pd.Series(out, dtype=object)

    return softmax_of_cosines(emb)


def with_label_probs(df: DataFrame, emb_col: str, *, head: LogisticRegressionModel | None = None,
                     centroids: np.ndarray | None = None, temperature: float = 20.0) -> DataFrame:
    """``df`` plus ``_label_probs`` (array<double>, one per label; null where the embedding is null)."""
    has = F.col(emb_col).isNotNull()
    if head is not None:
        zeros = array_to_vector(F.array_repeat(F.lit(0.0), head.numFeatures))
        scored = head.copy().setFeaturesCol(FEATURES).setProbabilityCol("_p").setPredictionCol("_pred") \
            .setRawPredictionCol("_raw").transform(
                df.withColumn(FEATURES, F.when(has, array_to_vector(emb_col)).otherwise(zeros)))
        return scored.withColumn(PROBS, F.when(has, vector_to_array("_p"))).drop(FEATURES, "_raw", "_pred", "_p")
    if centroids is None:
        raise ValueError("a head or anchor centroids are needed")
    return df.withColumn(PROBS, F.when(has, zero_shot_probs(F.col(emb_col), centroids, temperature)))


def best_label(probs: Column, labels: Sequence[str]) -> tuple[Column, Column]:
    """(label with the highest probability, that probability)."""
    top = F.array_max(probs)
    position = F.array_position(probs, top).cast("int")
    label = F.when(probs.isNotNull(), F.element_at(F.array(*[F.lit(x) for x in labels]), position))
    return label, top


def label_index(label: Column, labels: Sequence[str]) -> Column:
    out = F.lit(None).cast("double")
    for i, name in enumerate(labels):
        out = F.when(label == name, float(i)).otherwise(out)
    return out


def _fit_head(embedded: DataFrame, emb_col: str, label_col: str, labels: Sequence[str], *,
              reg: float = 0.01, balance_classes: bool = False) -> LogisticRegressionModel:
    """Multinomial logistic regression from embedding to label index (rows with other labels are ignored).

    With ``balance_classes`` every label weighs the same in total, so a
    corpus with twice as many complaints as compliments does not teach the
    head that text is negative until proven otherwise.
    """
    data = (
        embedded.where(F.col(emb_col).isNotNull() & F.col(label_col).isin(*labels))
        .select(array_to_vector(emb_col).alias(FEATURES), label_index(F.col(label_col), labels).alias("label"))
        .persist()
    )
    try:
        counts = {r["label"]: r["count"] for r in data.groupBy("label").count().collect()}
        if len(counts) < 2:
            raise ValueError(f"labelled examples cover fewer than two of the labels {', '.join(labels)}")
        lr = LogisticRegression(featuresCol=FEATURES, labelCol="label", family="multinomial", regParam=reg,
                                elasticNetParam=0.0, maxIter=100)
        if balance_classes:
            total = sum(counts.values())
            weight = F.lit(0.0)
            for label, n in counts.items():
                weight = F.when(F.col("label") == label, total / (len(counts) * n)).otherwise(weight)
            return lr.setWeightCol("_weight").fit(data.withColumn("_weight", weight))
        return lr.fit(data)
    finally:
        data.unpersist()


def head_parts(kind: str, model_id: str) -> tuple[str, str]:
    """Where, under a model store, the head of one kind (sentiment, needs, discovery) for one encoder lives."""
    return kind, model_id.replace("/", "__")


def is_held_out(text: Column, share: float = 0.2) -> Column:
    """True for the texts a head is measured on and never fitted on: a fixed share, chosen by the text's hash."""
    return F.abs(F.xxhash64(text)) % 1000 < round(share * 1000)


@dataclass(frozen=True)
class TextClassifier:
    """Labels with their anchor phrases and, once trained, a head, for one encoder.

    Below ``min_confidence`` a text gets the ``fallback`` label instead of
    its best guess (need categories report weak guesses as ``other``).
    """

    model_id: str
    anchors: Mapping[str, Sequence[str]] = field(hash=False)
    head: LogisticRegressionModel | None = field(default=None, hash=False)
    min_confidence: float = 0.0
    fallback: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.anchors)

    @property
    def method(self) -> str:
        return "supervised" if self.head is not None else "zero-shot"

    def save(self, models: ModelStore | str | Path, *parts: str) -> str:
        """The head and its labels at ``parts`` of the store; a zero-shot classifier has nothing to save."""
        if self.head is None:
            raise ValueError("a zero-shot classifier has nothing to save")
        store = as_store(models)
        uri = store.save(self.head, *parts)
        store.write_json(list(self.labels), *parts, LABELS_FILE)
        return uri

    def probabilities(self, df: DataFrame, emb_col: str, spec: EncoderSpec) -> DataFrame:
        """``df`` plus ``_label_probs``, one per label in ``labels`` order (null where the embedding is null)."""
        centroids = None if self.head is not None else anchor_centroids(spec, self.anchors, self.labels)
        return with_label_probs(df, emb_col, head=self.head, centroids=centroids,
                                temperature=spec.zero_shot_temperature)

    def classify(self, df: DataFrame, spec: EncoderSpec, *, text_col: str = "text", embedding_col: str | None = None,
                 label: str = "label", confidence: str = "confidence", keep_probs: bool = False) -> DataFrame:
        """``df`` with ``label`` and ``confidence`` (null for empty text); embeds ``text_col`` unless given vectors."""
        src = df if embedding_col else embed(df, text_col, _EMB, spec=spec)
        emb = embedding_col or _EMB
        best, top = best_label(F.col(PROBS), self.labels)
        out = self.probabilities(src, emb, spec).withColumn(confidence, F.round(top, 4))
        if self.fallback is not None:
            best = F.when(F.col(confidence) >= self.min_confidence, best) \
                .when(F.col(emb).isNotNull(), F.lit(self.fallback))
        out = out.withColumn(label, best)
        return out.drop(*([] if keep_probs else [PROBS]), *([] if embedding_col else [_EMB]))


def fit_classifier(labelled: DataFrame, spec: EncoderSpec, anchors: Mapping[str, Sequence[str]], *,
                   text_col: str = "text", label_col: str = "label", reg: float = 0.01,
                   fallback: str | None = None, embedding_col: str | None = None,
                   balance_classes: bool = False) -> TextClassifier:
    """A head from labelled texts; labels outside ``anchors`` are ignored.

    A trained head keeps its best guess however unsure (``min_confidence``
    0): the cut-off exists for zero-shot similarities, not for probabilities
    the head learned from labels.
    """
    labels = tuple(anchors)
    rows = labelled.where(F.col(label_col).isin(*labels))
    embedded = rows if embedding_col else embed(rows, text_col, _EMB, spec=spec)
    head = _fit_head(embedded, embedding_col or _EMB, label_col, labels, reg=reg, balance_classes=balance_classes)
    return TextClassifier(spec.model_id, anchors, head, 0.0, fallback)


def load_classifier(store: ModelStore, parts: Sequence[str], spec: EncoderSpec,
                    anchors: Mapping[str, Sequence[str]], *, min_confidence: float = 0.0,
                    fallback: str | None = None) -> TextClassifier:
    """The head saved at ``parts`` if it was trained for these labels, else zero-shot.

    ``min_confidence`` applies to zero-shot guesses only, as in ``fit_classifier``.

    A head saved without its labels (sentiment heads of earlier versions) is
    used when its class count matches; labels in another order or another
    taxonomy fall back to zero-shot with a warning, never to wrong names.
    """
    zero_shot = TextClassifier(spec.model_id, anchors, None, min_confidence, fallback)
    if store.exists(*parts, LABELS_FILE):
        saved = store.read_json(*parts, LABELS_FILE)
        if saved != list(anchors):
            log.warning("the head at %s was trained for labels %s, conf now has %s; using zero-shot",
                        store.path(*parts), saved, list(anchors))
            return zero_shot
    elif not store.exists(*parts, "metadata"):
        log.warning("no trained head at %s; using zero-shot anchors (less accurate)", store.path(*parts))
        return zero_shot
    head = store.load(LogisticRegressionModel, *parts)
    if head.numClasses != len(anchors):
        log.warning("the head at %s has %d classes, not %d; using zero-shot", store.path(*parts), head.numClasses,
                    len(anchors))
        return zero_shot
    return TextClassifier(spec.model_id, anchors, head, 0.0, fallback)


def confusion_metrics(pairs: Sequence[tuple[str, str, int]], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 from (truth, predicted, count) triples."""
    total = sum(c for *_, c in pairs)
    correct = sum(c for t, p, c in pairs if t == p)
    f1s = []
    for label in labels:
        tp = sum(c for t, p, c in pairs if t == label and p == label)
        fp = sum(c for t, p, c in pairs if t != label and p == label)
        fn = sum(c for t, p, c in pairs if t == label and p != label)
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"n": float(total), "accuracy": correct / total if total else 0.0,
            "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0}


def evaluate_classifier(labelled: DataFrame, model: TextClassifier, spec: EncoderSpec, *, text_col: str = "text",
                        label_col: str = "label") -> dict[str, float]:
    """Accuracy and macro-F1 against labelled texts."""
    truth = labelled.select(F.col(text_col).alias("_text"), F.col(label_col).alias("_truth"))
    scored = model.classify(truth, spec, text_col="_text", label="_pred").where(F.col("_pred").isNotNull())
    pairs = [(r["_truth"], r["_pred"], r["count"]) for r in scored.groupBy("_truth", "_pred").count().collect()]
    return confusion_metrics(pairs, model.labels)


def anchors_from_conf(conf: Conf, key: str, *, multilingual: bool = False) -> dict[str, list[str]]:
    """Labels -> describing phrases from a conf section, checked (at least two labels, each with a phrase).

    ``multilingual``: for the multilingual encoder, also the phrases under
    ``<parent>.multilingual_phrases`` (e.g. ``needs.multilingual_phrases`` for
    ``needs.categories``), in the languages customers write; the English
    encoder reads only the English ones.
    """
    categories = conf.get(key) or {}
    if not isinstance(categories, Mapping) or len(categories) < 2:
        raise ConfError(f"{key} must map at least two labels to describing phrases")
    out = {}
    for label, phrases in categories.items():
        if isinstance(phrases, str):
            phrases = [phrases]
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise ConfError(f"{key}.{label} needs at least one describing phrase")
        out[str(label)] = list(phrases)
    extra_key = key.rsplit(".", 1)[0] + ".multilingual_phrases"
    extra = conf.get(extra_key) or {}
    unknown = sorted(set(extra) - set(out))
    if unknown:
        raise ConfError(f"{extra_key} has label(s) {', '.join(unknown)} that {key} does not ({', '.join(out)})")
    if multilingual:
        for label, phrases in extra.items():
            out[label] += [phrases] if isinstance(phrases, str) else [str(p) for p in phrases or ()]
    return out


def train_from_labels(lh: Lakehouse, spec: EncoderSpec, *, labels_key: str, anchors: Mapping[str, Sequence[str]],
                      label_col: str, parts: Sequence[str], what: str,
                      fallback: str | None = None) -> tuple[TextClassifier, dict[str, float], str]:
    """Fit a head on the labels table named by ``labels_key`` ({table, text, label}); measure and save it.

    Returns the classifier, its metrics on the held-out texts and where it was
    saved in the lakehouse's model store.
    """
    labels = lh.conf.get(labels_key) or {}
    table = labels.get("table") if isinstance(labels, Mapping) else None
    if not table:
        raise ConfError(f"training the {what} needs {labels_key}: {{table: ..., text: ..., label: ...}} in the conf")
    # A labels table is the user's own: its column names default to the ones leadlake writes.
    text_col, source_label = str(labels.get("text") or "text"), str(labels.get("label") or label_col)
    data = lh.read(table, columns=[text_col, source_label]).select(
        F.col(text_col).alias("text"), F.col(source_label).alias(label_col))
    held = is_held_out(F.col("text"))
    train, held_out = data.where(~held), data.where(held)
    with stage(log, f"train the {what} on {table}") as st:
        model = fit_classifier(train, spec, anchors, label_col=label_col, fallback=fallback)
        st.rows = train.count()
    metrics = evaluate_classifier(held_out, model, spec, label_col=label_col)
    return model, metrics, model.save(lh.models, *parts)
