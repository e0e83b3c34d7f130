"""MLflow for every leadlake model: where runs go, plots as artifacts, champion / challenger.

The default store lives in the lakehouse (``<lakehouse>/mlflow``: a SQLite
database for runs and the registry, a folder for artifacts), so a laptop
needs no server; any MLflow URI (a tracking server, ``databricks``) can be set
in conf instead. A lakehouse in object storage keeps its artifacts there
(``<lakehouse>/mlflow/artifacts``, written by MLflow with boto3 / the cloud
SDKs and their standard credentials); SQLite cannot live in a bucket, so
without a configured tracking URI the run database is a local file keyed by
the lakehouse URI under ``$LEADLAKE_HOME`` (default ``~/.cache/leadlake``).
A new model takes the ``champion`` alias only if it beats the current
champion on the same validation data.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from leadlake import locations
from leadlake.config import Conf
from leadlake.errors import LeadlakeError

log = logging.getLogger("leadlake.ml.tracking")

CHAMPION = "champion"
# Written into the logged model instead of letting MLflow infer them (inference imports and probes packages).
PIP_REQUIREMENTS = ["leadlake", "pyspark>=4.0,<4.3"]


def tracking_uri(conf: Conf, section: str) -> str:
    uri = conf.get(f"{section}.mlflow.tracking_uri")
    if uri:
        return str(uri)
    lakehouse = locations.normalize_root(conf.lakehouse)
    if locations.is_local(lakehouse):
        root = Path(lakehouse) / "mlflow"
    else:
        home = Path(os.environ.get("LEADLAKE_HOME", Path.home() / ".cache" / "leadlake"))
        root = home / "mlflow" / hashlib.sha256(lakehouse.encode()).hexdigest()[:16]
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def artifact_root(conf: Conf) -> str:
    """Where new experiments keep their artifacts: under the lakehouse, whatever its scheme."""
    lakehouse = locations.normalize_root(conf.lakehouse)
    where = locations.join(lakehouse, "mlflow", "artifacts")
    return Path(where).as_uri() if locations.is_local(where) else where


def start(conf: Conf, section: str) -> str:
    """Point MLflow at the conf's store and experiment; returns the experiment name."""
    import mlflow

    # Progress bars per artifact file drown the job's own progress lines.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(conf, section)
    mlflow.set_tracking_uri(uri)
    name = str(conf.get(f"{section}.mlflow.experiment"))
    if mlflow.get_experiment_by_name(name) is None:
        artifacts = artifact_root(conf) if uri.startswith("sqlite:///") else None
        mlflow.create_experiment(name, artifact_location=artifacts)
    mlflow.set_experiment(name)
    return name


def load_spark_model(uri: str, conf: Conf, *, run_id: str = ""):
    """A Spark ML model logged to MLflow (``models:/name/3``, ``runs:/id/path``) by the run ``run_id``.

    In a classic session MLflow's own loader does it. A Spark Connect client
    has no JVM for MLflow to copy files through, and the server cannot read
    the client's temporary folder; so the model is copied once into the
    lakehouse's model store (keyed by the logged model's identity), which
    the server reads like every other lakehouse file, and loaded from there.
    """
    import mlflow

    from leadlake.session import connect_client

    if not connect_client():
        return _load_in_this_session(uri, run_id)
    import shutil
    import tempfile

    from pyspark.ml import PipelineModel

    from leadlake.ml.store import model_store

    staging = tempfile.mkdtemp(prefix="leadlake-mlflow-")
    try:
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=staging))
        key = hashlib.sha256((local / "MLmodel").read_bytes()).hexdigest()[:16]
        store = model_store(conf)
        parts = ("mlflow-models", key, "sparkml")
        if not store.exists(*parts, "metadata"):
            locations.upload_dir(local / "sparkml", store.path(*parts), store.storage)
        log.info("loading %s through %s (Spark Connect)", uri, store.path(*parts))
        return store.load(PipelineModel, *parts)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_LOADED: OrderedDict[tuple[str, str, str], object] = OrderedDict()
LOADED_MODELS_KEPT = 8


