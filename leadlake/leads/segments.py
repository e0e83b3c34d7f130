"""Lead segments: K-Means over the leads' standardised features, each segment described in words.

Fitted with the conversion model on every lead's features (the model's own
imputed numbers and indexed categories, one-hot encoded) and logged in the
same MLflow run, so a lead keeps its segment from one scoring run to the
next. Because the features are standardised, a centroid's coordinates are
z-scores: its description names the features that set the segment apart most,
e.g. "more web_demo_request, seniority=vp, fewer msg_days_to_first".

The same geometry is the junk detector's anomaly component: a lead further
from its segment's centre than ``outlier_quantile`` (0.99) of the leads the
segments were fitted on looks like no group of real leads. ``outlier_score``
is that distance over the segment's cut-off (> 1: an outlier), and it counts
as one weak junk sign beside the rules (see ``junk.py``): an unusual lead is
as often a keen buyer as a bot, so it never makes a lead junk on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.clustering import KMeans
from pyspark.ml.feature import OneHotEncoder, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

SEGMENT_FEATURES = "_segment_features"
# Where the fitted segments live inside the conversion model's MLflow run.
SEGMENTS_MODEL = "segments"
SEGMENTS_FILE = "segments.json"
OUTLIERS_FILE = "segment_outliers.json"


@dataclass(frozen=True)
class Segments:
    model: PipelineModel
    descriptions: dict[int, str]
    # Per segment: the distance to its centre beyond which a lead is an outlier. Empty: not fitted
    # (a champion logged before outliers existed), and no lead is called one.
    outlier_distance: dict[int, float] = field(default_factory=dict)


def fit_segments(prepared: DataFrame, k: int, seed: int = 7, outlier_quantile: float = 0.99) -> Segments:
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
    fitted = model.transform(prepared).select("segment", _distance(centers).alias("d"))
    cutoffs = {int(r["segment"]): float(r["cut"]) for r in
               fitted.groupBy("segment").agg(F.percentile_approx("d", outlier_quantile, 10_000).alias("cut")).collect()}
    return Segments(model, {i: describe(c, names) for i, c in enumerate(centers)}, cutoffs)


def _distance(centers) -> Column:
    """Euclidean distance from a lead's standardised features to its segment's centre, in Spark SQL."""
    table = F.array(*[F.array(*[F.lit(float(v)) for v in c]) for c in centers])
    squares = F.zip_with(vector_to_array(SEGMENT_FEATURES), table[F.col("segment").cast("int")],
                         lambda a, b: (a - b) * (a - b))
    return F.sqrt(F.aggregate(squares, F.lit(0.0), lambda acc, x: acc + x))


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


def assign_segments(prepared: DataFrame, segments: Segments) -> DataFrame:
    """Adds ``segment``, ``segment_description`` and ``outlier_score`` (null where no cut-offs were fitted)."""
    names = F.create_map(*[x for i, d in sorted(segments.descriptions.items()) for x in (F.lit(i), F.lit(d))])
    out = segments.model.transform(prepared).withColumn("segment", F.col("segment").cast("int"))
    if segments.outlier_distance:
        cuts = F.create_map(*[x for i, c in sorted(segments.outlier_distance.items())
                              for x in (F.lit(i), F.lit(max(c, 1e-9)))])
        score = _distance(segments.model.stages[-1].clusterCenters()) / cuts[F.col("segment")]
    else:
        score = F.lit(None).cast("double")
    return out.withColumn("segment_description", names[F.col("segment")]).withColumn("outlier_score", score)
