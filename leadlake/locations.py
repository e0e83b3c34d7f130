"""Where a lakehouse's tables, models and MLflow artifacts live, as URIs.

A lakehouse root is a URI as often as a path (``s3://bucket/lh``,
``abfss://container@account.dfs.core.windows.net/lh``, ``gs://bucket/lh``,
``file:///data/lh`` or a plain directory). This module is the one place that
joins names onto a root, refuses anything that would land outside it (by
reading the URI's path, never by resolving it on the local disk, where a
bucket does not exist), and hands out the pyarrow filesystem and delta-rs
storage options for I/O that does not go through Spark.

Credentials come from the standard environment variables (``AWS_*``,
``AZURE_*``, ``GOOGLE_*``) and from Spark's ``spark.hadoop.fs.s3a.*``
properties. They are passed to readers and writers, never logged: use
:func:`redact` on anything that might print them.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from leadlake.errors import ConfError

REMOTE_SCHEMES = ("s3", "s3a", "abfss", "abfs", "gs", "gcs")
# delta-rs / object_store names for what the AWS SDKs read from the environment.
_AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP", "AWS_S3_ALLOW_UNSAFE_RENAME",
            "AWS_CONDITIONAL_PUT", "AWS_PROFILE")
_AZURE_ENV = ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN",
              "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_STORAGE_USE_EMULATOR")
_GOOGLE_ENV = ("GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH", "GOOGLE_APPLICATION_CREDENTIALS",
               "GOOGLE_SERVICE_ACCOUNT_KEY")
# Spark's S3A properties and the delta-rs option each one means.
_S3A_PROPS = {
    "spark.hadoop.fs.s3a.access.key": "AWS_ACCESS_KEY_ID",
    "spark.hadoop.fs.s3a.secret.key": "AWS_SECRET_ACCESS_KEY",
    "spark.hadoop.fs.s3a.session.token": "AWS_SESSION_TOKEN",
    "spark.hadoop.fs.s3a.endpoint": "AWS_ENDPOINT_URL",
    "spark.hadoop.fs.s3a.endpoint.region": "AWS_REGION",
}
SPARK_STORAGE_PROPS = (*_S3A_PROPS, "spark.hadoop.fs.s3a.connection.ssl.enabled")
_SECRET_WORDS = ("SECRET", "KEY", "TOKEN", "PASSWORD", "CREDENTIAL", "SAS")


def scheme(uri: str) -> str:
    """``s3``, ``abfss``, ... or ``file`` for a local path."""
    if "://" not in uri:
        return "file"
    return urlsplit(uri).scheme.lower() or "file"


def is_local(uri: str) -> bool:
    return scheme(uri) == "file"


def normalize_root(root: str) -> str:
    """The canonical form of a root: an absolute local path, or ``scheme://authority/path``."""
    root = str(root).strip()
    if not root:
        raise ConfError("the lakehouse root is empty")
    kind = scheme(root)
    if kind == "file":
        path = urlsplit(root).path if root.startswith("file:") else root
        return os.path.abspath(os.path.expanduser(path))
    if kind not in REMOTE_SCHEMES:
        raise ConfError(
            f"lakehouse {root!r}: scheme {kind}:// is not supported; use a local path, file://, "
            f"{', '.join(s + '://' for s in REMOTE_SCHEMES)}"
        )
    parts = urlsplit(root)
    if not parts.netloc:
        raise ConfError(f"lakehouse {root!r} names no bucket or container")
    path = posixpath.normpath("/" + parts.path.lstrip("/")) if parts.path.strip("/") else ""
    return f"{kind}://{parts.netloc}{'' if path in ('', '/') else path}"


def join(root: str, *parts: str) -> str:
    """``root`` plus relative ``parts``; refuses a result outside the root (``..``, absolute parts)."""
    base = normalize_root(root)
    rel_parts = [str(p) for p in parts if str(p)]
    for p in rel_parts:
        if p.startswith("/") or "://" in p or "\\" in p:
            raise ConfError(f"{p!r} must be a path relative to the lakehouse root {base}")
    rel = posixpath.normpath("/".join(rel_parts)) if rel_parts else "."
    if rel == "." or rel == ".." or rel.startswith("../"):
        raise ConfError(f"{'/'.join(rel_parts) or '(empty)'} resolves outside the lakehouse root {base}")
    out = f"{base.rstrip('/')}/{rel}"
    # On a local disk a symlink inside the root can point anywhere: writes through it would land outside.
    if is_local(base) and os.path.lexists(base):
        real_base, real = os.path.realpath(base), os.path.realpath(out)
        if os.path.commonpath([real_base, real]) != real_base:
            raise ConfError(f"{rel} is a link to {real}, outside the lakehouse root {base}")
    return out


