"""The one classifier over sentence embeddings: sentiment, need categories and lead discovery use it.

Two ways to turn a vector into label probabilities, chosen by what the user
has: a logistic-regression head when labelled examples exist, else zero-shot,
a softmax over the cosine similarity of the text to a few anchor phrases per
label (the labels' own descriptions, from code or conf). Both are the same
computation, a softmax over a matrix product (``Head``), in one vectorised
UDF.

A head is fitted on the driver (``fit_head``): the labelled vectors of a text
head are a few thousand rows of a few hundred numbers, which one L-BFGS run
in numpy fits in about a second, while Spark ML's LogisticRegression started
a Spark job per iteration (78 of a small pipeline run's jobs). Above
``MAX_FIT_ROWS`` labelled rows a fixed hash sample is fitted on, so the
driver's memory stays bounded whatever the labels table holds.

Every head trained here is measured the same way: on the texts whose hash
falls in the held-out share (``is_held_out``), so a text is always on the
same side however often a head is retrained, and a head's accuracy is never
measured on text it was fitted on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.ml.classification import LogisticRegressionModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf
from scipy.optimize import minimize

from leadlake.config import Conf
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.ml.store import ModelStore, as_store
from leadlake.progress import stage
from leadlake.text import embed
from leadlake.text.encoders import EncoderSpec, load_encoder
from leadlake.text.ngrams import NGRAMS_FILE, NgramHead, blended_probs

log = logging.getLogger("leadlake.text")

PROBS = "_label_probs"
LABELS_FILE = "labels.json"
HEAD_FILE = "head.json"
# Labelled rows a head is fitted on at most (~150 MB of float32 vectors at 384 dimensions); above it, a hash sample.
MAX_FIT_ROWS = 100_000
_SAMPLE_SALT = 7919
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
    encode = _driver_encoder(spec)
    centroids = np.stack([encode(list(texts)).mean(axis=0) for _, texts in phrases])
    return centroids / np.linalg.norm(centroids, axis=1, keepdims=True)


def driver_vectors(spec: EncoderSpec, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of a few hundred texts on the driver, by the same engine the executors embed with: a head
    fitted on them reads the vectors ``embed`` writes."""
    vectors = np.asarray(_driver_encoder(spec)(list(texts)), dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _driver_encoder(spec: EncoderSpec):
    """Spark NLP embeds in the JVM, so the driver asks it through the session; every other engine loads here."""
    return _spark_nlp_encoder(spec) if spec.engine == "spark-nlp" else load_encoder(spec)


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


@dataclass(frozen=True, eq=False)
class Head:
    """Label probabilities as ``softmax(weights @ v + bias)`` for a unit embedding ``v``.

    A trained logistic-regression head and a zero-shot classifier (anchor
    centroids times a temperature, no bias) are both this, so both are
    scored by one UDF and saved as a few kilobytes of JSON that any store
    (local, object storage) holds without Spark's model writers.
    """

    weights: np.ndarray
    bias: np.ndarray

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors.astype(np.float64) @ self.weights.T + self.bias
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return probs / probs.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, list]:
        return {"weights": self.weights.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, list]) -> Head:
        return cls(np.asarray(data["weights"], dtype=np.float64), np.asarray(data["bias"], dtype=np.float64))

    @classmethod
    def zero_shot(cls, centroids: np.ndarray, temperature: float) -> Head:
        """Softmax over cosine similarities: embeddings are unit length, so a dot product is the cosine."""
        matrix = np.asarray(centroids, dtype=np.float64) * float(temperature)
        return cls(matrix, np.zeros(len(matrix)))

    @classmethod
    def from_spark(cls, model: LogisticRegressionModel) -> Head:
        """A head saved by earlier versions (Spark ML's multinomial LogisticRegressionModel)."""
        return cls(model.coefficientMatrix.toArray(), model.interceptVector.toArray())


def head_probs(emb: Column, head: Head) -> Column:
    """Label probabilities (array<double>) of each vector; null where the vector is null.

    A vectorised pandas UDF (one matrix product per Arrow batch): the same
    sum written as Spark higher-order functions over 384 literals per label
    is interpreted element by element and ran 11-18x slower.
    """

    @pandas_udf(T.ArrayType(T.DoubleType()))
    def softmax_of_scores(vectors: pd.Series) -> pd.Series:
        present = np.flatnonzero(vectors.notna().to_numpy())
        out: list[np.ndarray | None] = [None] * len(vectors)
        if len(present):
            probs = head.probabilities(np.stack(vectors.iloc[present].to_numpy()))
            for i, row in zip(present, probs, strict=True):
                out[i] = row
        return pd.Series(out, dtype=object)

    return softmax_of_scores(emb)


