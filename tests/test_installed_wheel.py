"""leadlake as users install it: the wheel in a fresh virtual environment, far from this checkout."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from .conftest import job_env

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def test_the_wheel_runs_the_pipeline_without_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps",
                  "-q", "-w", str(dist)], timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(dist.glob("leadlake-*.whl"))

    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # Dependencies come from the project's environment (pyspark, torch, ...); leadlake itself only from the wheel.
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "zz_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in job_env().items() if not k.startswith("LEADLAKE_")}
    env.update(PYSPARK_PYTHON=str(python), PYSPARK_DRIVER_PYTHON=str(python), PYTHONPATH="")
    where = _run([str(python), "-c", "import leadlake, leadlake.config as c; print(leadlake.__file__); "
                  "print(c.conf_dir()); from leadlake.needs.categories import need_examples as e; "
                  "print(len(e(multilingual=True)))"], cwd=away, env=env, timeout=60)
    assert where.returncode == 0, where.stderr
    module, conf, examples = where.stdout.split()
    assert int(examples) >= 650  # the labelled need messages ship as package data
    assert module.startswith(str(venv)) and conf.startswith(str(venv)), where.stdout
    assert not conf.startswith(str(REPO))

    lakehouse = tmp_path / "lh"
    proc = _run([str(venv / "bin" / "leadlake"), "run", "--lakehouse", str(lakehouse), "--demo", "--leads", "120",
                 "--only", "demo-data", "embed"], cwd=away, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 stages run in" in proc.stdout
    leads = pa.table(DeltaTable(str(lakehouse / "bronze" / "leads")).to_pyarrow_dataset().to_table())
    assert leads.num_rows == 120
    assert DeltaTable(str(lakehouse / "silver" / "text_embeddings")).version() == 0
    assert sorted(p.name for p in away.iterdir()) == []
