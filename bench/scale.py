"""How the whole pipeline grows with the CRM: wall time and driver memory per stage at several sizes, in one run.

    python bench/scale.py [--sizes 10000 100000 1000000] [--budget-min 60] [--conf extra.yaml]
                          [--out bench/results/scale.md] [--workdir DIR] [--log FILE]

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

A size that takes hours (1M leads on 2 cores) may not fit in one sitting.
With ``--workdir`` its lakehouse and every finished stage (time, rows, peak
memory, written as the stage ends) are kept there; run the same command again
and each size goes on from its first unfinished stage (``leadlake run --from``)
in a new process, and a size already finished is read back, not run again.
Only the resumed stage starts in a cold JVM, which the table notes.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"^\[(\d+)/(\d+)\] ([\w-]+):")
SKIPPED_LINE = re.compile(r"^\[\d+/\d+\] ([\w-]+): skipped \(")
DONE_LINE = re.compile(r"^\[\d+/\d+\] ([\w-]+): done in ([\d.]+)s \(([\d,]+) rows in, ([\d,]+) out\)")
sys.path.insert(0, str(REPO))
from leadlake.pipeline import STAGE_NAMES  # noqa: E402


@dataclass
class SizeRun:
    leads: int
    wall_s: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    py_peak_mb: dict[str, float] = field(default_factory=dict)
    jvm_peak_mb: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    resumed_at: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=1))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SizeRun:
        return cls(**json.loads(path.read_text()))

    def next_stage(self) -> str | None:
        return next((s for s in STAGE_NAMES if s not in self.seconds and s not in self.skipped), None)


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


def run_size(leads: int, conf: str | None, workdir: Path, log_level: str, log: Path | None) -> SizeRun:
    """``leadlake run --demo`` at one size, with its driver's memory sampled per stage.

    Goes on from the first stage not yet done in ``workdir`` (a fresh demo
    lakehouse when none is), saving each stage as it ends.
    """
    lakehouse, state = workdir / f"lh-{leads}", workdir / f"scale-{leads}.json"
    result = SizeRun.load(state) if state.exists() else SizeRun(leads)
    start = result.next_stage()
    if start is None:
        print(f"{leads:,} leads: every stage done in an earlier run ({state})", flush=True)
        return result
    cmd = [sys.executable, "-m", "leadlake.cli", "run", "--leads", str(leads), "--lakehouse", str(lakehouse),
           "--log-level", log_level]
    if start == STAGE_NAMES[0]:
        shutil.rmtree(lakehouse, ignore_errors=True)
        cmd.append("--demo")
    else:
        result.resumed_at.append(start)
        cmd += ["--from", start]
        print(f"{leads:,} leads: going on from {start} ({len(result.seconds)} stages done earlier)", flush=True)
    if conf:
        cmd += ["--conf", conf]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    current = ["start"]
    done = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workdir,
                            start_new_session=True)

    def sample() -> None:
        jvm = None
        while not done.is_set():
            jvm = jvm or _java_child(proc.pid)
            stage = current[0]
            result.py_peak_mb[stage] = max(result.py_peak_mb.get(stage, 0.0), _rss_mb(proc.pid))
            if jvm:
                rss = _rss_mb(jvm)
                result.jvm_peak_mb[stage] = max(result.jvm_peak_mb.get(stage, 0.0), rss)
                # The first java child may be Spark's launcher, which exits once it has built the command line.
                jvm = jvm if rss else None
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tail: list[str] = []
    assert proc.stdout is not None
    with open(log, "a") if log else open(os.devnull, "w") as keep:
        try:
            for line in proc.stdout:
                keep.write(line)
                keep.flush()
                tail = [*tail, line][-40:]
                if m := DONE_LINE.match(line):
                    name, secs, rin, rout = m.groups()
                    result.seconds[name] = float(secs)
                    result.rows_in[name] = int(rin.replace(",", ""))
                    result.rows_out[name] = int(rout.replace(",", ""))
                    result.wall_s += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    result.save(state)
                elif m := SKIPPED_LINE.match(line):
                    result.skipped.append(m.group(1))
                    result.save(state)
                elif m := STAGE_LINE.match(line):
                    current[0] = m.group(3)
                    print(f"  {leads:,} leads: {line.strip()[:100]}  ({result.wall_s:.0f}s before it)", flush=True)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)  # the run is a process group: its JVM and Python workers go with it
            raise
        finally:
            proc.wait()
            done.set()
            sampler.join()
    result.wall_s += time.perf_counter() - t0
    result.save(state)
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
    for r in runs:
        if r.resumed_at:
            lines.append(f"- {r.leads:,} leads: run in {len(r.resumed_at) + 1} sittings; these stages started in a "
                         f"new process (a cold JVM): {', '.join(dict.fromkeys(r.resumed_at))}")
    for n in skipped:
        lines.append(f"- {n:,} leads: not run, the previous size's time grown linearly passes the budget")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--budget-min", type=float, default=60.0, help="stop before a size that would pass this")
    ap.add_argument("--conf", help="YAML merged over conf/default.yaml for every run")
    ap.add_argument("--out", help="also write the table (markdown) here")
    ap.add_argument("--workdir", type=Path, help="keep lakehouses and finished stages here and go on from them")
    ap.add_argument("--log", type=Path, help="append every line the runs print here")
    ap.add_argument("--log-level", default="WARNING", help="the runs' log level (INFO shows each stage's progress)")
    args = ap.parse_args()
    # Stopped with Ctrl-C or `kill` (a bench started in the background ignores SIGINT unless told otherwise), it
    # takes its run down with it and keeps what finished.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)

    runs: list[SizeRun] = []
    skipped: list[int] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="leadlake-scale-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n in sorted(args.sizes):
            used = (time.perf_counter() - started) / 60
            state = workdir / f"scale-{n}.json"
            if runs and not state.exists() and used + runs[-1].wall_s / 60 * n / runs[-1].leads > args.budget_min:
                skipped.append(n)
                continue
            print(f"{n:,} leads ...", flush=True)
            try:
                runs.append(run_size(n, args.conf, workdir, args.log_level, args.log))
            except KeyboardInterrupt:
                if not args.workdir:
                    raise SystemExit("stopped") from None
                raise SystemExit(f"stopped: the stages that ended are kept in {workdir}; "
                                 "run the same command to go on") from None
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