def zero_shot_probs(emb: Column, centroids: np.ndarray, temperature: float = 20.0) -> Column:
    """Softmax over the cosine similarity of each vector to each label's centroid."""
    return head_probs(emb, Head.zero_shot(centroids, temperature))


def with_label_probs(df: DataFrame, emb_col: str, *, head: Head | None = None,
                     centroids: np.ndarray | None = None, temperature: float = 20.0) -> DataFrame:
    """``df`` plus ``_label_probs`` (array<double>, one per label; null where the embedding is null)."""
    if head is None:
        if centroids is None:
            raise ValueError("a head or anchor centroids are needed")
        head = Head.zero_shot(centroids, temperature)
    return df.withColumn(PROBS, F.when(F.col(emb_col).isNotNull(), head_probs(F.col(emb_col), head)))


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


def fit_head(x: np.ndarray, y: np.ndarray, labels: Sequence[str], *, reg: float = 0.01,
             balance_classes: bool = False) -> Head:
    """Multinomial logistic regression on the driver, with the objective Spark ML's LogisticRegression has.

    Weighted mean cross-entropy plus ``reg / 2`` times the squared weights
    of standardised features (Spark's default ``standardization``), so a
    ``reg`` tuned for the Spark head means the same here; the intercepts are
    not penalised. Fitted on centred, scaled features for conditioning, and
    folded back to raw-vector weights, so scoring is one matrix product.

    With ``balance_classes`` every label weighs the same in total, so a
    corpus with twice as many complaints as compliments does not teach the
    head that text is negative until proven otherwise.
    """
    n_labels = len(labels)
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError(f"labelled examples cover fewer than two of the labels {', '.join(labels)}")
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    w = len(y) / (len(present) * counts[y]) if balance_classes else np.ones(len(y))
    w = w / w.sum()
    # Spark standardises by the weighted, unbiased standard deviation of each feature.
    mean = w @ x
    scale = np.sqrt((w @ (x - mean) ** 2) / (1.0 - (w ** 2).sum()))
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    n, d = z.shape
    onehot = np.zeros((n, n_labels))
    onehot[np.arange(n), y] = 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[: n_labels * d].reshape(n_labels, d), theta[n_labels * d:]
        logits = z @ weights.T + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(w * (onehot * log_p).sum(axis=1)).sum() + 0.5 * reg * (weights ** 2).sum()
        residual = (np.exp(log_p) - onehot) * w[:, None]
        grad = np.concatenate([(residual.T @ z + reg * weights).ravel(), residual.sum(axis=0)])
        return value, grad

    theta = minimize(loss, np.zeros(n_labels * (d + 1)), jac=True, method="L-BFGS-B",
                     options={"maxiter": 500, "gtol": 1e-6}).x
    weights, bias = theta[: n_labels * d].reshape(n_labels, d), theta[n_labels * d:]
    raw = weights / scale
    return Head(raw, bias - raw @ mean)


def _fit_head(embedded: DataFrame, emb_col: str, label_col: str, labels: Sequence[str], *,
              reg: float = 0.01, balance_classes: bool = False) -> Head:
    """The labelled vectors (rows with other labels ignored; above ``MAX_FIT_ROWS`` a hash sample of them)
    brought to the driver, and a head fitted on them. Persisted for the count and the fetch: the rows may be
    embedded on the way (a labels table's texts), which must happen once."""
    data = embedded.where(F.col(emb_col).isNotNull() & F.col(label_col).isin(*labels)) \
        .select(F.col(emb_col).alias("_v"), label_index(F.col(label_col), labels).cast("int").alias("_y")).persist()
    try:
        keep = F.abs(F.xxhash64("_v", F.lit(_SAMPLE_SALT))) % 1_000_000 < F.lit(_keep_per_million(data))
        rows = data.where(keep).toPandas()
    finally:
        data.unpersist()
    if len(rows) == 0:
        raise ValueError(f"no labelled examples with a text for the labels {', '.join(labels)}")
    x = np.stack(rows["_v"].to_numpy()).astype(np.float64)
    return fit_head(x, rows["_y"].to_numpy(), labels, reg=reg, balance_classes=balance_classes)


def _keep_per_million(data: DataFrame) -> int:
    """All rows (a million per million) up to ``MAX_FIT_ROWS``; else the share that keeps about that many."""
    n = data.count()
    if n <= MAX_FIT_ROWS:
        return 1_000_000
    log.info("fitting the head on a hash sample of about %s of %s labelled texts", f"{MAX_FIT_ROWS:,}", f"{n:,}")
    return int(1_000_000 * MAX_FIT_ROWS / n)


