"""One local SparkSession for the whole suite, as the session factory builds it."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.pop("LEADLAKE_LAKEHOUSE", None)

from leadlake.config import Conf, load_conf
from leadlake.corpora import cache_dir
from leadlake.lakehouse import Lakehouse

from .jvm_classes import class_archive_opts

# Every Spark JVM the suite starts (its own, each CLI job's and the cluster's daemons, which inherit the environment)
# maps one archive of Spark's classes instead of loading them again: see tests/jvm_classes.py.
JVM_CLASSES = class_archive_opts(cache_dir().parent / "jvm")
for _var in ("SPARK_SUBMIT_OPTS", "SPARK_DAEMON_JAVA_OPTS"):
    os.environ[_var] = " ".join(filter(None, (os.environ.get(_var), JVM_CLASSES)))

# A leadlake job a test starts in a process of its own runs for seconds to a minute: compiled by C1 alone, without
# the profiling that feeds C2, it reaches its first write sooner (score-clv in a new JVM 27.9 s -> 24.5 s; the two text
# kills side by side 44.2 s -> 35.7 s and the cluster's driver and two executors 114 s -> 92 s, where C2's threads took
# the cores from the other JVMs). The session's own JVM runs the whole suite and keeps both compilers: C1 alone made
# the notebook pipeline 193 s -> 215 s.
SHORT_JOB_JVM = "-XX:TieredStopAtLevel=1"


def job_env(**extra: str) -> dict[str, str]:
    """The environment of a leadlake job, a Spark Connect server or a writer a test starts as a process of its own."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, **extra}
    env["SPARK_SUBMIT_OPTS"] = " ".join(filter(None, (env.get("SPARK_SUBMIT_OPTS"), SHORT_JOB_JVM)))
    return env


# The parallel collector: on the notebook pipeline (600 leads, one JVM) it spent ~30 s less JVM CPU than G1's
# concurrent threads and finished ~7% sooner (204 s and 199 s against 228 s and 214 s); tests only, the jobs keep
# the JVM's default.
# Text in fp32: text.engine auto then runs ONNX Runtime on every CPU, also where it would run torch in bf16 (AMX),
# so the suite takes the same path and time on every CI machine: a test embeds a few hundred texts, where a Python
# worker that starts without torch (0.4 s of imports against 5.4 s) matters more than bf16's 2x per text. The torch
# and bf16 paths have tests of their own (test_text_embeddings.py). And fp32 vectors of a rerun agree to the six
# digits the fault tests compare (bf16 on AMX rounds a text's vector by the shape of its batch).
TEST_SETTINGS = {
    "spark": {
        "master": "local[2]",
        "conf": {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g",
                 "spark.driver.extraJavaOptions": "-XX:+UseParallelGC"},
    },
    "text": {"precision": "fp32"},
}


def make_conf(root: Path, **overrides) -> Conf:
    return load_conf(lakehouse=str(root), overrides={**TEST_SETTINGS, **overrides})


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from leadlake.session import get_spark

    session = get_spark(make_conf(tmp_path_factory.mktemp("session-lakehouse")))
    yield session
    session.stop()


@pytest.fixture
def conf(tmp_path) -> Conf:
    return make_conf(tmp_path / "lakehouse")


@pytest.fixture
def lakehouse(spark, conf) -> Lakehouse:
    return Lakehouse(spark, conf)


DEMO_LEADS = 1500
FAST_MODELS = {"leads": {"model": {"max_iter": 30, "max_depth": 4}}, "clv": {"model": {"max_iter": 25}},
               "campaigns": {"model": {"max_iter": 20}}}


@pytest.fixture(scope="session")
def demo_lakehouse(spark, tmp_path_factory) -> Lakehouse:
    """One demo lakehouse with embeddings and mined needs, shared by the needs and lead tests."""
    from leadlake.demo import DemoSpec, generate_demo
    from leadlake.needs.categories import load_needs
    from leadlake.needs.mining import mine_needs
    from leadlake.needs.sentiment import sentiment_model
    from leadlake.text import encoder_spec

    lh = Lakehouse(spark, make_conf(tmp_path_factory.mktemp("demo-lakehouse"), **FAST_MODELS))
    generate_demo(lh, DemoSpec(leads=DEMO_LEADS, seed=5))
    spec = encoder_spec(lh.conf)
    lh.mining_report = mine_needs(lh, spec, sentiment_model(spec.model_id),
                                  load_needs("/nonexistent", spec, lh.conf))
    return lh