def _load_in_this_session(uri: str, run_id: str):
    """MLflow's loader, once per logged model and Spark application: a rerun in the same process (a notebook
    cell, a pipeline rerun, the tests) reuses the model instead of copying and reading it again (measured on
    2 cores: 4-6 s less per score-leads rerun, the lead model and its segments).

    Only a URI whose content never changes is kept (a registered version, a run's artifact; an alias moves
    when a retrain wins). The run id in the key tells apart a version 1 of a store wiped and trained again.
    """
    import mlflow
    from pyspark.sql import SparkSession

    if "@" in uri:
        return mlflow.spark.load_model(uri)
    spark = SparkSession.getActiveSession()
    app = spark.sparkContext.applicationId if spark is not None else ""
    key = (app, mlflow.get_tracking_uri(), f"{uri}#{run_id}")
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    model = mlflow.spark.load_model(uri)
    _LOADED[key] = model
    while len(_LOADED) > LOADED_MODELS_KEPT:
        _LOADED.popitem(last=False)
    return model


def registered_name(conf: Conf, section: str) -> str:
    """The name a section's models are registered under (``<section>.mlflow.registered_model``)."""
    return str(conf.get(f"{section}.mlflow.registered_model"))


def version_uri(version) -> str:
    """A registered version's model: what it names never changes, unlike what the champion alias names."""
    return f"models:/{version.name}/{version.version}"


def champion_version(name: str):
    """The registered version holding the champion alias, or None."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


class NoChampion(LeadlakeError):
    """Scoring needs a trained model."""


def require_champion(conf: Conf, section: str, train_job: str):
    """The champion version of the section's registered model; a one-line error naming the job to run if none."""
    start(conf, section)
    name = registered_name(conf, section)
    version = champion_version(name)
    if version is None:
        raise NoChampion(f"no champion of {name} in {tracking_uri(conf, section)}: run {train_job} first")
    return version


def promote_if_better(name: str, version: str, score: float, champion_score: float | None) -> bool:
    import mlflow

    # A tie (same model retrained on the same data scores the same, up to float noise) keeps the champion.
    if champion_score is not None and score <= champion_score + 1e-9:
        log.info("%s v%s scores %.4f, champion %.4f: champion kept", name, version, score, champion_score)
        return False
    mlflow.MlflowClient().set_registered_model_alias(name, CHAMPION, version)
    log.info("%s v%s is the new champion (%.4f vs %s)", name, version, score,
             "none" if champion_score is None else f"{champion_score:.4f}")
    return True


def log_figure(draw: Callable, filename: str) -> None:
    """Draw on a fresh matplotlib figure and log it as a PNG artifact of the active run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow

    fig, ax = plt.subplots(figsize=(6, 4.5))
    try:
        draw(ax)
        fig.tight_layout()
        mlflow.log_figure(fig, filename)
    finally:
        plt.close(fig)


def roc_points(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-p, kind="stable")
    y = y[order]
    tp, fp = np.cumsum(y), np.cumsum(1 - y)
    return np.r_[0, fp / max(fp[-1], 1)], np.r_[0, tp / max(tp[-1], 1)]


def log_classifier_plots(y: np.ndarray, p_raw: np.ndarray, p: np.ndarray, importances: Sequence[tuple[str, float]],
                         prefix: str = "") -> None:
    """ROC, cumulative gain / lift, calibration and feature importance, from a validation sample."""
    fpr, tpr = roc_points(y, p_raw)

    def roc(ax):
        ax.plot(fpr, tpr, label="model")
        ax.plot([0, 1], [0, 1], "--", color="grey", label="random")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (validation)")
        ax.legend()

    def gain(ax):
        order = np.argsort(-p_raw, kind="stable")
        share = np.arange(1, len(y) + 1) / len(y)
        captured = np.cumsum(y[order]) / max(y.sum(), 1)
        ax.plot(share, captured, label="model")
        ax.plot([0, 1], [0, 1], "--", color="grey", label="random")
        ax.set(xlabel="share of leads called (by score)", ylabel="share of conversions found",
               title="Cumulative gain (validation)")
        ax.legend()

    def calibration(ax):
        bins = np.minimum((p * 10).astype(int), 9)
        xs = [p[bins == b].mean() for b in range(10) if (bins == b).any()]
        ys = [y[bins == b].mean() for b in range(10) if (bins == b).any()]
        ax.plot(xs, ys, "o-", label="model")
        ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
        ax.set(xlabel="predicted p_convert", ylabel="observed conversion rate", title="Calibration (validation)")
        ax.legend()

    def importance(ax):
        top = sorted(importances, key=lambda kv: kv[1])[-15:]
        ax.barh([k for k, _ in top], [v for _, v in top])
        ax.set(xlabel="importance (share of gain)", title="Feature importance")

    for draw, name in ((roc, "roc.png"), (gain, "gain.png"), (calibration, "calibration.png"),
                       (importance, "feature_importance.png")):
        log_figure(draw, f"plots/{prefix}{name}")
