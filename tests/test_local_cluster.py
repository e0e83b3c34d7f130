"""A real cluster: standalone master + two workers on 127.0.0.1, jobs via spark-submit.

Executors run in their own JVMs and Python workers, so this catches what
local mode hides: pickling of the data source, leadlake shipped with
--py-files, paths that only exist on the driver.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from .conftest import free_port, head_start_result, job_env, make_bucket

# The module's cluster fixture reads the jobs that start with the session (conftest.head_starts).
pytestmark = pytest.mark.head_start("cluster_runs")

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "infra" / "local-cluster" / "cluster.sh"


# Enough for each kind of executor work to run over several tasks; CLV, which needs the notebooks' 600 leads for its
# repeat buyers, is not among the stages run here.
CLUSTER_LEADS = 200
CLUSTER_CONF = """
spark:
  profile: cluster
  conf: {spark.sql.shuffle.partitions: 4, spark.executor.extraJavaOptions: "%(jvm)s"}
text: {precision: fp32}
leads: {model: {max_iter: 8, max_depth: 3}}
pipeline:
  ingest: [{table: leads, input: %(export)s, format: csv}]
"""
# Each kind of work executors do once: generate (mapInPandas), ingest with a MERGE, embed (a model in a pandas
# UDF), train a Spark ML model logged to MLflow under the bucket, load it back and score. The other stages
# repeat these kinds on other tables; they run in local mode in the notebook test.
STAGES = ["demo-data", "ingest", "embed", "train-leads", "score-leads"]
LAKEHOUSE = "s3://crm/lh"


class ClusterRuns(NamedTuple):
    failing: subprocess.CompletedProcess
    pipeline: subprocess.CompletedProcess
    run_dir: Path  # the master's and workers' logs and the executors' working directories
    jobs: Path  # the pipeline job's working directory (``work``), HOME and CRM export
    aws: dict[str, str]


def cluster_runs(tmp_path_factory, s3_server) -> ClusterRuns | None:
    """Both tests' jobs through spark-submit on one standalone cluster started for them (a master and two workers
    on 127.0.0.1, 1 core and 1 GB each), stopped after them.

    The workers start without any AWS variable, so the executors reach the
    bucket only through what the driver hands them; the driver is configured
    by the standard AWS variables alone.
    """
    if os.environ.get("LEADLAKE_SKIP_CLUSTER_TESTS") == "1":
        return None
    run_dir, jobs = tmp_path_factory.mktemp("cluster"), tmp_path_factory.mktemp("cluster-jobs")
    env = {
        **{k: v for k, v in job_env().items() if not k.startswith("AWS_")},
        "PYTHON": sys.executable,
        "CLUSTER_DIR": str(run_dir),
        "MASTER_PORT": str(free_port()),
        "MASTER_UI_PORT": str(free_port()),
    }
    start = subprocess.run([str(CLUSTER), "start", "2", "1", "1g"], env=env, capture_output=True,
                           text=True, timeout=180)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        bad_conf = jobs / "bad.yaml"
        bad_conf.write_text("delta:\n  engine: turbo\n")
        failing = subprocess.run([str(CLUSTER), "submit", "demo", "--lakehouse", str(jobs / "bad-lh")],
                                 env={**env, "LEADLAKE_CONF": str(bad_conf)}, capture_output=True, text=True,
                                 timeout=300)

        _, aws = s3_server
        make_bucket(aws, "crm")
        work, home = jobs / "work", jobs / "home"
        work.mkdir()
        home.mkdir()
        # A CRM export that updates one demo lead and adds another: the MERGE reads the
        # table in the executors and rewrites the files holding the key.
        export = jobs / "update.csv"
        export.write_text("lead_id,created_at,source,company\nL0000001,2025-01-01,partner,Renamed Co\n"
                          "N0000001,2025-02-01,referral,New Co\n")
        conf = jobs / "cluster.yaml"
        conf.write_text(CLUSTER_CONF % {"export": export, "jvm": env["SPARK_SUBMIT_OPTS"]})  # the driver's options
        submit_env = {**env, **aws, "LEADLAKE_CONF": str(conf), "HOME": str(home),
                      "LEADLAKE_CACHE": str(home / "cache")}
        pipeline = subprocess.run([str(CLUSTER), "submit", "run", "--lakehouse", LAKEHOUSE, "--demo", "--leads",
                                   str(CLUSTER_LEADS), "--only", *STAGES], env=submit_env, cwd=work,
                                  capture_output=True, text=True, timeout=900)
        return ClusterRuns(failing, pipeline, run_dir, jobs, aws)
    finally:
        subprocess.run([str(CLUSTER), "stop"], env=env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def cluster(head_starts) -> ClusterRuns:
    runs = head_start_result(head_starts, cluster_runs)
    if runs is None:
        pytest.skip("LEADLAKE_SKIP_CLUSTER_TESTS=1")
    return runs


@pytest.mark.cluster
def test_a_failing_job_exits_non_zero_with_one_line(cluster):
    out = cluster.failing.stdout + cluster.failing.stderr
    assert cluster.failing.returncode == 2, out[-3000:]
    assert "leadlake demo: delta.engine must be one of auto, delta-spark, delta-rs, not 'turbo'" in out
    assert "Traceback" not in out


@pytest.mark.cluster
def test_the_whole_pipeline_on_the_cluster_with_the_lakehouse_in_s3(cluster):
    """`leadlake run` under spark-submit, lakehouse in a bucket of a real S3 server."""
    aws = cluster.aws
    out = cluster.pipeline.stdout + cluster.pipeline.stderr  # spark-submit merges the driver's stderr into stdout
    assert cluster.pipeline.returncode == 0, out[-5000:]
    assert "master spark://127.0.0.1:" in out and "Delta engine delta-rs" in out
    assert f"{len(STAGES)} stages run in" in out and "read 2, accepted 2, quarantined 0" in out
    for name in STAGES:
        assert f"\n{name:<16} done" in out, (name, out[-3000:])
    assert aws["AWS_SECRET_ACCESS_KEY"] not in out

    def rows(table: str) -> pa.Table:
        return pa.table(DeltaTable(f"{LAKEHOUSE}/{table}", storage_options=aws).to_pyarrow_dataset().to_table())

    leads = {r["lead_id"]: r for r in rows("bronze/leads").to_pylist()}
    assert len(leads) == CLUSTER_LEADS + 1
    assert leads["L0000001"]["company"] == "Renamed Co" and leads["L0000001"]["source"] == "partner"
    assert leads["N0000001"]["company"] == "New Co"
    scores = rows("gold/lead_scores")
    assert scores.num_rows == len(leads) == len(set(scores["lead_id"].to_pylist()))
    assert all(0.0 <= p <= 1.0 for p in scores["p_convert"].to_pylist())
    assert set(scores["tier"].to_pylist()) <= {"high", "mid", "low"}
    assert rows("silver/text_embeddings").num_rows > 0
    assert list((cluster.jobs / "work").iterdir()) == [], "files were written under the working directory"
    executor_dirs = sorted(cluster.run_dir.glob("work-*/app-*/*"))
    assert {p.parents[1].name for p in executor_dirs} == {"work-1", "work-2"}, executor_dirs
    leaks = _places_holding(aws["AWS_SECRET_ACCESS_KEY"], aws, "crm", [cluster.run_dir, cluster.jobs])
    assert not leaks, f"the storage secret was written to {leaks[:10]}"


def _places_holding(secret: str, aws: dict, bucket: str, folders: list[Path]) -> list[str]:
    """Every object of the bucket (tables, MLflow runs and models) and every file under ``folders`` (worker and
    executor logs, the driver's home and cache) that holds ``secret``: in its bytes, or in a string value of a
    Parquet file, whose compression could hide it from a byte scan."""
    import io

    import boto3
    import pyarrow.parquet as pq

    def holds(name: str, data: bytes) -> bool:
        if secret.encode() in data:
            return True
        if name.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
            return any(secret in str(v) for col in table.columns if pa.types.is_string(col.type)
                       for v in col.to_pylist() if v is not None)
        return False

    s3 = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"], aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"], region_name=aws["AWS_REGION"])
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    assert keys, "nothing in the bucket to scan"
    leaks = [f"s3://{bucket}/{k}" for k in keys if holds(k, s3.get_object(Bucket=bucket, Key=k)["Body"].read())]
    files = [f for folder in folders for f in folder.rglob("*") if f.is_file() and not f.is_symlink()]
    return leaks + [str(f) for f in files if holds(f.name, f.read_bytes())]
