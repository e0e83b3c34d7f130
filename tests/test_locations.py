"""Lakehouse locations as URIs: joining, the root check, credentials, and a real S3 server."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from leadlake import locations
from leadlake.delta.tables import resolve_table
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.ml import tracking

from .conftest import make_bucket, make_conf


def test_join_stays_under_the_root_by_reading_the_uri_not_the_disk(tmp_path):
    assert locations.join("s3://bkt/lh/", "bronze/leads") == "s3://bkt/lh/bronze/leads"
    assert locations.join("s3a://bkt", "models", "needs") == "s3a://bkt/models/needs"
    assert locations.join("abfss://c@acct.dfs.core.windows.net/lh", "gold/x") == \
        "abfss://c@acct.dfs.core.windows.net/lh/gold/x"
    assert locations.join(f"file://{tmp_path}", "a/b") == f"{tmp_path}/a/b"
    assert locations.join("relative/lh", "t") == os.path.abspath("relative/lh") + "/t"
    for bad in ("../x", "a/../../x", "/etc/passwd", "s3://other/x", ""):
        with pytest.raises(ConfError):
            locations.join("s3://bkt/lh", bad)
    with pytest.raises(ConfError, match="scheme ftp:// is not supported"):
        locations.normalize_root("ftp://host/lh")
    with pytest.raises(ConfError, match="names no bucket"):
        locations.normalize_root("s3:///lh")


def test_tables_on_an_object_store_root_are_uris_not_local_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = make_conf("s3a://bucket/lh")
    assert resolve_table(conf, "gold.lead_scores").path == "s3a://bucket/lh/gold/lead_scores"
    escaping = make_conf("s3://bucket/lh", tables={"bronze.leads": {"path": "../../elsewhere"}})
    with pytest.raises(ConfError, match="outside the lakehouse root"):
        resolve_table(escaping, "bronze.leads")
    assert tracking.artifact_root(conf) == "s3a://bucket/lh/mlflow/artifacts"
    assert str(tmp_path) not in tracking.tracking_uri(conf, "leads")
    assert list(tmp_path.iterdir()) == []


def test_storage_options_come_from_the_environment_over_spark_s3a_properties():
    spark_conf = {"spark.hadoop.fs.s3a.access.key": "from-spark", "spark.hadoop.fs.s3a.secret.key": "spark-secret",
                  "spark.hadoop.fs.s3a.endpoint": "http://minio:9000"}
    env = {"AWS_ACCESS_KEY_ID": "from-env", "AWS_SECRET_ACCESS_KEY": "env-secret", "AZURE_CLIENT_ID": "x"}
    opts = locations.storage_options("s3://b/lh", spark_conf, env)
    assert opts["AWS_ACCESS_KEY_ID"] == "from-env" and opts["AWS_SECRET_ACCESS_KEY"] == "env-secret"
    assert opts["AWS_ENDPOINT_URL"] == "http://minio:9000" and opts["AWS_ALLOW_HTTP"] == "true"
    assert "AZURE_CLIENT_ID" not in opts
    assert locations.storage_options("/local/lh", spark_conf, env) == {}
    assert locations.storage_options("abfss://c@a.dfs.core.windows.net/lh", None, env) == {"AZURE_CLIENT_ID": "x"}
    shown = locations.redact(opts)
    assert shown["AWS_SECRET_ACCESS_KEY"] == "***" and shown["AWS_ACCESS_KEY_ID"] == "***"
    assert shown["AWS_ENDPOINT_URL"] == "http://minio:9000"


def test_lakehouse_on_s3_through_executors_that_never_saw_the_credentials(spark, s3_server, monkeypatch, tmp_path):
    """The session's JVM and Python workers started before these variables existed: only the
    storage options the Lakehouse hands to the data source can get the executors into the bucket."""
    _, env = s3_server
    make_bucket(env, "lakehouse-io")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    lh = Lakehouse(spark, make_conf("s3://lakehouse-io/lh"))
    rows = spark.createDataFrame([(i, f"name {i}") for i in range(20)], "id long, name string")
    lh.write(rows.repartition(3), "bronze.things", mode="overwrite", overwrite_schema=True)
    update = spark.createDataFrame([(3, "renamed"), (99, "new")], "id long, name string")
    lh.upsert(update, "bronze.things", ["id"])

    assert lh.row_count("bronze.things") == 21 and lh.version("bronze.things") == 1
    got = {r.id: r.name for r in lh.read("bronze.things").collect()}
    assert got[3] == "renamed" and got[99] == "new" and len(got) == 21
    # What the bucket holds is a Delta table any reader opens with the standard variables.
    direct = pa.table(DeltaTable("s3://lakehouse-io/lh/bronze/things", storage_options=env).to_pyarrow_dataset()
                      .to_table())
    assert sorted(direct["id"].to_pylist()) == [*range(20), 99]
    assert list(tmp_path.iterdir()) == []


def test_spark_ml_models_round_trip_through_a_bucket(spark, s3_server, monkeypatch, tmp_path):
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors

    from leadlake.ml.store import ModelStore

    _, env = s3_server
    make_bucket(env, "models-io")
    monkeypatch.chdir(tmp_path)
    data = spark.createDataFrame([(Vectors.dense([float(i), 1.0]), float(i % 2)) for i in range(20)],
                                 ["features", "label"])
    model = LogisticRegression(maxIter=5).fit(data)
    store = ModelStore("s3://models-io/lh/models", env)
    uri = store.save(model, "heads", "demo")
    assert uri == "s3://models-io/lh/models/heads/demo" and store.exists("heads", "demo", "metadata")
    store.write_json(["a", "b"], "heads", "demo", "labels.json")
    loaded = store.load(type(model), "heads", "demo")
    assert loaded.coefficients == model.coefficients
    assert store.read_json("heads", "demo", "labels.json") == ["a", "b"]
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_inside_a_local_lakehouse_cannot_lead_writes_outside_it(spark, tmp_path):
    from leadlake.lakehouse import Lakehouse

    root, outside = tmp_path / "lh", tmp_path / "outside"
    (root / "bronze").mkdir(parents=True)
    outside.mkdir()
    (root / "bronze" / "leads").symlink_to(outside, target_is_directory=True)
    (root / "silver").symlink_to(outside, target_is_directory=True)
    lh = Lakehouse(spark, make_conf(root))
    for table in ("bronze.leads", "silver.lead_features"):
        with pytest.raises(ConfError, match="outside the lakehouse root"):
            lh.write(spark.createDataFrame([("L1",)], "lead_id string"), table)
    assert list(outside.iterdir()) == []
    # A root that is itself a link (a mounted volume) is fine: only what is under it must stay under it.
    (tmp_path / "mounted").symlink_to(root, target_is_directory=True)
    assert locations.join(str(tmp_path / "mounted"), "gold/x") == f"{tmp_path}/mounted/gold/x"
