"""What language routing costs an English CRM: the text stages with routing on and off, side by side.

    python bench/routing.py [--leads 600] [--rounds 2]

Routing sends each text to an encoder by its script; on an English CRM every
text still goes to ``text.model``, and what routing adds is the language
expression and an empty multilingual branch per text stage. This bench
builds one English demo lakehouse, copies it, and runs ``embed``,
``mine-needs`` and ``discover-leads`` on each copy as a user would
(``leadlake run --only ...`` in its own process), alternating routing on (the
default conf) and off (``text.multilingual_model: null``) for ``--rounds``
rounds, so both see the same machine noise. Prints seconds per stage for
each run and the ratio of the medians (on / off).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("embed", "mine-needs", "discover-leads")
ROW = re.compile(r"^([\w-]+)\s+done\s+[\d,]+\s+[\d,]+\s+([\d.]+)s", re.M)


def _leadlake(*args: str) -> str:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "leadlake.cli", *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"leadlake {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="routing-bench-"))
    off = root / "routing-off.yaml"
    off.write_text("text: {multilingual_model: null}\n")
    seed = root / "seed"
    _leadlake("run", "--lakehouse", str(seed), "--demo", "--leads", str(args.leads), "--only", "demo-data")
    times: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    for r in range(args.rounds):
        for mode in ("on", "off"):
            lh = root / f"{mode}-{r}"
            shutil.copytree(seed, lh)
            conf = ["--conf", str(off)] if mode == "off" else []
            out = _leadlake("run", "--lakehouse", str(lh), *conf, "--only", *STAGES)
            took = {m.group(1): float(m.group(2)) for m in ROW.finditer(out)}
            times[mode].append(took)
            print(f"round {r + 1}, routing {mode:<3}: " + ", ".join(f"{s} {took.get(s, 0):.1f}s" for s in STAGES),
                  flush=True)
            shutil.rmtree(lh)
    print(f"\n{args.leads}-lead English demo, median of {args.rounds} runs each:")
    for s in (*STAGES, "total"):
        med = {m: statistics.median(sum(t.values()) if s == "total" else t.get(s, 0.0) for t in times[m])
               for m in times}
        print(f"  {s:<15} on {med['on']:6.1f}s  off {med['off']:6.1f}s  on/off {med['on'] / med['off']:.2f}x")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