def storage_options(uri: str, spark_conf: Mapping[str, str] | None = None,
                    environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """delta-rs storage options for ``uri``: Spark's S3A properties, then the environment over them.

    Empty for local paths. The environment wins because that is what delta-rs
    and boto3 would use on their own; Spark properties fill in for clusters
    that configure S3A only.
    """
    kind = scheme(uri)
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    if kind in ("s3", "s3a"):
        for prop, key in _S3A_PROPS.items():
            value = (spark_conf or {}).get(prop)
            if value:
                out[key] = str(value)
        if (spark_conf or {}).get("spark.hadoop.fs.s3a.connection.ssl.enabled", "").lower() == "false":
            out["AWS_ALLOW_HTTP"] = "true"
        names = _AWS_ENV
    elif kind in ("abfss", "abfs"):
        names = _AZURE_ENV
    elif kind in ("gs", "gcs"):
        names = _GOOGLE_ENV
    else:
        return {}
    for name in names:
        if env.get(name):
            out[name] = env[name]
    endpoint = out.get("AWS_ENDPOINT_URL")
    if endpoint and endpoint.startswith("http://"):
        out.setdefault("AWS_ALLOW_HTTP", "true")
    if "AWS_REGION" not in out and out.get("AWS_DEFAULT_REGION"):
        out["AWS_REGION"] = out["AWS_DEFAULT_REGION"]
    return out


def redact(options: Mapping[str, str]) -> dict[str, str]:
    """``options`` fit to print: every credential replaced by ``***``."""
    return {k: ("***" if any(w in k.upper() for w in _SECRET_WORDS) else v) for k, v in options.items()}


def delta_uri(uri: str) -> str:
    """The URI delta-rs reads: local paths as they are, ``s3a://`` as ``s3://``."""
    if scheme(uri) == "s3a":
        return "s3://" + uri[len("s3a://"):]
    return uri


def hadoop_uri(uri: str) -> str:
    """The URI Spark's own (Hadoop) readers take: ``s3://`` is ``s3a://`` to Hadoop's S3 connector."""
    if scheme(uri) == "s3":
        return "s3a://" + uri[len("s3://"):]
    return uri


def filesystem(uri: str, options: Mapping[str, str] | None = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem for ``uri`` and the path within it, credentials from ``options``."""
    kind = scheme(uri)
    opts = dict(options or {})
    if kind == "file":
        return pafs.LocalFileSystem(), normalize_root(uri)
    parts = urlsplit(uri)
    if kind in ("s3", "s3a"):
        endpoint = opts.get("AWS_ENDPOINT_URL")
        kwargs: dict[str, object] = {}
        if endpoint:
            ep = urlsplit(endpoint)
            kwargs["endpoint_override"] = ep.netloc or endpoint
            kwargs["scheme"] = ep.scheme or "https"
        if opts.get("AWS_ACCESS_KEY_ID"):
            kwargs["access_key"] = opts["AWS_ACCESS_KEY_ID"]
            kwargs["secret_key"] = opts.get("AWS_SECRET_ACCESS_KEY")
            if opts.get("AWS_SESSION_TOKEN"):
                kwargs["session_token"] = opts["AWS_SESSION_TOKEN"]
        if opts.get("AWS_REGION"):
            kwargs["region"] = opts["AWS_REGION"]
        return pafs.S3FileSystem(**kwargs), f"{parts.netloc}{parts.path}".rstrip("/")
    if kind in ("gs", "gcs"):
        return pafs.GcsFileSystem(), f"{parts.netloc}{parts.path}".rstrip("/")
    # abfss://container@account.dfs.core.windows.net/path
    container, _, host = parts.netloc.partition("@")
    account = opts.get("AZURE_STORAGE_ACCOUNT_NAME") or host.split(".")[0]
    kwargs = {"account_name": account}
    if opts.get("AZURE_STORAGE_ACCOUNT_KEY"):
        kwargs["account_key"] = opts["AZURE_STORAGE_ACCOUNT_KEY"]
    return pafs.AzureFileSystem(**kwargs), f"{container}{parts.path}".rstrip("/")


def exists(uri: str, options: Mapping[str, str] | None = None) -> bool:
    fs, path = filesystem(uri, options)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def read_text(uri: str, options: Mapping[str, str] | None = None) -> str:
    fs, path = filesystem(uri, options)
    with fs.open_input_stream(path) as handle:
        return handle.read().decode("utf-8")


def write_text(uri: str, text: str, options: Mapping[str, str] | None = None) -> None:
    fs, path = filesystem(uri, options)
    fs.create_dir(posixpath.dirname(path), recursive=True)
    with fs.open_output_stream(path) as handle:
        handle.write(text.encode("utf-8"))


def list_dirs(uri: str, options: Mapping[str, str] | None = None) -> list[str]:
    """Names of the folders directly under ``uri`` (none when it does not exist)."""
    fs, path = filesystem(uri, options)
    selector = pafs.FileSelector(path, recursive=False, allow_not_found=True)
    return sorted(posixpath.basename(i.path) for i in fs.get_file_info(selector)
                  if i.type == pafs.FileType.Directory)


def upload_dir(local: str | Path, uri: str, options: Mapping[str, str] | None = None) -> None:
    """Copy a local folder to ``uri``, replacing what was there."""
    fs, path = filesystem(uri, options)
    if fs.get_file_info(path).type == pafs.FileType.Directory:
        fs.delete_dir(path)
    fs.create_dir(path, recursive=True)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)


def download_dir(uri: str, options: Mapping[str, str] | None = None) -> str:
    """A fresh local copy of the folder at ``uri``, in a temporary directory the caller owns."""
    fs, path = filesystem(uri, options)
    local = tempfile.mkdtemp(prefix="leadlake-model-")
    target = os.path.join(local, posixpath.basename(path.rstrip("/")) or "model")
    try:
        pafs.copy_files(path, target, source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    except Exception:
        shutil.rmtree(local, ignore_errors=True)
        raise
    return target


def cache_root() -> Path:
    """This machine's leadlake cache (``$LEADLAKE_CACHE``, default ``~/.cache/leadlake``): downloaded corpora,
    ONNX exports, local copies of exports kept in object storage. Nothing in it is a lakehouse's data."""
    return Path(os.environ.get("LEADLAKE_CACHE", Path.home() / ".cache" / "leadlake"))
