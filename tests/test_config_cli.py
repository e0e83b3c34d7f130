"""Configuration, the session factory's checks, and the CLI's contract with its users."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from leadlake.config import Conf, deep_merge, load_conf, spark_properties
from leadlake.errors import ConfError, EnvironmentProblem, root_cause
from leadlake.session import require_java

from .conftest import job_env

LEADLAKE = [sys.executable, "-m", "leadlake.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = job_env(**(env or {}))
    return subprocess.run([*LEADLAKE, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=300)


def test_user_conf_merges_over_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("LEADLAKE_LAKEHOUSE", raising=False)
    user = tmp_path / "my.yaml"
    user.write_text("delta:\n  merge_retries: 9\nspark:\n  conf:\n    spark.sql.shuffle.partitions: 3\n")
    conf = load_conf(user)
    assert conf.get("delta.merge_retries") == 9
    assert conf.get("delta.engine") == "auto"
    assert conf.lakehouse == "./lakehouse"
    props = spark_properties(conf)
    assert props["spark.sql.shuffle.partitions"] == "3"
    assert props["spark.sql.session.timeZone"] == "UTC"


def test_lakehouse_from_env_then_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("LEADLAKE_LAKEHOUSE", "/data/env-lake")
    assert load_conf().lakehouse == "/data/env-lake"
    assert load_conf(lakehouse="/data/flag-lake").lakehouse == "/data/flag-lake"


def test_dotted_keys_and_deep_merge():
    merged = deep_merge({"a": {"b": 1, "c": 2}, "x": [1]}, {"a": {"b": 5}, "x": [2]})
    assert merged == {"a": {"b": 5, "c": 2}, "x": [2]}
    conf = load_conf(overrides={"spark": {"conf": {"spark.sql.shuffle.partitions": "2"}}})
    assert conf.get("spark.conf.spark.sql.shuffle.partitions") == "2"


def test_bad_conf_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark: [unclosed\n")
    with pytest.raises(ConfError, match="not valid YAML at line"):
        load_conf(bad)
    with pytest.raises(ConfError, match="not found"):
        load_conf(tmp_path / "missing.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfError, match="mapping"):
        load_conf(listy)
    with pytest.raises(ConfError, match="unknown Spark profile 'gpu'"):
        spark_properties(load_conf(overrides={"spark": {"profile": "gpu"}}))


def test_every_spark_profile_loads():
    for profile in ("local", "cluster", "gpu-rapids", "databricks"):
        props = spark_properties(load_conf(overrides={"spark": {"profile": profile}}))
        assert props["spark.sql.session.timeZone"] == "UTC"
    gpu = spark_properties(load_conf(overrides={"spark": {"profile": "gpu-rapids"}}))
    assert gpu["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    assert gpu["spark.task.resource.gpu.amount"] == "0.25"


def test_missing_java_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(EnvironmentProblem, match=r"Java 17\+ is required"):
        require_java()
    proc = run_cli("demo", "--lakehouse", str(tmp_path / "lh"),
                   env={"JAVA_HOME": str(tmp_path / "no-jdk")})
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [
        "leadlake demo: Java 17+ is required by Spark but was not found: install it "
        "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
    ]


def test_help_lists_the_jobs():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for job in ("demo", "tables"):
        assert f"    {job} " in proc.stdout
    sub = run_cli("demo", "--help")
    assert "--lakehouse" in sub.stdout and "--conf" in sub.stdout


def test_bad_conf_on_the_command_line_exits_non_zero_with_one_line(tmp_path):
    proc = run_cli("tables", "--conf", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"leadlake tables: configuration file not found: {tmp_path / 'nope.yaml'}"
    assert "Traceback" not in proc.stderr


def test_root_cause_digs_the_python_error_out_of_a_spark_error():
    wrapped = RuntimeError(
        "An exception was thrown from the Python worker:\nTraceback (most recent call last):\n"
        '  File "x.py", line 1, in f\nValueError: amount must be positive\n SQLSTATE: 38000'
    )
    assert root_cause(wrapped) == "ValueError: amount must be positive"
    assert root_cause(KeyError("k")) == "KeyError: 'k'"


def test_tables_job_lists_what_the_demo_wrote(spark, lakehouse, tmp_path):
    lakehouse.write(spark.range(42), "bronze.leads", mode="overwrite")
    lakehouse.write(spark.range(7), "gold.lead_scores", mode="overwrite")
    lakehouse.write(spark.range(3), "gold.lead_scores", mode="append")
    proc = run_cli("tables", "--lakehouse", lakehouse.conf.lakehouse)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:]}
    assert lines["bronze.leads"][1:3] == ["0", "42"]
    assert lines["gold.lead_scores"][1:3] == ["1", "10"]


def test_a_misspelt_conf_key_fails_with_a_suggestion(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("leads:\n  model:\n    max_dept: 5\n")
    expected = "unknown conf key leads.model.max_dept; did you mean leads.model.max_depth?"
    with pytest.raises(ConfError, match=re.escape(expected)):
        load_conf(typo, lakehouse=str(tmp_path))
    typo.write_text("deltta:\n  engine: auto\n")
    with pytest.raises(ConfError, match=re.escape("unknown conf key deltta; did you mean delta?")):
        load_conf(typo, lakehouse=str(tmp_path))
    # The user's own names are free where the section is theirs: tables, Spark properties, labels, contracts.
    fine = tmp_path / "fine.yaml"
    fine.write_text("tables:\n  bronze.leads: {path: crm/leads}\nspark:\n  conf: {spark.sql.shuffle.partitions: 3}\n"
                    "needs:\n  categories: {billing: [invoices], other: [anything]}\n  labels: {table: silver.x}\n"
                    "contracts:\n  web_chats: {keys: [chat_id]}\n")
    conf = load_conf(fine, lakehouse=str(tmp_path))
    assert conf.get("needs.labels.table") == "silver.x"


def test_settings_are_typed_once_and_have_no_default_outside_the_yaml(tmp_path):
    from leadlake.clv.model import ClvModelSettings
    from leadlake.leads.model import LeadModelSettings
    from leadlake.ml.trees import XGBoostSettings

    conf = load_conf(lakehouse=str(tmp_path))
    settings = conf.section("leads.model", LeadModelSettings)
    assert settings.max_depth == 5 and settings.trainer == "auto" and isinstance(settings.step_size, float)
    assert conf.section("xgboost", XGBoostSettings).device == "cpu"
    assert conf.section("leads.model", LeadModelSettings) is settings  # read once per run, then reused
    assert conf.section("clv.model", ClvModelSettings).max_iter == 40
    bad = conf.with_overrides({"leads": {"model": {"max_depth": "five"}}})
    with pytest.raises(ConfError, match=re.escape("leads.model.max_depth must be a number, not 'five'")):
        bad.section("leads.model", LeadModelSettings)
    with pytest.raises(ConfError, match=re.escape("leads.model.max_iter must be a whole number, not 2.5")):
        conf.with_overrides({"leads": {"model": {"max_iter": 2.5}}}).section("leads.model", LeadModelSettings)
    with pytest.raises(ConfError, match=re.escape("clv.model.trainer must be one of auto, gbt, xgboost, "
                                                  "not 'lightgbm'")):
        conf.with_overrides({"clv": {"model": {"trainer": "lightgbm"}}}).section("clv.model", ClvModelSettings)
    with pytest.raises(ConfError, match=re.escape("conf key leads.no_such_setting is not set")):
        conf.get("leads.no_such_setting")
    # A user who empties a section is told which key went missing, not handed a code default.
    with pytest.raises(ConfError, match=re.escape("conf key clv.model.max_depth is not set")):
        Conf({"clv": {"model": {"max_iter": 3}}}).section("clv.model", ClvModelSettings)
