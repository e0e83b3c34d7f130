"""A real cluster: standalone master + two workers on 127.0.0.1, jobs via spark-submit.

Executors run in their own JVMs and Python workers, so this catches what
local mode hides: pickling of the data source, leadlake shipped with
--py-files, paths that only exist on the driver.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "infra" / "local-cluster" / "cluster.sh"
# Enough leads for every generator partition to hold rows on both workers; more only costs time.
LEADS = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.environ.get("LEADLAKE_SKIP_CLUSTER_TESTS") == "1":
        pytest.skip("LEADLAKE_SKIP_CLUSTER_TESTS=1")
    run_dir = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "CLUSTER_DIR": str(run_dir),
        "MASTER_PORT": str(_free_port()),
        "MASTER_UI_PORT": str(_free_port()),
    }
    start = subprocess.run([str(CLUSTER), "start", "2", "1", "1g"], env=env, capture_output=True,
                           text=True, timeout=180)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        yield env, run_dir
    finally:
        subprocess.run([str(CLUSTER), "stop"], env=env, capture_output=True, timeout=60)


def _submit(env, *args: str, timeout: int = 400) -> str:
    proc = subprocess.run([str(CLUSTER), "submit", *args], env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr  # spark-submit merges the Python driver's stderr into stdout
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.mark.cluster
def test_delta_write_read_and_merge_through_spark_submit(cluster, tmp_path):
    env, run_dir = cluster
    lakehouse = tmp_path / "lakehouse"
    out = _submit(env, "demo-data", "--lakehouse", str(lakehouse), "--leads", str(LEADS))
    assert "Delta engine delta-rs" in out and "master spark://127.0.0.1:" in out

    def rows(table: str) -> pa.Table:
        return pa.table(DeltaTable(str(lakehouse / table)).to_pyarrow_dataset().to_table())

    leads = rows("bronze/leads")
    assert leads.num_rows == LEADS and len(set(leads["lead_id"].to_pylist())) == LEADS
    assert rows("bronze/interactions").num_rows > LEADS
    won = sum(o == "won" for o in rows("bronze/conversions")["outcome"].to_pylist())
    assert rows("bronze/customers").num_rows == won > 0

    # A CRM export that updates one lead and adds another: the MERGE reads the
    # table in the executors and rewrites the files holding the key.
    export = tmp_path / "update.csv"
    export.write_text("lead_id,created_at,source,company\nL0000001,2025-01-01,partner,Renamed Co\n"
                      "N0000001,2025-02-01,referral,New Co\n")
    out = _submit(env, "ingest", "--lakehouse", str(lakehouse), "--table", "leads", "--input", str(export),
                  "--format", "csv")
    assert "read 2, accepted 2, quarantined 0" in out
    leads = {r["lead_id"]: r for r in rows("bronze/leads").to_pylist()}
    assert len(leads) == LEADS + 1
    assert leads["L0000001"]["company"] == "Renamed Co" and leads["L0000001"]["source"] == "partner"
    assert leads["N0000001"]["company"] == "New Co"
    assert DeltaTable(str(lakehouse / "bronze" / "leads")).version() >= 1

    executor_dirs = sorted(run_dir.glob("work-*/app-*/*"))
    assert {p.parents[1].name for p in executor_dirs} == {"work-1", "work-2"}, executor_dirs


@pytest.mark.cluster
def test_a_failing_job_exits_non_zero_with_one_line(cluster, tmp_path):
    env, _ = cluster
    bad_conf = tmp_path / "bad.yaml"
    bad_conf.write_text("delta:\n  engine: turbo\n")
    proc = subprocess.run(
        [str(CLUSTER), "submit", "demo", "--lakehouse", str(tmp_path / "lh")],
        env={**env, "LEADLAKE_CONF": str(bad_conf)}, capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2
    assert "leadlake demo: delta.engine must be one of auto, delta-spark, delta-rs, not 'turbo'" in out
    assert "Traceback" not in out
