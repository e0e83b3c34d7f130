"""The front of every model pipeline: which columns go in, and how they become one vector.

Categorical columns are indexed (unseen values get their own bucket),
numeric ones imputed with the training median, and a text embedding (an
array column; null when the person wrote nothing) is reduced with PCA. A
saved ``FeatureSpec`` tells scoring which columns the model expects, so a
model trained on other columns fails loudly instead of scoring garbage.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml.feature import PCA, Imputer, StringIndexer, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.ml.stages import ArrayToVector
from leadlake.ml.trees import FEATURES

TEXT = "text_embedding"


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a model was trained on; scoring needs the same."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    text_dim: int
    text_k: int

    @property
    def uses_text(self) -> bool:
        return self.text_k > 0 and self.text_dim > 0

    def text_names(self) -> list[str]:
        return [f"text_pc{i + 1}" for i in range(self.text_k)] if self.uses_text else []

    def names(self) -> list[str]:
        """Assembled vector slots, in order: what tree splits and reasons refer to."""
        return [*self.categorical, *self.numeric, *self.text_names()]

    def align(self, features: DataFrame) -> DataFrame:
        """``features`` with every column of the spec (absent ones null)."""
        missing = [F.lit(None).cast("string").alias(c) for c in self.categorical if c not in features.columns]
        missing += [F.lit(None).cast("double").alias(c) for c in self.numeric if c not in features.columns]
        if self.uses_text and TEXT not in features.columns:
            missing.append(F.lit(None).cast("array<float>").alias(TEXT))
        return features.select("*", *missing) if missing else features


def text_dimension(features: DataFrame, k: int) -> int:
    """The embedding width when text features are wanted (``k`` > 0) and some row has one; else 0."""
    if k <= 0 or TEXT not in features.columns:
        return 0
    row = features.where(F.col(TEXT).isNotNull()).select(F.size(TEXT)).first()
    return int(row[0]) if row else 0


def front_end(spec: FeatureSpec, passthrough: tuple[str, ...] = ()) -> list:
    """Indexers -> imputer -> (text -> PCA) -> assembler into ``features``.

    ``passthrough`` columns (outputs of an earlier stage, such as the BTYD
    baseline's) go into the vector as they are, after the numeric features.
    """
    idx = [f"{c}__idx" for c in spec.categorical]
    imputed = [f"{c}__imp" for c in spec.numeric]
    stages: list = []
    if spec.categorical:
        stages.append(StringIndexer(inputCols=list(spec.categorical), outputCols=idx, handleInvalid="keep",
                                    stringOrderType="frequencyDesc"))
    if spec.numeric:
        stages.append(Imputer(inputCols=list(spec.numeric), outputCols=imputed, strategy="median"))
    inputs = [*idx, *imputed, *passthrough]
    if spec.uses_text:
        stages += [ArrayToVector(inputCol=TEXT, outputCol="_text_vec", size=spec.text_dim),
                   PCA(k=spec.text_k, inputCol="_text_vec", outputCol="_text_pca")]
        inputs.append("_text_pca")
    stages.append(VectorAssembler(inputCols=inputs, outputCol=FEATURES, handleInvalid="keep"))
    return stages
