"""How the whole pipeline grows with the CRM: wall time and driver memory per stage at several sizes, in one run.

    python bench/scale.py [--sizes 10000 100000 1000000] [--budget-min 60] [--conf extra.yaml]
                          [--out bench/results/scale.md]

Each size is a fresh demo lakehouse (leads, with interactions, web events,
orders, feedback and the rest generated in proportion) built and processed by
``leadlake run --demo --leads N`` in its own process, exactly as a user runs it.
While it runs, the bench samples twice a second the resident memory of the
driver: the Python process that runs leadlake (where a ``collect`` of
row-level data would land) and its JVM (local mode: driver and executors in
one JVM, so this is an upper bound on the driver's share). Stage times and
row counts come from the pipeline summary the run prints.

Printed per stage: seconds at each size, the growth exponent between
consecutive sizes (log time ratio / log size ratio: 1.0 is linear, the target
is <= 1.1) and the peak driver memory. The embedding stage is bounded by the
model, so its texts/s and the share of distinct texts are printed too.

Sizes run in the order given; a size is skipped (and the table says so) when
the time the previous size took, grown linearly, would pass the budget.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"^\[(\d+)/(\d+)\] ([\w-]+):")
SUMMARY_ROW = re.compile(r"^([\w-]+)\s+(done|skipped|failed)\s+([\d,-]+)\s+([\d,-]+)\s+([\d.]+)s")


@dataclass
class SizeRun:
    leads: int
    wall_s: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    py_peak_mb: dict[str, float] = field(default_factory=dict)
    jvm_peak_mb: dict[str, float] = field(default_factory=dict)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _java_child(pid: int) -> int | None:
    """The JVM the driver started (pyspark launches it as a child of spark-submit's shell or directly)."""
    try:
        out = subprocess.run(["ps", "-o", "pid=,ppid=,comm=", "-e"], capture_output=True, text=True).stdout
    except OSError:
        return None
    children: dict[int, list[tuple[int, str]]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            children.setdefault(int(parts[1]), []).append((int(parts[0]), parts[2]))
    todo = [pid]
    while todo:
        for child, comm in children.get(todo.pop(), []):
            if comm == "java":
                return child
            todo.append(child)
    return None


def run_size(leads: int, conf: str | None, workdir: Path) -> SizeRun:
    """One ``leadlake run --demo`` on a fresh lakehouse, with its driver's memory sampled per stage."""
    lakehouse = workdir / f"lh-{leads}"
    cmd = [sys.executable, "-m", "leadlake.cli", "run", "--demo", "--leads", str(leads), "--lakehouse",
           str(lakehouse), "--log-level", "WARNING"]
    if conf:
        cmd += ["--conf", conf]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    result = SizeRun(leads)
    current = ["start"]
    done = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workdir)

    def sample() -> None:
        jvm = None
        while not done.is_set():
            jvm = jvm or _java_child(proc.pid)
            stage = current[0]
            result.py_peak_mb[stage] = max(result.py_peak_mb.get(stage, 0.0), _rss_mb(proc.pid))
            if jvm:
                result.jvm_peak_mb[stage] = max(result.jvm_peak_mb.get(stage, 0.0), _rss_mb(jvm))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = [*tail, line][-40:]
        if m := STAGE_LINE.match(line):
            current[0] = m.group(3)
            print(f"  {leads:,} leads: {line.strip()[:100]}  ({time.perf_counter() - t0:.0f}s)", flush=True)
        elif m := SUMMARY_ROW.match(line):
            name, status, rin, rout, secs = m.groups()
            if status == "done":
                result.seconds[name] = float(secs)
                result.rows_in[name] = int(rin.replace(",", ""))
                result.rows_out[name] = int(rout.replace(",", ""))
    proc.wait()
    done.set()
    sampler.join()
    result.wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"leadlake run --leads {leads} failed ({proc.returncode}):\n{''.join(tail)}")
    return result


def exponent(t1: float, t2: float, n1: int, n2: int) -> float:
    return math.log(t2 / t1) / math.log(n2 / n1) if t1 > 0 and t2 > 0 else float("nan")


def table(runs: list[SizeRun], skipped: list[int]) -> str:
    stages = [s for s in runs[0].seconds if all(s in r.seconds for r in runs)]
    sizes = [f"{r.leads:,}" for r in runs]
    growth = [f"{a.leads // 1000}k->{b.leads // 1000}k" for a, b in itertools.pairwise(runs)]
    head = ["stage", *[f"s @ {s}" for s in sizes], *[f"exp {g}" for g in growth],
            *[f"py MB @ {s}" for s in sizes], *[f"JVM MB @ {s}" for s in sizes]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in [*stages, "total"]:
        secs = [sum(r.seconds.values()) if s == "total" else r.seconds[s] for r in runs]
        exps = [exponent(secs[i], secs[i + 1], runs[i].leads, runs[i + 1].leads) for i in range(len(runs) - 1)]
        py = [max(r.py_peak_mb.values()) if s == "total" else r.py_peak_mb.get(s, 0.0) for r in runs]
        jvm = [max(r.jvm_peak_mb.values(), default=0.0) if s == "total" else r.jvm_peak_mb.get(s, 0.0)
               for r in runs]
        lines.append("| " + " | ".join([s, *[f"{x:.1f}" for x in secs], *[f"{x:.2f}" for x in exps],
                                         *[f"{x:.0f}" for x in py], *[f"{x:.0f}" for x in jvm]]) + " |")
    lines.append("")
    for r in runs:
        if "embed" in r.seconds:
            texts, new = r.rows_in["embed"], r.rows_out["embed"]
            lines.append(f"- embed at {r.leads:,} leads: {texts:,} texts, {new:,} distinct and new "
                         f"({new / max(texts, 1):.0%}), {new / r.seconds['embed']:.0f} texts/s "
                         f"(model load included)")
    for n in skipped:
        lines.append(f"- {n:,} leads: not run, the previous size's time grown linearly passes the budget")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--budget-min", type=float, default=60.0, help="stop before a size that would pass this")
    ap.add_argument("--conf", help="YAML merged over conf/default.yaml for every run")
    ap.add_argument("--out", help="also write the table (markdown) here")
    args = ap.parse_args()

    runs: list[SizeRun] = []
    skipped: list[int] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="leadlake-scale-") as tmp:
        for n in sorted(args.sizes):
            used = (time.perf_counter() - started) / 60
            if runs and used + runs[-1].wall_s / 60 * n / runs[-1].leads > args.budget_min:
                skipped.append(n)
                continue
            print(f"{n:,} leads ...", flush=True)
            runs.append(run_size(n, args.conf, Path(tmp)))
            print(f"{n:,} leads: {runs[-1].wall_s:.0f}s wall", flush=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    text = (f"leadlake run --demo, per stage, {os.cpu_count()} cores ({cpu}); "
            f"{'default conf' if not args.conf else 'conf ' + args.conf}\n\n{table(runs, skipped)}\n")
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
