"""A class-data-sharing archive of the classes a leadlake Spark JVM loads, so each test JVM starts sooner.

The suite starts a few dozen Spark JVMs beside its own (every CLI job a fault
test kills and reruns, the Spark Connect server, the cluster's driver), and a
JVM spends its first seconds loading and verifying Spark's ~15,000 classes.
Java's dynamic CDS archive keeps them parsed and verified in one file that
every later JVM maps: on this machine a session plus its first jobs took 6.1 s
instead of 8.7 s. The archive is made once per Java build and Spark jar set,
kept beside the downloaded corpora, and handed to every ``spark-submit`` JVM
through ``SPARK_SUBMIT_OPTS``. A JVM whose class path differs (a cluster
driver with extra jars) quietly starts without it; nothing else changes.

Run as a script it is the workload whose classes go into the archive.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def _key(java: str) -> str:
    """Java's build, the jars and this workload: an archive made for other classes is never offered."""
    import pyspark

    version = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    jars = sorted((p.name, p.stat().st_size) for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar"))
    workload = Path(__file__).read_bytes()
    return hashlib.sha256(repr((version, pyspark.__version__, jars, workload)).encode()).hexdigest()[:16]


def class_archive_opts(cache: Path) -> str:
    """JVM options that use the archive for this Java and Spark, made first when missing.

    "" when it cannot be made (no Java, a cache that cannot be written, a workload that fails): the suite then
    runs as it would without it, only slower, and says so once on stderr.
    """
    from leadlake.errors import EnvironmentProblem
    from leadlake.session import require_java

    try:
        java = require_java()
        archive = cache / f"spark-classes-{_key(java)}.jsa"
        if not archive.exists():
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache, prefix=".jsa-") as work:
                partial = Path(work) / archive.name
                env = {**os.environ, "SPARK_SUBMIT_OPTS": f"-XX:ArchiveClassesAtExit={partial} {QUIET}",
                       "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
                done = subprocess.run([sys.executable, "-m", "tests.jvm_classes", work], env=env,
                                      capture_output=True, text=True, timeout=600)
                if done.returncode != 0 or not partial.exists():
                    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                    raise OSError(f"the workload exited {done.returncode}: {last}")
                partial.replace(archive)  # whole or not at all, should two suites make it at once
            for stale in cache.glob("spark-classes-*.jsa"):  # made for a Java, Spark or workload no longer here
                if stale != archive:
                    stale.unlink(missing_ok=True)
    except (OSError, subprocess.SubprocessError, EnvironmentProblem) as exc:
        print(f"tests: no JVM class archive ({exc}); Spark JVMs start without it", file=sys.stderr)
        return ""
    return f"-XX:SharedArchiveFile={archive} {QUIET}"


def _workload(root: Path) -> None:
    """What most tests do: Delta writes, reads and a MERGE, joins and windows, Arrow and pandas UDFs, ML fits
    saved and loaded."""
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StringIndexer, VectorAssembler
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from leadlake.config import load_conf
    from leadlake.lakehouse import Lakehouse
    from leadlake.session import get_spark

    conf = load_conf(lakehouse=str(root / "lh"), overrides={"spark": {"master": "local[2]"}})
    lh = Lakehouse(get_spark(conf), conf)
    spark = lh.spark
    n = F.col("id")
    df = spark.range(200).select(n.cast("string").alias("k"), (n % 2).cast("double").alias("y"), (n % 7).alias("x"),
                                 F.when(n % 3 == 0, "a").otherwise("b").alias("c"))
    lh.write(df, "gold.warm")
    lh.upsert(lh.read("gold.warm").withColumn("x", F.col("x") + 1), "gold.warm", ["k"])
    joined = lh.read("gold.warm").join(df.select("k", F.col("x").alias("x0")), "k").groupBy("c").agg(F.sum("x"))
    joined.toPandas()

    @F.pandas_udf("double")
    def twice(v: pd.Series) -> pd.Series:
        return v * 2

    lh.read("gold.warm").select(twice("x")).collect()
    lh.read("gold.warm").withColumn("r", F.row_number().over(Window.partitionBy("c").orderBy("x"))).collect()
    model = Pipeline(stages=[StringIndexer(inputCol="c", outputCol="ci"),
                             VectorAssembler(inputCols=["x", "ci"], outputCol="features"),
                             GBTClassifier(labelCol="y", maxIter=3, maxDepth=2)]).fit(lh.read("gold.warm"))
    model.write().save(str(root / "model"))
    PipelineModel.load(str(root / "model")).transform(df).select("prediction").collect()
    featurized = model.stages[1].transform(model.stages[0].transform(df))
    KMeans(k=2, maxIter=2).fit(featurized).transform(featurized).count()
    spark.stop()


if __name__ == "__main__":
    _workload(Path(sys.argv[1]))
