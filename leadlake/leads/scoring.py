"""``score-leads`` -> ``gold.lead_scores``: the champion model applied to leads, with tiers and reasons.

Per lead: ``p_convert`` (calibrated), ``score`` 0-100, ``tier`` (high / mid /
low from the newest ``gold.tier_thresholds`` row, else the conf defaults),
``rank`` among all scored leads, ``segment`` and ``segment_description``
(fitted with the model), ``top_reasons``, ``is_junk`` and
``junk_score``, ``model_version``, ``scored_at``. Rows are upserted on
``lead_id``: rescoring never duplicates a lead, and ranks are recomputed over
the whole table so they stay a ranking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.config import Conf
from leadlake.errors import LeadlakeError
from leadlake.lakehouse import Lakehouse
from leadlake.leads.features import LeadSchema, build_lead_features
from leadlake.leads.junk import junk_signals
from leadlake.leads.reasons import TREES_FILE, is_spark_gbt, margin_contributions, reasons_udf, top_reasons
from leadlake.leads.segments import OUTLIERS_FILE, SEGMENTS_FILE, SEGMENTS_MODEL, Segments, assign_segments
from leadlake.ml import tracking
from leadlake.ml.champion import load_champion
from leadlake.progress import stage
from leadlake.session import connect_client

log = logging.getLogger("leadlake.leads")

SCORES_TABLE = catalog.LEAD_SCORES
THRESHOLDS_TABLE = catalog.TIER_THRESHOLDS


@dataclass(frozen=True)
class ScoreReport:
    scored: int
    total: int
    model_version: str
    tiers: dict[str, int]

    def __str__(self) -> str:
        tiers = ", ".join(f"{k} {v:,}" for k, v in self.tiers.items())
        return (f"{self.scored:,} leads scored with model v{self.model_version}; "
                f"{self.total:,} in {SCORES_TABLE} ({tiers})")


def thresholds(lh: Lakehouse) -> tuple[float, float]:
    """(high, mid) cut-offs on p_convert: the newest tuned row, else the conf defaults."""
    conf = lh.conf
    if lh.exists(THRESHOLDS_TABLE):
        row = lh.read(THRESHOLDS_TABLE).orderBy(F.desc("version")).first()
        if row is not None:
            return float(row["high"]), float(row["mid"])
    d = conf.get("leads.scoring.default_thresholds")
    return float(d["high"]), float(d["mid"])


def load_segments(run_id: str, conf: Conf) -> Segments | None:
    """The segments fitted with the champion, or None for a champion logged without them."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        model = tracking.load_spark_model(f"runs:/{run_id}/{SEGMENTS_MODEL}", conf)
        names = mlflow.artifacts.load_dict(f"runs:/{run_id}/{SEGMENTS_FILE}")
    except (MlflowException, OSError) as exc:
        log.warning("champion run %s has no segments (%s); segment left empty", run_id, exc)
        return None
    try:
        cutoffs = mlflow.artifacts.load_dict(f"runs:/{run_id}/{OUTLIERS_FILE}")
    except (MlflowException, OSError):
        log.warning("champion run %s has no segment outlier cut-offs; junk uses the rules only", run_id)
        cutoffs = {}
    return Segments(model, {int(k): v for k, v in names.items()}, {int(k): float(v) for k, v in cutoffs.items()})


