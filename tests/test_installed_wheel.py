"""leadlake as users install it: the wheel in a fresh virtual environment, far from this checkout."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from .conftest import head_start_result, job_env

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class WheelRuns(NamedTuple):
    built: subprocess.CompletedProcess
    installed: subprocess.CompletedProcess | None
    where: subprocess.CompletedProcess | None
    pipeline: subprocess.CompletedProcess | None
    root: Path  # dist/, venv/, elsewhere/ (the jobs' working directory) and lh/


def wheel_runs(tmp_path_factory) -> WheelRuns:
    """The wheel built from this checkout, installed alone in a new virtual environment, and run from a directory
    far from the checkout; each step stops the rest when it fails."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(dist)], timeout=300)
    if built.returncode != 0:
        return WheelRuns(built, None, None, None, root)
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                      str(next(dist.glob("leadlake-*.whl")))], timeout=300)
    if installed.returncode != 0:
        return WheelRuns(built, installed, None, None, root)
    # Dependencies come from the project's environment (pyspark, torch, ...); leadlake itself only from the wheel.
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "zz_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    away = root / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in job_env().items() if not k.startswith("LEADLAKE_")}
    env.update(PYSPARK_PYTHON=str(python), PYSPARK_DRIVER_PYTHON=str(python), PYTHONPATH="")
    where = _run([str(python), "-c", "import leadlake, leadlake.config as c; print(leadlake.__file__); "
                  "print(c.conf_dir()); from leadlake.needs.categories import need_examples as e; "
                  "print(len(e(multilingual=True)))"], cwd=away, env=env, timeout=60)
    pipeline = _run([str(venv / "bin" / "leadlake"), "run", "--lakehouse", str(root / "lh"), "--demo", "--leads",
                     "120", "--only", "demo-data", "embed"], cwd=away, env=env, timeout=600)
    return WheelRuns(built, installed, where, pipeline, root)


@pytest.mark.head_start("wheel_runs")
def test_the_wheel_runs_the_pipeline_without_the_checkout(head_starts):
    runs = head_start_result(head_starts, wheel_runs)
    assert runs.built.returncode == 0, runs.built.stderr[-3000:]
    assert runs.installed.returncode == 0, runs.installed.stderr[-3000:]
    assert runs.where.returncode == 0, runs.where.stderr
    module, conf, examples = runs.where.stdout.split()
    assert int(examples) >= 650  # the labelled need messages ship as package data
    venv = runs.root / "venv"
    assert module.startswith(str(venv)) and conf.startswith(str(venv)), runs.where.stdout
    assert not conf.startswith(str(REPO))

    proc = runs.pipeline
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 stages run in" in proc.stdout
    leads = pa.table(DeltaTable(str(runs.root / "lh" / "bronze" / "leads")).to_pyarrow_dataset().to_table())
    assert leads.num_rows == 120
    assert DeltaTable(str(runs.root / "lh" / "silver" / "text_embeddings")).version() == 0
    assert sorted(p.name for p in (runs.root / "elsewhere").iterdir()) == []
