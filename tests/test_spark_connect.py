"""leadlake as a Spark Connect client: a real Connect server on 127.0.0.1, the scoring stages through it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyspark
import pytest
from deltalake import DeltaTable

from .conftest import PIPELINE_LEADS, job_env

CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """pyspark's own Spark Connect server (the class sbin/start-connect-server.sh launches), in local mode."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spark_home = Path(pyspark.__file__).parent
    logs = tmp_path_factory.mktemp("connect-server")
    env = job_env(SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1")
    log = (logs / "server.log").open("w")
    proc = subprocess.Popen(
        [str(spark_home / "bin" / "spark-submit"), "--class", CONNECT_SERVER, "--master", "local[2]",
         "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=4", "--driver-memory", "2g", "spark-internal"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("Spark Connect server did not start: " + (logs / "server.log").read_text()[-2000:])
            time.sleep(0.5)
    try:
        yield f"sc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_score_stages_run_through_a_spark_connect_session(notebook_runs, connect_server):
    """The client process has no JVM: the delta-rs source is registered over the connection and runs in
    the server's Python workers; the champion models (custom Python stages included) load and score there."""
    lakehouse, conf = notebook_runs.lakehouse, notebook_runs.conf_file
    before = DeltaTable(str(lakehouse / "gold" / "lead_scores")).version()
    env = {**os.environ, "SPARK_REMOTE": connect_server}
    proc = subprocess.run([sys.executable, "-m", "leadlake.cli", "run", "--lakehouse", str(lakehouse), "--conf",
                           str(conf), "--only", "score-leads", "score-clv"], env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert f"Spark Connect {connect_server}" in out and "Delta engine delta-rs" in out
    assert "\nscore-leads      done" in proc.stdout and "\nscore-clv        done" in proc.stdout
    scores = DeltaTable(str(lakehouse / "gold" / "lead_scores"))
    assert scores.version() == before + 1
    assert pa.table(scores.to_pyarrow_dataset().to_table()).num_rows == PIPELINE_LEADS
    clv = pa.table(DeltaTable(str(lakehouse / "gold" / "customer_clv")).to_pyarrow_dataset().to_table())
    assert clv.num_rows > 0 and all(v >= 0 for v in clv["clv_12m"].to_pylist())