def head_saved(store: ModelStore, parts: Sequence[str]) -> bool:
    """A trained head is at ``parts``: ours (``head.json``) or one Spark ML wrote (earlier versions)."""
    return store.exists(*parts, HEAD_FILE) or store.exists(*parts, "metadata")


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
    ``fit_on_use`` stands for a head that is fitted the first time a text is
    classified (the need head on the shipped examples): a run whose Chinese
    branch is empty never pays for the multilingual one. ``ngrams`` adds the
    view of a character n-gram model to the head's, for the texts of its
    language (``leadlake.text.ngrams``: Chinese sentiment).
    """

    model_id: str
    anchors: Mapping[str, Sequence[str]] = field(hash=False)
    head: Head | None = field(default=None, hash=False)
    min_confidence: float = 0.0
    fallback: str | None = None
    fit_on_use: Callable[[], Head] | None = field(default=None, hash=False, compare=False)
    ngrams: NgramHead | None = field(default=None, hash=False, compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.anchors)

    @property
    def method(self) -> str:
        return "supervised" if self.head is not None or self.fit_on_use is not None else "zero-shot"

    def fitted_head(self) -> Head | None:
        return self.head if self.head is not None or self.fit_on_use is None else self.fit_on_use()

    def save(self, models: ModelStore | str | Path, *parts: str) -> str:
        """The head and its labels at ``parts`` of the store; a zero-shot classifier has nothing to save."""
        head = self.fitted_head()
        if head is None:
            raise ValueError("a zero-shot classifier has nothing to save")
        store = as_store(models)
        store.write_json(head.to_json(), *parts, HEAD_FILE)
        store.write_json(list(self.labels), *parts, LABELS_FILE)
        # Written also when there is none, so that a retrained head never meets the n-grams of an earlier one.
        store.write_json(self.ngrams.to_json() if self.ngrams is not None else None, *parts, NGRAMS_FILE)
        return store.path(*parts)

    def probabilities(self, df: DataFrame, emb_col: str, spec: EncoderSpec) -> DataFrame:
        """``df`` plus ``_label_probs``, one per label in ``labels`` order (null where the embedding is null)."""
        head = self.fitted_head()
        centroids = None if head is not None else anchor_centroids(spec, self.anchors, self.labels)
        return with_label_probs(df, emb_col, head=head, centroids=centroids, temperature=spec.zero_shot_temperature)

    def classify(self, df: DataFrame, spec: EncoderSpec, *, text_col: str = "text", embedding_col: str | None = None,
                 label: str = "label", confidence: str = "confidence", keep_probs: bool = False) -> DataFrame:
        """``df`` with ``label`` and ``confidence`` (null for empty text); embeds ``text_col`` unless given vectors."""
        src = df if embedding_col else embed(df, text_col, _EMB, spec=spec)
        emb = embedding_col or _EMB
        best, top = best_label(F.col(PROBS), self.labels)
        out = self.probabilities(src, emb, spec)
        if self.ngrams is not None:
            if text_col not in src.columns:
                raise ValueError(f"this classifier also reads the text itself (character n-grams for "
                                 f"{self.ngrams.language}); the frame has no column {text_col!r}")
            out = out.withColumn(PROBS, blended_probs(F.col(PROBS), F.col(text_col), self.ngrams, self.labels))
        out = out.withColumn(confidence, F.round(top, 4))
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
    if not head_saved(store, parts):
        log.warning("no trained head at %s; using zero-shot anchors (less accurate)", store.path(*parts))
        return zero_shot
    head = (Head.from_json(store.read_json(*parts, HEAD_FILE)) if store.exists(*parts, HEAD_FILE)
            else Head.from_spark(store.load(LogisticRegressionModel, *parts)))
    if len(head.bias) != len(anchors):
        log.warning("the head at %s has %d classes, not %d; using zero-shot", store.path(*parts), len(head.bias),
                    len(anchors))
        return zero_shot
    saved_ngrams = store.read_json(*parts, NGRAMS_FILE) if store.exists(*parts, NGRAMS_FILE) else None
    ngrams = NgramHead.from_json(saved_ngrams) if saved_ngrams else None
    return TextClassifier(spec.model_id, anchors, head, 0.0, fallback, ngrams=ngrams)


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
                      label_col: str, parts: Sequence[str], what: str, fallback: str | None = None,
                      extra: DataFrame | None = None) -> tuple[TextClassifier, dict[str, float], str]:
    """Fit a head on the labels table named by ``labels_key`` ({table, text, label}); measure and save it.

    ``extra`` (text, ``label_col``) rows are trained on too, never measured
    on. Returns the classifier, its metrics on the held-out texts of the
    table and where it was saved in the lakehouse's model store.
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
    if extra is not None:
        train = train.unionByName(extra.select("text", label_col))
    with stage(log, f"train the {what} on {table}") as st:
        model = fit_classifier(train, spec, anchors, label_col=label_col, fallback=fallback)
        st.rows = train.count()
    metrics = evaluate_classifier(held_out, model, spec, label_col=label_col)
    return model, metrics, model.save(lh.models, *parts)
