"""One way to get a SparkSession, wherever leadlake runs.

In a Databricks notebook or under ``spark-submit`` the session (or its JVM)
already exists and carries the cluster's settings, so we reuse it and never
set ``master``. With ``spark.remote`` in the conf or ``SPARK_REMOTE`` in the
environment (``sc://host:15002``) leadlake is a Spark Connect client: no
local JVM, no Java needed. Only when leadlake starts Spark itself (tests,
demo, a laptop) does it pick local mode. Either way the session ends up able to read and
write Delta: through delta-spark when its jar is on the classpath, otherwise
through leadlake's delta-rs backed data source registered under the same
``delta`` format name.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from leadlake.config import Conf, conf_dir, load_conf, spark_properties
from leadlake.errors import ConfError, EnvironmentProblem

log = logging.getLogger("leadlake.session")

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
ENGINE_CONF_KEY = "spark.leadlake.delta.engine"
ENGINES = ("auto", "delta-spark", "delta-rs")
MIN_JAVA = 17


def get_spark(conf: Conf | None = None) -> SparkSession:
    """The active session if there is one, else a new one configured from ``conf``.

    The returned session has ``spark.leadlake.delta.engine`` set to the Delta
    engine in use (``delta-spark`` or ``delta-rs``).
    """
    conf = conf or load_conf()
    engine_pref = conf.get("delta.engine")
    if engine_pref not in ENGINES:
        raise ConfError(f"delta.engine must be one of {', '.join(ENGINES)}, not {engine_pref!r}")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    props = spark_properties(conf)
    spark = SparkSession.getActiveSession()
    remote = conf.get("spark.remote") or os.environ.get("SPARK_REMOTE")
    if spark is None and remote:
        spark = SparkSession.builder.remote(str(remote)).appName(conf.get("spark.app_name")) \
            .getOrCreate()
        _apply_runtime_props(spark, props)
    elif spark is None:
        spark = _start_session(conf, props, engine_pref)
    else:
        _apply_runtime_props(spark, props)

    engine = _resolve_engine(spark, engine_pref)
    if engine == "delta-rs":
        _register_delta_rs(spark)
    spark.conf.set(ENGINE_CONF_KEY, engine)
    where = f"Spark Connect {remote}" if is_connect(spark) else f"master {spark.sparkContext.master}"
    log.info("Spark %s, %s, Delta engine %s", spark.version, where, engine)
    return spark


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect client session (no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def connect_client() -> bool:
    """Whether this process talks to Spark through Spark Connect."""
    spark = SparkSession.getActiveSession()
    return spark is not None and is_connect(spark)


def default_parallelism(spark: SparkSession) -> int:
    """The cluster's task slots; under Spark Connect (no SparkContext) the shuffle partitions stand in."""
    if not is_connect(spark):
        return int(spark.sparkContext.defaultParallelism)
    return int(spark.conf.get("spark.default.parallelism", None) or spark.conf.get("spark.sql.shuffle.partitions"))


def delta_engine(spark: SparkSession) -> str:
    """The Delta engine ``get_spark`` chose for this session."""
    engine = spark.conf.get(ENGINE_CONF_KEY, None)
    if engine is None:
        engine = _resolve_engine(spark, "auto")
        if engine == "delta-rs":
            _register_delta_rs(spark)
        spark.conf.set(ENGINE_CONF_KEY, engine)
    return engine


def activate(spark: SparkSession) -> None:
    """Make ``spark`` the JVM's active session on the calling thread.

    Py4J serves each Python thread on its own JVM thread, which starts with no
    active session; Spark then cannot find Python data sources registered on
    ours (DATA_SOURCE_NOT_FOUND for ``delta`` in a worker thread).
    """
    jvm = getattr(spark, "_jvm", None)
    jsession = getattr(spark, "_jsparkSession", None)
    if jvm is not None and jsession is not None:
        jvm.org.apache.spark.sql.SparkSession.setActiveSession(jsession)


def _start_session(conf: Conf, props: dict[str, str], engine_pref: str) -> SparkSession:
    under_launcher = "PYSPARK_GATEWAY_PORT" in os.environ
    if not under_launcher:
        require_java()
    builder = SparkSession.builder.appName(conf.get("spark.app_name"))
    if not under_launcher:
        master = props.get("spark.master") or str(conf.get("spark.master"))
        builder = builder.master(master)
        props = _local_jvm_defaults(props, master)
    if engine_pref != "delta-rs" and _delta_jar_configured(props):
        props = {
            **props,
            "spark.sql.extensions": _append_csv(props.get("spark.sql.extensions"), DELTA_EXTENSION),
            "spark.sql.catalog.spark_catalog": props.get(
                "spark.sql.catalog.spark_catalog", DELTA_CATALOG
            ),
        }
    for key, value in props.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:
        if "JAVA_GATEWAY_EXITED" in str(exc) or "Java gateway process exited" in str(exc):
            raise EnvironmentProblem(
                "the Java process for Spark failed to start; check JAVA_HOME and "
                "`java -version` (Java 17+ is required)"
            ) from None
        raise