@pytest.fixture(scope="module")
def demo_copy(demo_lakehouse, tmp_path_factory) -> Lakehouse:
    """A private copy of the session demo lakehouse, for a module that writes to it.

    The session lakehouse stays as it was built, so each module sees the same
    demo whatever ran before it, and every test passes alone and in the suite.
    """
    import shutil

    root = tmp_path_factory.mktemp("demo-copy") / "lakehouse"
    shutil.copytree(demo_lakehouse.conf.lakehouse, root)
    return demo_lakehouse.with_conf(demo_lakehouse.conf.with_overrides({"lakehouse": str(root)}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 no one listens on now, for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _head_start_key(work: Callable[..., Any]) -> str:
    return f"{work.__module__}::{work.__name__}"


@pytest.fixture(scope="session", autouse=True)
def head_starts(request) -> Iterator[dict[str, Future]]:
    """Work a test hands to other processes alone (jobs submitted to a cluster, a wheel installed and run in a fresh
    environment) starts when the session starts, not when its test's turn comes.

    Such work leaves the session's JVM and Python idle while it runs, and the
    in-process tests leave part of the two cores idle (about 1.4 of 2 busy over
    a whole run): begun first, it runs in that part, and its test waits for what
    is left of it and checks what it did (``head_start_result``). A test names
    its work, a function of its module, with ``@pytest.mark.head_start("work")``;
    only the work of the tests in this run starts. Its parameters name session
    fixtures, resolved on the main thread before it starts; it never uses this
    process's Spark session, which the tests beside it use.

    It pays only while the cores have room: the fault tests' racing writers,
    their two ingests at once and the CLI ingest test, moved here as well (two
    at a time), took 88 s off those tests and added 84 s to the tests that ran
    beside them.
    """
    chosen: dict[str, Callable[..., Any]] = {}
    for item in request.session.items:
        for mark in item.iter_markers("head_start"):
            for name in mark.args:
                work = getattr(item.module, name, None)
                if not callable(work):
                    raise pytest.UsageError(f'{item.nodeid}: @pytest.mark.head_start("{name}") names no function '
                                            f"of {item.module.__name__}")
                chosen.setdefault(_head_start_key(work), work)
    with ThreadPoolExecutor(max_workers=max(1, len(chosen)), thread_name_prefix="head-start") as pool:
        futures = {}
        for key, work in chosen.items():
            fixtures = {name: request.getfixturevalue(name) for name in inspect.signature(work).parameters}
            futures[key] = pool.submit(work, **fixtures)
        yield futures


def head_start_result(head_starts: dict[str, Future], work: Callable[..., Any]) -> Any:
    """What ``work`` returned, once it has finished; its exception if it raised one."""
    key = _head_start_key(work)
    if key not in head_starts:
        raise LookupError(f"{key} was not started: mark the test that reads it "
                          f'@pytest.mark.head_start("{work.__name__}")')
    return head_starts[key].result(timeout=1800)


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto in server mode) on 127.0.0.1, and the environment to reach it.

    Yields (endpoint, env): env holds the standard AWS variables delta-rs,
    pyarrow and boto3 read, so a subprocess given it reaches this server with
    no leadlake conf at all.
    """
    import subprocess
    import time
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto S3 server did not start on {endpoint}")
            time.sleep(0.2)
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing-key-id",
           "AWS_SECRET_ACCESS_KEY": "testing-secret-key", "AWS_REGION": "us-east-1",
           "AWS_ALLOW_HTTP": "true"}
    try:
        yield endpoint, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make_bucket(env: dict, name: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=env["AWS_REGION"]) \
        .create_bucket(Bucket=name)


PIPELINE_LEADS = 600  # the fewest for which the demo has enough repeat buyers to train CLV
PIPELINE_CONF = """
text: {precision: fp32}
leads: {model: {max_iter: 8, max_depth: 3}}
clv: {model: {max_iter: 6}}
reco: {als: {max_iter: 5}}
campaigns: {model: {max_iter: 8}}
pipeline:
  train_sentiment: {rows_per_domain: 120, leave_one_domain_out: false}
  ingest:
    - {table: leads, input: %(export)s, format: csv}
"""


class Widgets:
    """``dbutils.widgets`` as a notebook sees it: text widgets with defaults, values set by the caller."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)

    def text(self, name: str, default: str, label: str | None = None) -> None:
        self.values.setdefault(name, default)

    def get(self, name: str) -> str:
        return self.values[name]


class NotebookRuns(NamedTuple):
    lakehouse: Path
    conf_file: Path
    printed: dict[str, str]
    logs: list[str]


@pytest.fixture(scope="session")
def notebook_runs(spark, tmp_path_factory) -> NotebookRuns:
    """The whole pipeline, built by running every stage's Databricks notebook in order on the local session.

    Keeps what each notebook printed and every log line the stages wrote, so
    later tests can check what a person would see (the privacy scan); later
    tests (Spark Connect, the report) also score and read what these notebooks trained.
    """
    import contextlib
    import io
    import logging
    import runpy

    root = tmp_path_factory.mktemp("notebook-lakehouse")
    export = root / "leads-update.csv"
    export.write_text("lead_id,created_at,source,company\nL0000001,2025-01-01,partner,Renamed Co\n")
    conf_file = root / "pipeline.yaml"
    conf_file.write_text(PIPELINE_CONF % {"export": export})
    lakehouse = root / "lh"
    notebooks = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))
    printed: dict[str, str] = {}
    logs: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logs.append(self.format(record))

    ours = logging.getLogger("leadlake")  # what `leadlake run` prints to stderr, at its default level
    level, keep = ours.level, Keep(level=logging.INFO)
    ours.addHandler(keep)
    ours.setLevel(logging.INFO)
    try:
        for nb in notebooks:
            if nb.stem == "00_overview":
                continue
            widgets = Widgets({"lakehouse": str(lakehouse), "conf": str(conf_file), "leads": str(PIPELINE_LEADS)})
            dbutils = type("DBUtils", (), {"widgets": widgets})()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                runpy.run_path(str(nb), init_globals={"spark": spark, "dbutils": dbutils}, run_name="__main__")
            printed[nb.stem] = out.getvalue()
    finally:
        ours.removeHandler(keep)
        ours.setLevel(level)
    return NotebookRuns(lakehouse, conf_file, printed, logs)