def _logged_trees(run_id: str) -> dict | None:
    """The champion's trees as logged at training (None for champions logged before trees were)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{TREES_FILE}")
    except (MlflowException, OSError):
        return None


def _reasons(model, run_id: str):
    from leadlake.leads.model import tree_stage
    from leadlake.ml.trees import FEATURES

    stages = model.stages
    assembler = next(s for s in stages if type(s).__name__ == "VectorAssembler")
    indexer = next((s for s in stages if type(s).__name__ == "StringIndexerModel"), None)
    names, labels = [], {}
    cats = dict(zip(indexer.getOutputCols(), zip(indexer.getInputCols(), indexer.labelsArray, strict=True),
                    strict=True)) if indexer else {}
    for col in assembler.getInputCols():
        if col in cats:
            name, values = cats[col]
            names.append(name)
            labels[name] = list(values)
        elif col == "_text_pca":
            pca = next(s for s in stages if type(s).__name__ == "PCAModel")
            names += [f"text_pc{i + 1}" for i in range(pca.getK())]
        else:
            names.append(col.removesuffix("__imp"))
    trees = tree_stage(model)
    saved = _logged_trees(run_id) if is_spark_gbt(trees) else None
    if is_spark_gbt(trees) and saved is None and connect_client():
        raise LeadlakeError("the champion lead model was logged without trees.json, which a Spark Connect "
                            "client needs for reasons: retrain it (leadlake run --only train-leads --force)")
    return FEATURES, reasons_udf(margin_contributions(trees, saved), names, labels)


def score_leads(lh: Lakehouse, *, only_new: bool = False, leads: DataFrame | None = None) -> ScoreReport:
    conf = lh.conf
    schema = LeadSchema.from_conf(conf)
    champion = load_champion(conf, "leads", "train-leads")
    model, version, run_id = champion.model, champion.version, champion.run_id
    segments = load_segments(run_id, conf)
    high, mid = thresholds(lh)
    source = leads if leads is not None else lh.read(schema.table)
    if only_new and lh.exists(SCORES_TABLE):
        done = lh.read(SCORES_TABLE, columns=["lead_id"])
        source = source.join(done.withColumnRenamed("lead_id", schema.id), schema.id, "left_anti")
    with stage(log, f"score leads with model v{version}") as st:
        features = build_lead_features(lh, source).persist()
        st.rows = n = features.count()
    try:
        features_col, reasons = _reasons(model, run_id)
        transformed = model.transform(features)
        if segments is not None:
            transformed = assign_segments(transformed, segments)
        else:
            transformed = transformed.withColumn("segment", F.lit(None).cast("int")) \
                .withColumn("segment_description", F.lit(None).cast("string")) \
                .withColumn("outlier_score", F.lit(None).cast("double"))
        scored = transformed.select(
            "lead_id", F.col("p_convert").cast("double").alias("p_convert"),
            top_reasons(F.col(features_col), reasons).alias("top_reasons"), "segment", "segment_description",
            (F.col("outlier_score") > 1).cast("double").alias("junk_outlier"),
            *[c for c in features.columns if c not in ("lead_id", "label", "text_embedding")])
        scored = junk_signals(scored)
        p = F.col("p_convert")
        rows = scored.select(
            "lead_id", F.round(p, 4).alias("p_convert"), F.round(p * 100).cast("int").alias("score"),
            F.when(p >= high, "high").when(p >= mid, "mid").otherwise("low").alias("tier"),
            "segment", "segment_description", "top_reasons", "is_junk", "junk_score",
            F.lit(version).alias("model_version"),
            F.current_timestamp().alias("scored_at"))
        if lh.exists(SCORES_TABLE):
            kept = lh.read(SCORES_TABLE).drop("rank").join(rows.select("lead_id"), "lead_id", "left_anti")
            rows = rows.unionByName(kept)
        ranked = rows.withColumn("rank", F.row_number().over(Window.orderBy(F.desc("p_convert"), "lead_id")))
        with stage(log, f"upsert {SCORES_TABLE}") as st:
            lh.upsert(ranked, SCORES_TABLE, ["lead_id"])
            st.rows = total = lh.row_count(SCORES_TABLE)
        tiers = {r["tier"]: r["count"] for r in lh.read(SCORES_TABLE, columns=["tier"]).groupBy("tier").count()
                 .collect()}
        return ScoreReport(n, total, version, {t: tiers.get(t, 0) for t in ("high", "mid", "low")})
    finally:
        features.unpersist()
