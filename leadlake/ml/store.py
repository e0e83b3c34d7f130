"""Saved Spark ML models (heads, pipelines) at a URI: a local folder or object storage.

Spark ML saves through Hadoop's filesystems. Where the JVM has the connector
for the store (``hadoop-aws`` for ``s3a://``, ABFS, GCS: every cluster and
Databricks), models go there directly. Where it does not (local mode with the
lakehouse in a bucket, as on this project's own machines, where Maven is out
of reach), a model is saved to a local temporary folder and copied to the
store with pyarrow, and loaded the other way round; Spark ML models are read
fully into memory on load, so the temporary copy goes away at once.
"""

from __future__ import annotations

import json
import logging
import posixpath
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadlake import locations
from leadlake.config import Conf

log = logging.getLogger("leadlake.ml")

# The Hadoop filesystem class Spark needs for each scheme.
_HADOOP_FS = {
    "s3": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    "s3a": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    "abfss": "org.apache.hadoop.fs.azurebfs.SecureAzureBlobFileSystem",
    "abfs": "org.apache.hadoop.fs.azurebfs.AzureBlobFileSystem",
    "gs": "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem",
}


@dataclass(frozen=True)
class ModelStore:
    """A folder of models: ``root`` is a local path or an object-store URI."""

    root: str
    storage: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)

    def path(self, *parts: str) -> str:
        return locations.join(self.root, *parts)

    def exists(self, *parts: str) -> bool:
        return locations.exists(self.path(*parts), self.storage)

    def read_json(self, *parts: str) -> Any:
        return json.loads(locations.read_text(self.path(*parts), self.storage))

    def write_json(self, data: Any, *parts: str) -> None:
        locations.write_text(self.path(*parts), json.dumps(data, indent=2), self.storage)

    def save(self, model: Any, *parts: str) -> str:
        """Save a Spark ML writable (``model.write()``) at ``parts``, replacing what was there."""
        uri = self.path(*parts)
        direct = _spark_uri(uri)
        if direct is not None:
            model.write().overwrite().save(direct)
            return uri
        staging = tempfile.mkdtemp(prefix="leadlake-model-")
        try:
            local = posixpath.join(staging, "model")
            model.write().save(local)
            locations.upload_dir(local, uri, self.storage)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("saved %s to %s (staged through a local folder: Spark has no connector for it)",
                 type(model).__name__, uri)
        return uri

    def load(self, cls: Any, *parts: str) -> Any:
        """``cls.load`` of the model saved at ``parts``."""
        uri = self.path(*parts)
        direct = _spark_uri(uri)
        if direct is not None:
            return cls.load(direct)
        local = locations.download_dir(uri, self.storage)
        try:
            return cls.load(local)
        finally:
            shutil.rmtree(Path(local).parent, ignore_errors=True)


def as_store(where: ModelStore | str | Path) -> ModelStore:
    """A store from a store, or from a bare folder or URI (credentials from the environment)."""
    if isinstance(where, ModelStore):
        return where
    root = locations.normalize_root(str(where))
    return ModelStore(root, locations.storage_options(root))


def model_store(conf: Conf, storage: Mapping[str, str] | None = None) -> ModelStore:
    """``text.models_dir`` when set, else ``<lakehouse>/models``."""
    configured = conf.get("text.models_dir")
    root = locations.normalize_root(str(configured)) if configured else locations.join(conf.lakehouse, "models")
    return ModelStore(root, dict(storage) if storage is not None else locations.storage_options(root))


def _spark_uri(uri: str) -> str | None:
    """The URI Spark itself can write for ``uri``, or None when its JVM has no connector for the scheme."""
    kind = locations.scheme(uri)
    if kind == "file":
        return uri
    from pyspark.sql import SparkSession

    from leadlake.session import is_connect

    spark = SparkSession.getActiveSession()
    if spark is not None and is_connect(spark):
        return locations.hadoop_uri(uri)  # Spark Connect: the server (e.g. Databricks) owns the filesystems.
    jvm = getattr(spark, "_jvm", None) if spark is not None else None
    if jvm is None or kind not in _HADOOP_FS:
        return None
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(_HADOOP_FS[kind], False, loader)
    except Exception:
        return None
    return locations.hadoop_uri(uri)
