"""The Delta layer, on whichever engine this machine has (delta-rs here, delta-spark on clusters)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from pyspark.ml.linalg import Vectors
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.sql import types as T

from leadlake.errors import ConfError, DeltaError, EnvironmentProblem, SchemaMismatch
from leadlake.lakehouse import Lakehouse
from leadlake.session import delta_engine, get_spark

from .conftest import make_conf

ALL_TYPES = T.StructType(
    [
        T.StructField("id", T.LongType()),
        T.StructField("b", T.ByteType()),
        T.StructField("sh", T.ShortType()),
        T.StructField("i", T.IntegerType()),
        T.StructField("f", T.FloatType()),
        T.StructField("d", T.DoubleType()),
        T.StructField("dec", T.DecimalType(38, 10)),
        T.StructField("s", T.StringType()),
        T.StructField("bin", T.BinaryType()),
        T.StructField("flag", T.BooleanType()),
        T.StructField("day", T.DateType()),
        T.StructField("ts", T.TimestampType()),
        T.StructField("ts_ntz", T.TimestampNTZType()),
        T.StructField("emb", T.ArrayType(T.FloatType())),
        T.StructField("tags", T.ArrayType(T.StringType())),
        T.StructField("attrs", T.MapType(T.StringType(), T.LongType())),
        T.StructField("addr", T.StructType([T.StructField("city", T.StringType()),
                                            T.StructField("zip", T.IntegerType())])),
    ]
)

ROWS = [
    (1, 1, 300, 70000, 1.5, 2.25, Decimal("12345678901234567890.0123456789"), "Zoë — 東京",
     b"\x00\xff", True, dt.date(2024, 2, 29), dt.datetime(2024, 3, 1, 12, 30, 15, 123456),
     dt.datetime(2024, 3, 1, 8, 0), [0.25, -1.0], ["a", "b"], {"x": 1}, ("Paris", 75001)),
    (2, -128, -32768, -(2**31), float("inf"), -0.0, Decimal("-0.0000000001"), "",
     b"", False, dt.date(1970, 1, 1), dt.datetime(1999, 12, 31, 23, 59, 59),
     dt.datetime(2000, 1, 1), [], [], {}, (None, None)),
    (3, None, None, None, None, None, None, None, None, None, None, None, None, None, None,
     None, None),
]


def table_files_on_disk(path: str) -> set[str]:
    root = Path(path)
    return {str(p.relative_to(root)) for p in root.rglob("*.parquet")}


def table_files_in_log(path: str) -> set[str]:
    from urllib.parse import unquote

    return {unquote(u) for u in pa.table(DeltaTable(path).get_add_actions(flatten=True))["path"].to_pylist()}


@pytest.fixture(params=[True, False], ids=["spark parquet reader", "delta-rs data source"])
def read_lakehouse(spark, tmp_path, request) -> Lakehouse:
    """A lakehouse reading its plain local tables with Spark's Parquet reader, or every table through the data
    source: what a read returns must not depend on which."""
    return Lakehouse(spark, make_conf(tmp_path / "lakehouse", delta={"spark_parquet_reads": request.param}))


def test_every_supported_type_round_trips(spark, read_lakehouse):
    df = spark.createDataFrame(ROWS, ALL_TYPES)
    read_lakehouse.write(df, "bronze.types", mode="overwrite")
    back = read_lakehouse.read("bronze.types")
    assert [(f.name, f.dataType) for f in back.schema.fields] == [
        (f.name, f.dataType) for f in ALL_TYPES.fields
    ]
    assert back.orderBy("id").collect() == df.orderBy("id").collect()


def test_ml_vectors_are_stored_as_double_arrays(spark, lakehouse):
    df = spark.createDataFrame([(1, Vectors.dense([0.5, 1.0])), (2, Vectors.sparse(3, {1: 2.0}))],
                               ["id", "v"])
    lakehouse.write(df, "silver.vectors", mode="overwrite")
    back = lakehouse.read("silver.vectors")
    assert back.schema["v"].dataType == T.ArrayType(T.DoubleType())
    assert [r.v for r in back.orderBy("id").collect()] == [[0.5, 1.0], [0.0, 2.0, 0.0]]


def test_spark_written_table_reads_in_deltalake(spark, lakehouse):
    df = spark.createDataFrame(ROWS, ALL_TYPES)
    lakehouse.write(df, "bronze.types", mode="overwrite")
    table = DeltaTable(lakehouse.ref("bronze.types").path)
    got = pa.table(table.to_pyarrow_dataset().to_table()).sort_by("id")
    assert got.num_rows == 3
    assert got.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert got.schema.field("ts_ntz").type == pa.timestamp("us")
    assert got.schema.field("dec").type == pa.decimal128(38, 10)
    first = got.slice(0, 1).to_pylist()[0]
    assert first["s"] == "Zoë — 東京"
    assert first["dec"] == Decimal("12345678901234567890.0123456789")
    assert first["ts"] == dt.datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc)
    assert first["addr"] == {"city": "Paris", "zip": 75001}
    assert first["emb"] == [0.25, -1.0]


def test_deltalake_written_table_reads_in_spark(spark, read_lakehouse, tmp_path):
    path = read_lakehouse.ref("bronze.from_rs").path
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(["a", None, "ccc"], pa.large_string()),
            "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)] * 3,
                           pa.timestamp("us", tz="UTC")),
            "amount": pa.array([Decimal("1.10"), Decimal("2.00"), None], pa.decimal128(10, 2)),
            "country": ["US", "DE", "US"],
        }
    )
    write_deltalake(path, data, partition_by=["country"])
    back = read_lakehouse.read("bronze.from_rs")
    assert back.schema["name"].dataType == T.StringType()
    assert back.schema["at"].dataType == T.TimestampType()
    rows = sorted(back.collect(), key=lambda r: r.id)
    assert [(r.id, r.name, r.amount, r.country) for r in rows] == [
        (1, "a", Decimal("1.10"), "US"), (2, None, Decimal("2.00"), "DE"), (3, "ccc", None, "US"),
    ]
    assert rows[0].at == dt.datetime(2024, 1, 1)


def test_multi_partition_write_is_one_commit(spark, lakehouse):
    df = spark.range(0, 4000, numPartitions=8).withColumn("half", (F.col("id") % 2).cast("int"))
    lakehouse.write(df, "bronze.many", mode="append", partition_by=["half"])
    history = lakehouse.history("bronze.many")
    assert len(history) == 1
    path = lakehouse.ref("bronze.many").path
    assert len(table_files_in_log(path)) >= 8
    assert lakehouse.read("bronze.many").count() == 4000


def test_time_travel_by_version_and_timestamp(spark, read_lakehouse):
    read_lakehouse.write(spark.range(10), "bronze.tt", mode="append")
    time.sleep(1.0)
    read_lakehouse.write(spark.range(10, 15), "bronze.tt", mode="append")
    time.sleep(1.0)
    read_lakehouse.write(spark.range(100, 101), "bronze.tt", mode="overwrite")
    assert read_lakehouse.version("bronze.tt") == 2
    assert read_lakehouse.read("bronze.tt", version=0).count() == 10
    assert read_lakehouse.read("bronze.tt", version=1).count() == 15
    assert [r.id for r in read_lakehouse.read("bronze.tt").collect()] == [100]
    # Delta resolves a timestamp by commit file time, a few ms after the commit's own
    # timestamp: ask half a second after version 1 committed.
    commits = {h["version"]: h["timestamp"] for h in read_lakehouse.history("bronze.tt")}
    v1_time = dt.datetime.fromtimestamp(commits[1] / 1000 + 0.5, dt.timezone.utc).isoformat()
    assert read_lakehouse.read("bronze.tt", timestamp=v1_time).count() == 15


@pytest.fixture
def file_skipping(spark):
    """Filter pushdown on for one test: off by default (conf/spark/local.yaml says why), opt-in (with the reader
    option fileSkipping) for a session that never filters one read two ways."""
    key = "spark.sql.python.filterPushdown.enabled"
    before = spark.conf.get(key, "false")
    spark.conf.set(key, "true")
    yield
    spark.conf.set(key, before)


def test_one_read_filtered_two_ways_in_one_plan_keeps_every_row(spark, read_lakehouse):
    """Two branches of a union over the same read, each with its own filter: both branches' rows come back
    (with filter pushdown on, Spark 4.1 plans both scans with one branch's files and this lost rows)."""
    rows = [(f"h{i}", "a" if i % 2 else "b", i) for i in range(200)]
    read_lakehouse.write(spark.createDataFrame(rows, "key string, model string, v int").repartition(2, "model"),
                    "silver.two_models", mode="overwrite")
    stored = read_lakehouse.read("silver.two_models")
    keys = spark.createDataFrame([(f"h{i}",) for i in range(200)], "key string")
    parts = [keys.join(stored.where(F.col("model") == m).select("key", "v"), "key").withColumn("m", F.lit(m))
             for m in ("a", "b")]
    got = parts[0].unionByName(parts[1]).groupBy("m").count().collect()
    assert {r.m: r["count"] for r in got} == {"a": 100, "b": 100}


def _scan_partitions(spark, path: str, where=None) -> int:
    df = spark.read.format("delta").option("maxPartitionBytes", "1").option("fileSkipping", "true").load(path)
    if where is not None:
        df = df.where(where)
    return df.rdd.getNumPartitions()


def test_partition_values_prune_files(spark, lakehouse, file_skipping):
    if delta_engine(spark) != "delta-rs":
        pytest.skip("counts scan partitions of leadlake's delta-rs data source")
    df = spark.range(0, 800, numPartitions=2).withColumn(
        "country", F.element_at(F.array(*[F.lit(c) for c in ["US", "DE", "FR", "IN"]]),
                                (F.col("id") % 4 + 1).cast("int"))
    )
    lakehouse.write(df, "bronze.by_country", mode="overwrite", partition_by=["country"])
    path = lakehouse.ref("bronze.by_country").path
    assert len(table_files_in_log(path)) == 8
    assert _scan_partitions(spark, path) == 8
    assert _scan_partitions(spark, path, F.col("country") == "US") == 2
    assert _scan_partitions(spark, path, F.col("country").isin("US", "DE")) == 4
    us = lakehouse.read("bronze.by_country", where=F.col("country") == "US")
    assert us.count() == 200 and {r.country for r in us.select("country").distinct().collect()} == {"US"}


def test_min_max_statistics_skip_files(spark, lakehouse, file_skipping):
    if delta_engine(spark) != "delta-rs":
        pytest.skip("counts scan partitions of leadlake's delta-rs data source")
    df = spark.range(0, 1000).repartitionByRange(4, "id").withColumn(
        "at", F.timestamp_seconds(F.lit(1_700_000_000) + F.col("id") * 3600)
    )
    lakehouse.write(df, "bronze.ranged", mode="overwrite")
    path = lakehouse.ref("bronze.ranged").path
    assert _scan_partitions(spark, path) == 4
    assert _scan_partitions(spark, path, F.col("id") < 10) == 1
    assert _scan_partitions(spark, path, F.col("id") > 2000) == 1  # nothing matches: one empty split
    assert spark.read.format("delta").load(path).where(F.col("id") > 2000).count() == 0
    late = dt.datetime.fromtimestamp(1_700_000_000 + 990 * 3600, dt.timezone.utc).replace(tzinfo=None)
    assert _scan_partitions(spark, path, F.col("at") >= F.lit(late)) == 1
    assert spark.read.format("delta").load(path).where(F.col("at") >= F.lit(late)).count() == 10


def test_column_pruning(spark, read_lakehouse):
    df = spark.createDataFrame(ROWS, ALL_TYPES)
    read_lakehouse.write(df, "bronze.types", mode="overwrite")
    back = read_lakehouse.read("bronze.types", columns=["s", "id"])
    assert back.columns == ["s", "id"]
    assert sorted(r.id for r in back.collect()) == [1, 2, 3]
    with pytest.raises(DeltaError, match="nope"):
        read_lakehouse.read("bronze.types", columns=["id", "nope"]).collect()


def test_plain_local_tables_are_read_by_sparks_parquet_reader_the_rest_by_the_data_source(spark, tmp_path):
    """Which reader a read takes, seen in the files Spark says it scans (none for a Python data source), and
    which version: the files of the version asked for, or of the latest one when the DataFrame was made."""
    if delta_engine(spark) != "delta-rs":
        pytest.skip("the choice is the delta-rs engine's")
    lh = Lakehouse(spark, make_conf(tmp_path / "lakehouse"))
    lh.write(spark.range(0, 100, numPartitions=2), "bronze.plain", mode="overwrite")
    path = lh.ref("bronze.plain").path
    first = table_files_in_log(path)
    lh.write(spark.range(100, 150), "bronze.plain", mode="append")

    def scanned(df) -> set[str]:
        return {f.removeprefix(f"file://{path}/") for f in df.inputFiles()}

    latest = lh.read("bronze.plain")
    assert scanned(latest) == table_files_in_log(path) and len(first) == 2 and latest.count() == 150
    assert scanned(lh.read("bronze.plain", version=0)) == first
    assert lh.read("bronze.plain", version=0, where=F.col("id") >= 50).count() == 50
    lh.write(spark.range(150, 160), "bronze.plain", mode="append")
    assert latest.count() == 150, "a DataFrame reads the version that was the latest when it was made"
    assert lh.read("bronze.plain").count() == 160

    lh.write(spark.range(0).withColumn("k", F.lit("x")), "bronze.empty", mode="overwrite")
    empty = lh.read("bronze.empty", columns=["K"])
    assert empty.columns == ["k"] and empty.count() == 0

    lh.write(spark.range(8).withColumn("country", F.when(F.col("id") < 3, "US").otherwise("DE")),
             "bronze.partitioned", mode="overwrite", partition_by=["country"])
    partitioned = lh.read("bronze.partitioned")
    assert scanned(partitioned) == set() and partitioned.where(F.col("country") == "US").count() == 3

    through_source = Lakehouse(spark, make_conf(tmp_path / "lakehouse", delta={"spark_parquet_reads": False}))
    assert scanned(through_source.read("bronze.plain")) == set()
    assert sorted(through_source.read("bronze.plain").collect()) == sorted(lh.read("bronze.plain").collect())


@pytest.mark.parametrize("folder", ["lake house", "lake [1]"])
def test_a_merge_through_sparks_parquet_reader_rewrites_only_the_files_holding_its_keys(spark, tmp_path, folder):
    """The MERGE learns which files hold a source key from Spark's ``_metadata.file_path`` and names them to the
    Delta log as the log names them, under a root with a space; a root with characters Spark would read as a
    glob is left to the data source."""
    if delta_engine(spark) != "delta-rs":
        pytest.skip("the choice is the delta-rs engine's")
    lh = Lakehouse(spark, make_conf(tmp_path / folder))
    lh.write(_leads(spark, range(0, 50), 1).coalesce(1), "gold.scores", mode="append")
    lh.write(_leads(spark, range(50, 100), 1).coalesce(1), "gold.scores", mode="append")
    path = lh.ref("gold.scores").path
    before = table_files_in_log(path)
    assert len(before) == 2
    lh.upsert(_leads(spark, range(60, 70), 2), "gold.scores", ["lead_id"])
    after = table_files_in_log(path)
    assert len(before - after) == 1 and len(before & after) == 1, "the file holding the keys rewritten, the other kept"
    scores = {r.lead_id: r.score for r in lh.read("gold.scores").collect()}
    assert len(scores) == 100 and scores["L65"] == 2 and scores["L55"] == 1 and scores["L5"] == 1
    assert bool(lh.read("gold.scores").inputFiles()) == ("[" not in folder)


def _fail_on(bad_id: int):
    @F.udf(T.LongType())
    def explode_at(i):
        if i == bad_id:
            raise ValueError(f"simulated task failure at id {i}")
        return i

    return explode_at


def test_failed_task_leaves_previous_version_and_no_visible_rows(spark, lakehouse):
    lakehouse.write(spark.range(100), "bronze.atomic", mode="overwrite")
    path = lakehouse.ref("bronze.atomic").path
    before_files = table_files_on_disk(path)
    df = spark.range(0, 2000, numPartitions=4).select(_fail_on(1900)("id").alias("id"))
    with pytest.raises(Exception, match="simulated task failure"):
        lakehouse.write(df, "bronze.atomic", mode="append", extra_options={"targetFileRows": "100"})
    assert lakehouse.version("bronze.atomic") == 0
    assert lakehouse.read("bronze.atomic").count() == 100
    assert table_files_in_log(path) == before_files
    assert table_files_on_disk(path) == before_files, "aborted write left its files behind"


def test_txn_app_id_makes_a_write_idempotent(spark, lakehouse):
    df = spark.range(50)
    lakehouse.write(df, "gold.idem", mode="append", txn=("nightly-score", 7))
    lakehouse.write(df, "gold.idem", mode="append", txn=("nightly-score", 7))
    lakehouse.write(df, "gold.idem", mode="append", txn=("nightly-score", 6))
    assert lakehouse.version("gold.idem") == 0
    assert lakehouse.read("gold.idem").count() == 50
    lakehouse.write(df, "gold.idem", mode="append", txn=("nightly-score", 8))
    assert lakehouse.read("gold.idem").count() == 100
    assert DeltaTable(lakehouse.ref("gold.idem").path).transaction_version("nightly-score") == 8


def _leads(spark, ids, score):
    return spark.createDataFrame(
        [(f"L{i}", score, f"co{i}") for i in ids], "lead_id string, score int, company string"
    )


def test_upsert_inserts_updates_and_never_duplicates(spark, read_lakehouse):
    read_lakehouse.upsert(_leads(spark, range(100), 1), "gold.scores", ["lead_id"])
    change = _leads(spark, range(90, 110), 2)
    read_lakehouse.upsert(change, "gold.scores", ["lead_id"])
    first = sorted(read_lakehouse.read("gold.scores").collect())
    assert len(first) == 110
    assert len({r.lead_id for r in first}) == 110
    scores = {r.lead_id: r.score for r in first}
    assert scores["L5"] == 1 and scores["L95"] == 2 and scores["L105"] == 2
    read_lakehouse.upsert(change, "gold.scores", ["lead_id"])
    assert sorted(read_lakehouse.read("gold.scores").collect()) == first


def test_upsert_refuses_duplicate_or_null_source_keys(spark, lakehouse):
    lakehouse.upsert(_leads(spark, range(3), 1), "gold.scores", ["lead_id"])
    dup = _leads(spark, [1, 1, 2], 5)
    with pytest.raises(DeltaError, match="1 source rows repeat a key"):
        lakehouse.upsert(dup, "gold.scores", ["lead_id"])
    nulls = spark.createDataFrame([(None, 1, "x")], "lead_id string, score int, company string")
    with pytest.raises(DeltaError, match="null key"):
        lakehouse.upsert(nulls, "gold.scores", ["lead_id"])
    assert lakehouse.read("gold.scores").count() == 3


def test_append_with_other_columns_fails_naming_them(spark, lakehouse):
    lakehouse.write(_leads(spark, range(3), 1), "bronze.leads", mode="append")
    extra = _leads(spark, [9], 1).withColumn("region", F.lit("EMEA"))
    with pytest.raises(SchemaMismatch, match=r"columns not in the table: region string"):
        lakehouse.write(extra, "bronze.leads", mode="append")
    retyped = _leads(spark, [9], 1).withColumn("score", F.col("score").cast("string"))
    with pytest.raises(SchemaMismatch, match=r"score \(int in the table, string in the data\)"):
        lakehouse.write(retyped, "bronze.leads", mode="append")
    assert lakehouse.read("bronze.leads").count() == 3


def test_merge_schema_adds_columns(spark, read_lakehouse):
    read_lakehouse.write(_leads(spark, range(3), 1), "bronze.leads", mode="append")
    extra = _leads(spark, [9], 1).withColumn("region", F.lit("EMEA"))
    read_lakehouse.write(extra, "bronze.leads", mode="append", merge_schema=True)
    back = read_lakehouse.read("bronze.leads")
    assert back.columns == ["lead_id", "score", "company", "region"]
    assert {r.lead_id: r.region for r in back.collect()} == {"L0": None, "L1": None, "L2": None, "L9": "EMEA"}


def test_overwrite_with_new_schema_needs_overwrite_schema(spark, lakehouse):
    lakehouse.write(_leads(spark, range(3), 1), "bronze.leads", mode="append")
    other = spark.range(5).withColumnRenamed("id", "n")
    with pytest.raises(SchemaMismatch, match="overwriteSchema"):
        lakehouse.write(other, "bronze.leads", mode="overwrite")
    lakehouse.write(other, "bronze.leads", mode="overwrite", overwrite_schema=True)
    assert lakehouse.read("bronze.leads").columns == ["n"]
    assert lakehouse.read("bronze.leads").count() == 5


def test_table_names_cannot_escape_the_lakehouse(tmp_path):
    from leadlake.delta.tables import resolve_table

    conf = make_conf(tmp_path / "lh")
    assert resolve_table(conf, "bronze.leads").path == str((tmp_path / "lh" / "bronze" / "leads").resolve())
    for bad in ["../etc.passwd", "bronze/../../x", "bronze.leads/..", "..", "bronze", "a.b.c"]:
        with pytest.raises(ConfError):
            resolve_table(conf, bad)
    escaping = make_conf(tmp_path / "lh", tables={"bronze.leads": {"path": "../../outside"}})
    with pytest.raises(ConfError, match="outside the lakehouse root"):
        resolve_table(escaping, "bronze.leads")
    catalog = make_conf(tmp_path / "lh", catalog="main")
    assert resolve_table(catalog, "gold.lead_scores").catalog_name == "main.gold.lead_scores"


def test_concurrent_appends_all_land(spark, lakehouse):
    lakehouse.write(spark.range(0), "bronze.events", mode="append")
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for k in range(3):
                start = offset + k * 100
                lakehouse.write(spark.range(start, start + 100), "bronze.events", mode="append")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(o,)) for o in (0, 10_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ids = [r.id for r in lakehouse.read("bronze.events").collect()]
    assert len(ids) == 600 and len(set(ids)) == 600
    assert lakehouse.version("bronze.events") == 6


def test_concurrent_upserts_keep_keys_unique(spark, read_lakehouse):
    read_lakehouse.upsert(_leads(spark, range(20), 0), "gold.scores", ["lead_id"])
    errors: list[BaseException] = []

    def upsert(ids, score):
        try:
            read_lakehouse.upsert(_leads(spark, ids, score), "gold.scores", ["lead_id"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=upsert, args=(range(10, 30), 1)),
        threading.Thread(target=upsert, args=(range(25, 40), 2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    rows = read_lakehouse.read("gold.scores").collect()
    keys = [r.lead_id for r in rows]
    assert len(keys) == len(set(keys)) == 40
    scores = {r.lead_id: r.score for r in rows}
    assert scores["L5"] == 0 and scores["L15"] == 1 and scores["L35"] == 2
    assert scores["L27"] in (1, 2)


def test_stale_commit_is_refused_not_corrupting(spark, lakehouse):
    """An overwrite planned against an old version must not silently drop a newer append."""
    from leadlake.delta.source import DeltaRsWriter

    if delta_engine(spark) != "delta-rs":
        pytest.skip("drives leadlake's delta-rs writer directly")
    lakehouse.write(spark.range(10), "bronze.race", mode="append")
    path = lakehouse.ref("bronze.race").path
    writer = DeltaRsWriter({"path": path}, spark.range(1).schema, overwrite=True)
    lakehouse.write(spark.range(10, 20), "bronze.race", mode="append")
    from leadlake.errors import ConcurrentWriteConflict

    with pytest.raises(ConcurrentWriteConflict):
        writer.commit([writer.write(iter([pa.RecordBatch.from_pydict({"id": [99]})]))])
    assert lakehouse.read("bronze.race").count() == 20
    assert table_files_on_disk(path) == table_files_in_log(path)


def test_missing_table_is_a_clear_error(lakehouse):
    from leadlake.errors import TableNotFound

    with pytest.raises(TableNotFound, match=r"bronze\.nothing does not exist"):
        lakehouse.read("bronze.nothing")
    assert lakehouse.version("bronze.nothing") is None
    assert not lakehouse.exists("bronze.nothing")


def test_forcing_delta_spark_without_the_jar_is_one_clear_error(spark, tmp_path):
    if delta_engine(spark) == "delta-spark":
        pytest.skip("the Delta jar is on this classpath")
    with pytest.raises(EnvironmentProblem, match=r"io\.delta classes are not on the classpath"):
        get_spark(make_conf(tmp_path, delta={"engine": "delta-spark"}))


def test_delta_spark_engine_reads_what_delta_rs_wrote(spark, tmp_path):
    if delta_engine(spark) != "delta-spark":
        pytest.skip("Delta jar (io.delta:delta-spark) not on the classpath: no Maven access here")
    path = str(tmp_path / "t")
    write_deltalake(path, pa.table({"id": [1, 2]}))
    assert spark.read.format("delta").load(path).count() == 2


def test_engine_is_recorded_on_the_session(spark):
    assert spark.conf.get("spark.leadlake.delta.engine") in ("delta-rs", "delta-spark")
    assert os.environ["PYSPARK_PYTHON"]


def test_rows_read_back_as_written_across_many_files(spark, lakehouse):
    df = spark.range(0, 30_000, numPartitions=6).select(
        "id", F.sha2(F.col("id").cast("string"), 256).alias("h"), (F.col("id") * 0.5).alias("x")
    )
    lakehouse.write(df, "silver.bulk", mode="overwrite", extra_options={"targetFileRows": "2000"})
    back = lakehouse.read("silver.bulk")
    assert back.count() == 30_000
    agg = back.agg(F.sum("id").alias("s"), F.sum("x").alias("x"), F.countDistinct("h").alias("h")).first()
    assert agg == Row(s=sum(range(30_000)), x=sum(range(30_000)) * 0.5, h=30_000)
    assert len(table_files_in_log(lakehouse.ref("silver.bulk").path)) >= 15


def test_the_library_upsert_takes_a_table_name_or_a_path(spark, tmp_path):
    from leadlake.delta import upsert

    conf = make_conf(tmp_path / "lh")
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string")
    upsert(first, "silver.notes", ["id"], conf=conf)
    upsert(spark.createDataFrame([(2, "B"), (3, "c")], "id int, v string"), "silver.notes", ["id"], conf=conf)
    got = {r.id: r.v for r in Lakehouse(spark, conf).read("silver.notes").collect()}
    assert got == {1: "a", 2: "B", 3: "c"}
    path = str(tmp_path / "elsewhere" / "notes")
    upsert(first, path, ["id"], conf=conf)
    upsert(first, path, ["id"], conf=conf)
    assert sorted(r.id for r in spark.read.format("delta").load(path).collect()) == [1, 2]
