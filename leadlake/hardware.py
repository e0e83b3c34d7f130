"""What this machine's processor can do fast: read by engines that pick a precision, and by the benches."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> frozenset[str]:
    """The first processor's feature flags (empty where /proc/cpuinfo is not there: macOS, Windows)."""
    return frozenset(_cpuinfo().get("flags", "").split())


def gpu_visible() -> bool:
    """An NVIDIA GPU this process may use, seen from the driver's /proc entries without importing torch (which
    costs seconds)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())
