"""Deployment files stay in step with the code they launch."""

from __future__ import annotations

from pathlib import Path

import yaml

from leadlake.cli import JOBS

REPO = Path(__file__).resolve().parents[1]


def test_every_job_has_a_spark_submit_entry_point():
    for spec in JOBS:
        script = REPO / "jobs" / f"{spec.name.replace('-', '_')}.py"
        assert script.is_file(), f"{script} missing"
        assert f'job_entry("{spec.name}")' in script.read_text()


def test_conf_and_infra_yaml_parse_and_point_at_real_files():
    for path in [*REPO.glob("conf/**/*.yaml"), *REPO.glob("infra/**/*.yaml"), *REPO.glob("infra/**/*.yml")]:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
    bundle = yaml.safe_load((REPO / "infra/databricks/databricks.yml").read_text())
    for task in bundle["resources"]["jobs"]["leadlake_demo"]["tasks"]:
        job_file = (REPO / "infra/databricks" / task["spark_python_task"]["python_file"]).resolve()
        assert job_file.is_file(), job_file
    app = yaml.safe_load((REPO / "infra/kubernetes/sparkapplication-demo.yaml").read_text())
    main_file = app["spec"]["mainApplicationFile"].replace("local:///opt/leadlake/", "")
    assert (REPO / main_file).is_file()
    for conf_name in ("cluster", "databricks", "gpu"):
        profile = yaml.safe_load((REPO / "conf" / f"{conf_name}.yaml").read_text())["spark"]["profile"]
        assert (REPO / "conf" / "spark" / f"{profile}.yaml").is_file()


def test_notebooks_are_databricks_source_format_calling_the_cli():
    for nb in (REPO / "notebooks").glob("*.py"):
        text = nb.read_text()
        assert text.startswith("# Databricks notebook source"), nb
        assert "from leadlake.cli import main" in text, nb
