"""Lead segments: K-Means over the leads' standardised features, each segment described in words.

Fitted with the conversion model on every lead's features (the model's own
imputed numbers and indexed categories, one-hot encoded) and logged in the
same MLflow run, so a lead keeps its segment from one scoring run to the
next. Because the features are standardised, a centroid's coordinates are
z-scores: its description names the features that set the segment apart most,
e.g. "more web_demo_request, seniority=vp, fewer msg_days_to_first".
"""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.clustering import KMeans
from pyspark.ml.feature import OneHotEncoder, StandardScaler, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

SEGMENT_FEATURES = "_segment_features"
# Where the fitted segments live inside the conversion model's MLflow run.
SEGMENTS_MODEL = "segments"
SEGMENTS_FILE = "segments.json"


def fit_segments(prepared: DataFrame, k: int, seed: int = 7) -> tuple[PipelineModel, dict[int, str]]:
    """``prepared`` carries the model's ``*__idx`` and ``*__imp`` columns (its feature stages applied)."""
    idx = [c for c in prepared.columns if c.endswith("__idx")]
    num = [c for c in prepared.columns if c.endswith("__imp") and not c.startswith("junk_")]
    onehot = [f"{c}__oh" for c in idx]
    stages = []
    if idx:
        stages.append(OneHotEncoder(inputCols=idx, outputCols=onehot, dropLast=False, handleInvalid="keep"))
    stages += [VectorAssembler(inputCols=onehot + num, outputCol="_seg_raw", handleInvalid="keep"),
               StandardScaler(inputCol="_seg_raw", outputCol=SEGMENT_FEATURES, withMean=True, withStd=True),
               KMeans(k=k, seed=seed, featuresCol=SEGMENT_FEATURES, predictionCol="segment", maxIter=40)]
    model = Pipeline(stages=stages).fit(prepared)
    assembled = model.transform(prepared.limit(1))
    attrs = assembled.schema["_seg_raw"].metadata.get("ml_attr", {}).get("attrs", {})
    names = {a["idx"]: a.get("name", str(a["idx"])) for group in attrs.values() for a in group}
    centers = model.stages[-1].clusterCenters()
    return model, {i: describe(c, names) for i, c in enumerate(centers)}


def _readable(name: str) -> str:
    """``seniority__idx__oh_vp`` -> ``seniority=vp``; ``web_visits__imp`` -> ``web_visits``."""
    if "__idx__oh_" in name:
        col, value = name.split("__idx__oh_", 1)
        return f"{col}={value}"
    return name.removesuffix("__imp")


def describe(center, names: dict[int, str], top: int = 3) -> str:
    order = sorted(range(len(center)), key=lambda i: -abs(center[i]))
    words = []
    for i in order:
        name = _readable(names.get(i, str(i)))
        if "=" in name:
            if center[i] <= 0:
                continue
            words.append(name)
        else:
            words.append(f"{'more' if center[i] > 0 else 'fewer'} {name}")
        if len(words) == top:
            break
    return ", ".join(words) or "average leads"


def assign_segments(prepared: DataFrame, model: PipelineModel, descriptions: dict[int, str]) -> DataFrame:
    names = F.create_map(*[x for i, d in sorted(descriptions.items()) for x in (F.lit(i), F.lit(d))])
    out = model.transform(prepared)
    return out.withColumn("segment", F.col("segment").cast("int")) \
        .withColumn("segment_description", names[F.col("segment")])
