"""A second opinion from a text's own characters, for a language whose sentence encoder reads polarity weakly.

multilingual-e5-small reads Chinese reviews' polarity to 0.82-0.84 whatever
head sits on it (linear, one hidden layer, more rows: measured in the
README), because the encoder was trained for topical similarity. Which
characters a review uses (差, 失望, 不错, 推荐, 退货) carry polarity the vector
has blurred, and a logistic regression over character n-grams reads them
as well (0.84) with errors of its own: the two together are right more
often (0.855 held out) than either.

The n-gram model only ever adds to the encoder's head: it reads the texts of
its one language (``language``, by the routing's rule), it splits only the
probability the head gives to its own labels (negative vs positive; the
head's neutral share stays as it is), and ``weight`` is its part in that
split. Fitted on the driver like the heads (scipy L-BFGS on a sparse
TF-IDF matrix), saved as JSON beside the head.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf
from scipy import sparse
from scipy.optimize import minimize

from leadlake.text.language import language_of

NGRAMS_FILE = "ngrams.json"
# A review is a few hundred characters; a pasted megabyte is read from its start, as the encoder reads its first
# tokens, so one hostile text costs what a long review does.
MAX_CHARS = 5_000
_SPACES = re.compile(r"\s\s+")


def char_ngrams(text: str, longest: int) -> Counter[str]:
    """Counts of the lower-cased text's character n-grams of length 1 to ``longest`` (runs of spaces as one)."""
    norm = _SPACES.sub(" ", text[:MAX_CHARS].lower())
    return Counter(norm[i:i + n] for n in range(1, longest + 1) for i in range(len(norm) - n + 1))


@dataclass(frozen=True, eq=False)
class NgramHead:
    """Probabilities of ``labels`` from TF-IDF weighted character n-grams (sublinear counts, unit length rows)."""

    labels: tuple[str, ...]
    language: str
    longest: int
    vocabulary: Mapping[str, int]
    idf: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    weight: float

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for i, text in enumerate(texts):
            counts = [(self.vocabulary[g], c) for g, c in char_ngrams(text, self.longest).items()
                      if g in self.vocabulary]
            if not counts:
                continue
            idx = np.fromiter((j for j, _ in counts), dtype=np.int64, count=len(counts))
            tfidf = (1.0 + np.log([c for _, c in counts])) * self.idf[idx]
            rows += [i] * len(idx)
            cols += idx.tolist()
            vals += (tfidf / np.linalg.norm(tfidf)).tolist()
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.idf)))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        logits = self.features(texts) @ self.weights.T + self.bias
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return probs / probs.sum(axis=1, keepdims=True)

    def reads(self, text: str | None) -> bool:
        return bool(text) and language_of(text) == self.language

    def blend(self, probs: np.ndarray, texts: Sequence[str], labels: Sequence[str]) -> np.ndarray:
        """The head's ``probs`` (rows x ``labels``) with this model's view mixed into its own labels' split.

        Rows whose text is not in ``language`` are returned unchanged.
        """
        out = np.array(probs, dtype=np.float64)
        mine = [labels.index(label) for label in self.labels]
        rows = [i for i, t in enumerate(texts) if self.reads(t)]
        if not rows:
            return out
        mass = out[np.ix_(rows, mine)].sum(axis=1, keepdims=True)
        head_split = out[np.ix_(rows, mine)] / np.where(mass > 0, mass, 1.0)
        split = (1.0 - self.weight) * head_split + self.weight * self.probabilities([texts[i] for i in rows])
        out[np.ix_(rows, mine)] = mass * split
        return out

    def to_json(self) -> dict:
        ngrams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {"labels": list(self.labels), "language": self.language, "longest": self.longest,
                "weight": self.weight, "ngrams": ngrams, "idf": np.round(self.idf, 6).tolist(),
                "weights": np.round(self.weights, 6).tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_json(cls, data: Mapping) -> NgramHead:
        return cls(tuple(data["labels"]), str(data["language"]), int(data["longest"]),
                   {g: i for i, g in enumerate(data["ngrams"])}, np.asarray(data["idf"], dtype=np.float64),
                   np.asarray(data["weights"], dtype=np.float64), np.asarray(data["bias"], dtype=np.float64),
                   float(data["weight"]))


def fit_ngram_head(texts: Sequence[str], y: np.ndarray, labels: Sequence[str], *, language: str,
                   weight: float, longest: int = 2, min_count: int = 2, reg: float = 3e-5) -> NgramHead:
    """Multinomial logistic regression over TF-IDF character n-grams, every label weighing the same in total.

    N-grams in fewer than ``min_count`` texts are left out (they name one
    hotel or one book, not a polarity). ``reg`` is the L2 penalty on the
    weights, added to the mean cross-entropy.
    """
    grams = [char_ngrams(t, longest) for t in texts]
    df = Counter(g for counts in grams for g in counts)
    vocabulary = {g: i for i, g in enumerate(sorted(g for g, c in df.items() if c >= min_count))}
    idf = np.array([math.log((1 + len(texts)) / (1 + df[g])) + 1.0 for g in vocabulary])
    n_labels = len(labels)
    empty = NgramHead(tuple(labels), language, longest, vocabulary, idf, np.zeros((n_labels, len(idf))),
                      np.zeros(n_labels), weight)
    x = empty.features(texts)
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    if (counts == 0).any():
        raise ValueError(f"n-gram head: every label needs examples ({dict(zip(labels, counts, strict=True))})")
    w = 1.0 / (n_labels * counts[y])
    onehot = np.zeros((len(y), n_labels))
    onehot[np.arange(len(y)), y] = 1.0
    d = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[: n_labels * d].reshape(n_labels, d), theta[n_labels * d:]
        logits = np.asarray(x @ weights.T) + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(w * (onehot * log_p).sum(axis=1)).sum() + 0.5 * reg * (weights ** 2).sum()
        residual = (np.exp(log_p) - onehot) * w[:, None]
        grad = np.concatenate([(np.asarray(x.T @ residual).T + reg * weights).ravel(), residual.sum(axis=0)])
        return value, grad

    theta = minimize(loss, np.zeros(n_labels * (d + 1)), jac=True, method="L-BFGS-B",
                     options={"maxiter": 1000, "gtol": 1e-7}).x
    return NgramHead(tuple(labels), language, longest, vocabulary, idf,
                     theta[: n_labels * d].reshape(n_labels, d), theta[n_labels * d:], weight)


def blended_probs(probs: Column, text: Column, ngrams: NgramHead, labels: Sequence[str]) -> Column:
    """``probs`` (array<double> per ``labels``) with ``ngrams`` mixed in for the texts of its language."""
    labels = list(labels)

    @pandas_udf(T.ArrayType(T.DoubleType()))
    def mix(p: pd.Series, t: pd.Series) -> pd.Series:
        present = np.flatnonzero(p.notna().to_numpy())
        out: list[np.ndarray | None] = [None] * len(p)
        if len(present):
            texts = [t.iloc[i] if isinstance(t.iloc[i], str) else "" for i in present]
            mixed = ngrams.blend(np.stack(p.iloc[present].to_numpy()), texts, labels)
            for i, row in zip(present, mixed, strict=True):
                out[i] = row
        return pd.Series(out, dtype=object)

    return mix(probs, text)
