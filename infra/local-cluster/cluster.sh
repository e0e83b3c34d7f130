#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the pyspark installation:
# one master, N workers, each executor in its own JVM, like a real cluster.
#
#   infra/local-cluster/cluster.sh start [WORKERS] [CORES_PER_WORKER] [MEMORY_PER_WORKER]
#   infra/local-cluster/cluster.sh submit JOB [job args...]   # e.g. submit demo --lakehouse /tmp/lh
#   infra/local-cluster/cluster.sh status
#   infra/local-cluster/cluster.sh stop
#
# Environment: PYTHON (default .venv/bin/python), CLUSTER_DIR (pids, logs, work
# dirs; default infra/local-cluster/run), MASTER_PORT (7077), MASTER_UI_PORT (8080).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PYTHON="${PYTHON:-$repo/.venv/bin/python}"
CLUSTER_DIR="${CLUSTER_DIR:-$here/run}"
MASTER_PORT="${MASTER_PORT:-7077}"
MASTER_UI_PORT="${MASTER_UI_PORT:-8080}"
MASTER_URL="spark://127.0.0.1:${MASTER_PORT}"
export SPARK_HOME="${SPARK_HOME:-$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}"
export SPARK_LOCAL_IP=127.0.0.1
export PYSPARK_PYTHON="$PYTHON"
export SPARK_LOG_DIR="$CLUSTER_DIR/logs"
mkdir -p "$CLUSTER_DIR/logs"

die() { echo "cluster.sh: $*" >&2; exit 1; }
command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || die "Java 17+ is required (apt-get install openjdk-17-jre-headless)"

launch() {  # name, then the spark-class arguments
  local name="$1"; shift
  nohup "$SPARK_HOME/bin/spark-class" "$@" >"$CLUSTER_DIR/logs/$name.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/$name.pid"
}

master_json() {
  "$PYTHON" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:${MASTER_UI_PORT}/json/"
}

wait_for_workers() {  # expected count
  local want="$1" i
  for i in $(seq 1 120); do
    got=$(master_json 2>/dev/null \
          | "$PYTHON" -c 'import json,sys; print(sum(w["state"]=="ALIVE" for w in json.load(sys.stdin)["workers"]))' 2>/dev/null || echo 0)
    [ "$got" -ge "$want" ] && { echo "cluster up: $MASTER_URL with $got workers (UI http://127.0.0.1:${MASTER_UI_PORT})"; return 0; }
    sleep 1
  done
  die "workers did not register within 120s; see $CLUSTER_DIR/logs"
}

case "${1:-}" in
  start)
    workers="${2:-2}"; cores="${3:-1}"; memory="${4:-1g}"
    [ -f "$CLUSTER_DIR/master.pid" ] && kill -0 "$(cat "$CLUSTER_DIR/master.pid")" 2>/dev/null \
      && die "already running (pid $(cat "$CLUSTER_DIR/master.pid")); run stop first"
    launch master org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
    for n in $(seq 1 "$workers"); do
      mkdir -p "$CLUSTER_DIR/work-$n"
      launch "worker-$n" org.apache.spark.deploy.worker.Worker "$MASTER_URL" \
        --host 127.0.0.1 --cores "$cores" --memory "$memory" --webui-port 0 \
        --work-dir "$CLUSTER_DIR/work-$n"
    done
    wait_for_workers "$workers"
    ;;
  submit)
    shift; job="${1:-}"; [ -n "$job" ] || die "usage: submit JOB [args...]"; shift
    job="${job//-/_}"
    [ -f "$repo/jobs/$job.py" ] || die "no such job: jobs/$job.py"
    mkdir -p "$CLUSTER_DIR/dist"
    (cd "$repo" && rm -f "$CLUSTER_DIR/dist/leadlake.zip" && "$PYTHON" - "$CLUSTER_DIR/dist/leadlake.zip" <<'PY'
import pathlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for pkg in ("leadlake", "udfs"):
        for f in pathlib.Path(pkg).rglob("*.py"):
            z.write(f)
PY
    )
    # The driver reads leadlake's conf/ from this checkout; executors need only the code.
    export LEADLAKE_CONF_DIR="${LEADLAKE_CONF_DIR:-$repo/conf}"
    exec "$SPARK_HOME/bin/spark-submit" \
      --master "$MASTER_URL" \
      --conf spark.executor.memory="${EXECUTOR_MEMORY:-768m}" \
      --conf spark.pyspark.python="$PYTHON" \
      --conf spark.ui.enabled=false \
      --driver-java-options "-Dlog4j2.configurationFile=$repo/conf/log4j2.properties" \
      --py-files "$CLUSTER_DIR/dist/leadlake.zip" \
      "$repo/jobs/$job.py" --conf "${LEADLAKE_CONF:-$repo/conf/cluster.yaml}" "$@"
    ;;
  status)
    master_json || die "no master answering on port $MASTER_UI_PORT"
    ;;
  stop)
    for pidfile in "$CLUSTER_DIR"/worker-*.pid "$CLUSTER_DIR"/master.pid; do
      [ -f "$pidfile" ] || continue
      pid="$(cat "$pidfile")"
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    done
    echo "cluster stopped"
    ;;
  *)
    sed -n '2,12p' "$0"; exit 2 ;;
esac
