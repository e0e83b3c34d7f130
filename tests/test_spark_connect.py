"""leadlake as a Spark Connect client: a real Connect server on 127.0.0.1, the scoring stages through it."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from .conftest import PIPELINE_LEADS, free_port


@pytest.fixture(scope="module")
def connect_server(spark):
    """pyspark's own Spark Connect service (what sbin/start-connect-server.sh runs), on 127.0.0.1, started in this
    session's JVM: the same gRPC server the standalone SparkConnectServer class starts, without a second JVM to
    start and warm up (the test took 47 s with one)."""
    port = free_port()
    jvm = spark._jvm
    context = spark._jsc.sc()
    context.conf().set("spark.connect.grpc.binding.address", "127.0.0.1")
    context.conf().set("spark.connect.grpc.binding.port", str(port))
    service = getattr(getattr(jvm.org.apache.spark.sql.connect.service, "SparkConnectService$"), "MODULE$")
    service.start(context)
    try:
        assert service.localPort() == port
        yield f"sc://127.0.0.1:{port}"
    finally:
        service.stop(getattr(service, "stop$default$1")(), getattr(service, "stop$default$2")())


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