def _local_jvm_defaults(props: dict[str, str], master: str) -> dict[str, str]:
    """Quiet logging and a loopback address for a JVM that leadlake launches itself."""
    props = dict(props)
    log4j = conf_dir() / "log4j2.properties"
    java_opts = props.get("spark.driver.extraJavaOptions", "")
    if log4j.is_file() and "log4j" not in java_opts:
        props["spark.driver.extraJavaOptions"] = f"{java_opts} -Dlog4j2.configurationFile={log4j}".strip()
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return props


def _apply_runtime_props(spark: SparkSession, props: dict[str, str]) -> None:
    """Set what a running session allows; static and cluster settings stay the cluster's."""
    for key, value in props.items():
        if not key.startswith("spark.sql.") or key in ("spark.sql.extensions",):
            continue
        try:
            spark.conf.set(key, value)
        except Exception:
            log.debug("cannot change %s on a running session; keeping the cluster's value", key)


def require_java() -> str:
    """Path of a Java 17+ ``java``, or one clear error line instead of a Py4J stack trace."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise EnvironmentProblem(
            "Java 17+ is required by Spark but was not found: install it "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        raise EnvironmentProblem(f"{java} -version failed; check the Java installation") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise EnvironmentProblem(
                f"Java {MIN_JAVA}+ is required by Spark 4 but {java} is Java {major}"
            )
    return java


def _append_csv(existing: str | None, item: str) -> str:
    parts = [p for p in (existing or "").split(",") if p.strip()]
    return ",".join([*parts, item]) if item not in parts else ",".join(parts)


def _delta_jar_configured(props: dict[str, str]) -> bool:
    """Whether the JVM about to start will have delta-spark's classes.

    Decided before the JVM starts because the Delta extension must be set at
    session creation: a jar in Spark's own jars/ directory, or one named by the
    launcher (spark-submit --jars/--packages) or the profile.
    """
    from pyspark import SparkConf

    spark_home = os.environ.get("SPARK_HOME") or str(Path(__import__("pyspark").__file__).parent)
    if glob.glob(os.path.join(spark_home, "jars", "delta-spark*.jar")):
        return True
    launcher = dict(SparkConf().getAll())
    for key in ("spark.jars", "spark.jars.packages", "spark.driver.extraClassPath"):
        for source in (props, launcher):
            value = source.get(key) or ""
            if "delta-spark" in value or "io.delta:" in value:
                return True
    return False


def _jvm_has_class(spark: SparkSession, name: str) -> bool | None:
    """True/False from the driver JVM; None when there is no JVM to ask (Spark Connect)."""
    if is_connect(spark):
        return None
    jvm = getattr(spark, "_jvm", None) or getattr(spark.sparkContext, "_jvm", None)
    if jvm is None:
        return None
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(name, False, loader)
        return True
    except Exception:
        return False


def _resolve_engine(spark: SparkSession, engine_pref: str) -> str:
    if engine_pref == "delta-rs":
        return "delta-rs"
    try:
        has_delta = _jvm_has_class(spark, DELTA_EXTENSION)
    except Exception:
        has_delta = None
    if has_delta is None:
        # Spark Connect: no JVM to ask. A server with Delta says so in its settings (the
        # extension, or Databricks, where Delta is built in); any other server gets the
        # delta-rs source, registered over the connection and run in the server's workers.
        if engine_pref == "delta-spark" or _server_has_delta(spark):
            return "delta-spark"
        return "delta-rs"
    if has_delta:
        return "delta-spark"
    if engine_pref == "delta-spark":
        raise EnvironmentProblem(
            "delta.engine is 'delta-spark' but io.delta classes are not on the classpath; "
            "add the jar (--packages io.delta:delta-spark_2.13:<version>) or use engine 'auto'"
        )
    return "delta-rs"


def _server_has_delta(spark: SparkSession) -> bool:
    extensions = spark.conf.get("spark.sql.extensions", None) or ""
    databricks = spark.conf.get("spark.databricks.clusterUsageTags.sparkVersion", None)
    return DELTA_EXTENSION in extensions or bool(databricks)


def _register_delta_rs(spark: SparkSession) -> None:
    from leadlake.delta.source import DeltaRsDataSource

    # Filter pushdown (file skipping by partition values and min/max statistics) stays as the
    # session has it: off in conf/spark/*.yaml, since Spark shares one pushdown's file plan between
    # the scans of one relation (see there).
    spark.dataSource.register(DeltaRsDataSource)
