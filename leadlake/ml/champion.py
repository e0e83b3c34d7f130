"""Champion / challenger for every registered model.

A newly trained model replaces the one scoring production only if it beats
it on the same held-out rows of today's data; scoring always loads the
model holding the ``champion`` alias. Both domains (leads, CLV) go through
here, so the rule and its failure modes are the same everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from leadlake.config import Conf
from leadlake.ml import tracking

log = logging.getLogger("leadlake.ml")


@dataclass(frozen=True)
class Champion:
    """The fitted pipeline scoring production, its registered version and the MLflow run that logged it."""

    model: object
    version: str
    run_id: str

    def artifact(self, name: str) -> dict:
        """A JSON artifact logged with the champion (feature spec, trees, histograms)."""
        import mlflow

        return mlflow.artifacts.load_dict(f"runs:/{self.run_id}/{name}")


def load_champion(conf: Conf, section: str, train_job: str) -> Champion:
    """The section's champion; a one-line error naming ``train_job`` when none was trained yet."""
    version = tracking.require_champion(conf, section, train_job)
    model = tracking.load_spark_model(tracking.version_uri(version), conf, run_id=version.run_id)
    return Champion(model, str(version.version), version.run_id)


def champion_score(conf: Conf, section: str, score: Callable[[Champion], float]) -> float | None:
    """The current champion's ``score`` on today's held-out rows, or None when there is none to compare.

    A champion trained on other features cannot score today's rows; it is
    then reported and replaced rather than blocking every retrain.
    """
    tracking.start(conf, section)
    name = tracking.registered_name(conf, section)
    version = tracking.champion_version(name)
    if version is None:
        return None
    try:
        model = tracking.load_spark_model(tracking.version_uri(version), conf, run_id=version.run_id)
        return score(Champion(model, str(version.version), version.run_id))
    except Exception as exc:  # any failure to score means "not comparable", which is what is logged
        log.warning("champion v%s of %s cannot score today's held-out rows (%s); it will be replaced",
                    version.version, name, exc)
        return None
