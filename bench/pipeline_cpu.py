"""Where the CPU of a whole pipeline run goes, and what a Spark or JVM setting changes, side by side in one run.

    python bench/pipeline_cpu.py [--leads 600] [--repeat 1]
                                 [--variant "no codegen: spark.sql.codegen.wholeStage=false" ...]
                                 [--variant "torch: text.engine=torch" ...]
                                 [--out bench/results/pipeline_cpu.md]

On two cores a small pipeline keeps both busy most of the time, so it is the
CPU every part spends, not waiting, that sets how long a run (and the test
suite, which runs the pipeline several times) takes. Which part is worth
changing is not visible from stage times: the JVM's just-in-time compilers,
the Python workers' imports and model loads, and the driver's planning all
run inside every stage. This bench runs ``leadlake run --demo`` as a user
does, in a process of its own, and twice a second reads from /proc the CPU
time of every process under it and of every thread of its JVM, then sorts
them by role: JVM threads (C2 and C1 compilers, the code-cache sweeper,
garbage collection, Spark task threads, the threads serving the Python
driver's calls, the rest), the Python driver, and the Python workers by the
worker module their daemon serves (UDFs, and the planning, writing and
committing of leadlake's Delta data source). A process or thread is counted
up to its last sample, so a short-lived one may lose up to half a second.

Each ``--variant`` is a label and settings (``key=value``, comma separated):
Spark properties (``spark.driver.extraJavaOptions`` is appended to the JVM
options the run already has) or leadlake's own dotted keys
(``text.engine=torch``); a label alone runs the baseline again, which shows how
far two identical runs differ. Runs alternate between the baseline and the variants,
each on a fresh lakehouse, so drift of the machine falls on all of them;
printed: wall time, CPU, how busy the cores were, CPU per role and time per
stage, each with its ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from machine import describe  # noqa: E402
from scale import DONE_LINE  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
# The settings `make test` runs the pipeline with: tests/conftest.py's PIPELINE_CONF and TEST_SETTINGS (small
# models, local[2], 4 shuffle partitions, text in fp32), copied: importing conftest would also hand every JVM the
# suite's class archive.
RUN_CONF = {
    "text": {"precision": "fp32"},
    "leads": {"model": {"max_iter": 8, "max_depth": 3}},
    "clv": {"model": {"max_iter": 6}},
    "reco": {"als": {"max_iter": 5}},
    "campaigns": {"model": {"max_iter": 8}},
    "pipeline": {"train_sentiment": {"rows_per_domain": 120, "leave_one_domain_out": False}},
    "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g",
                                             "spark.driver.extraJavaOptions": "-XX:+UseParallelGC"}},
}
JVM_THREADS = (  # (role, thread name prefix as /proc shows it: 15 characters at most)
    ("JVM: C2 compiler", "C2 CompilerThre"), ("JVM: C1 compiler", "C1 CompilerThre"),
    ("JVM: code-cache sweeper", "Sweeper thread"), ("JVM: garbage collection", "GC Thread"),
    ("JVM: garbage collection", "VM Thread"), ("JVM: Spark task threads", "Executor task"),
    ("JVM: serving the Python driver's calls", "Thread-"),
)
DAEMON = re.compile(r"-m \S*daemon\S* (\S+)")


@dataclass
class Run:
    label: str
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.cpu.values())


def _stat(path: Path) -> tuple[str, list[str]] | None:
    """(the name, the fields after it) of a process's or thread's /proc stat; None once it is gone."""
    try:
        text = path.read_text()
    except OSError:
        return None
    if ")" not in text:  # read as the process went
        return None
    return text[text.index("(") + 1:text.rindex(")")], text.rsplit(")", 1)[1].split()


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for path in Path("/proc").glob("[0-9]*/stat"):
        stat = _stat(path)
        if stat:
            out[int(stat[1][1])].append(int(path.parent.name))
    return out


def _cpu_s(path: Path) -> tuple[str, float] | None:
    """(the name /proc gives, user + system seconds) of a process or thread, None once it is gone."""
    stat = _stat(path)
    return (stat[0], (int(stat[1][11]) + int(stat[1][12])) / HZ) if stat else None


def _role(cmdline: str) -> str:
    worker = DAEMON.search(cmdline)
    if worker:
        return f"Python workers: {worker.group(1).removeprefix('pyspark.sql.worker.')}"
    if "leadlake.cli" in cmdline:
        return "Python driver"
    return "other processes"


def _thread_role(name: str) -> str:
    return next((role for role, prefix in JVM_THREADS if name.startswith(prefix)), "JVM: other threads")


def run_once(label: str, leads: int, props: dict[str, str], workdir: Path) -> Run:
    conf = yaml.safe_load(yaml.safe_dump(RUN_CONF))
    spark_conf = conf["spark"]["conf"]
    for key, value in props.items():
        if not key.startswith("spark."):  # a leadlake setting, e.g. text.engine
            *sections, leaf = key.split(".")
            node = conf
            for name in sections:
                node = node.setdefault(name, {})
            node[leaf] = yaml.safe_load(value)
            continue
        joined = key == "spark.driver.extraJavaOptions"
        spark_conf[key] = f"{spark_conf.get(key, '')} {value}".strip() if joined else value
    conf_file = workdir / "run.yaml"
    conf_file.write_text(yaml.safe_dump(conf))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    log = (workdir / "run.log").open("w")
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "leadlake.cli", "run", "--demo", "--leads", str(leads),
                             "--conf", str(conf_file), "--lakehouse", str(workdir / "lh")],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    procs: dict[int, tuple[str, float]] = {}  # pid -> (role, CPU seconds at its last sample)
    threads: dict[tuple[int, int], tuple[str, float]] = {}
    jvms: set[int] = set()
    while proc.poll() is None:
        tree, todo = [], [proc.pid]
        children = _children()
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        for pid in tree:
            seen = _cpu_s(Path(f"/proc/{pid}/stat"))
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if seen is None:
                continue
            if pid in jvms or cmdline.split(" ", 1)[0].endswith("java"):  # spark-class execs the JVM in its pid
                jvms.add(pid)
                procs.pop(pid, None)
                for task in Path(f"/proc/{pid}/task").iterdir():
                    named = _cpu_s(task / "stat")
                    if named:
                        threads[(pid, int(task.name))] = (_thread_role(named[0]), named[1])
            elif pid in procs or cmdline:  # an exiting process shows no command line: it keeps the role it had
                procs[pid] = (procs[pid][0] if pid in procs else _role(cmdline), seen[1])
        time.sleep(0.5)
    wall = time.monotonic() - start
    log.close()
    out = (workdir / "run.log").read_text()
    if proc.returncode != 0:
        raise SystemExit(f"leadlake run failed ({label}, exit {proc.returncode}):\n{out[-3000:]}")
    result = Run(label, wall)
    for role, seconds in [*procs.values(), *threads.values()]:
        result.cpu[role] = result.cpu.get(role, 0.0) + seconds
    for line in out.splitlines():
        done = DONE_LINE.match(line.strip())
        if done:
            result.stages[done.group(1)] = float(done.group(2))
    return result


def _mean(runs: list[Run], pick) -> float:
    return sum(pick(r) for r in runs) / len(runs)


def report(by_label: dict[str, list[Run]], leads: int) -> str:
    labels = list(by_label)
    base = by_label[labels[0]]

    def row(name: str, pick, fmt: str = "{:.1f}") -> str:
        cells = []
        for label in labels:
            value = _mean(by_label[label], pick)
            cell = fmt.format(value)
            if label != labels[0] and _mean(base, pick):
                cell += f" ({value / _mean(base, pick):.2f}x)"
            cells.append(cell)
        return f"| {name} | " + " | ".join(cells) + " |"

    roles = sorted({r for runs in by_label.values() for run in runs for r, seconds in run.cpu.items() if seconds},
                   key=lambda r: -_mean(base, lambda run: run.cpu.get(r, 0.0)))
    stages = list(base[0].stages)
    lines = [f"`leadlake run --demo --leads {leads}` on {describe()}; {len(base)} run(s) per column, alternating; "
             "seconds (ratio to the first column).", "",
             "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|",
             row("wall", lambda r: r.wall), row("CPU, all processes", lambda r: r.total),
             row("cores busy (CPU / wall / cores)", lambda r: r.total / r.wall / CORES, "{:.0%}")]
    lines += [row(role, lambda r, role=role: r.cpu.get(role, 0.0)) for role in roles]
    lines += [row(f"stage {s}", lambda r, s=s: r.stages.get(s, 0.0)) for s in stages]
    return "\n".join(lines)


def _variant(text: str) -> tuple[str, dict[str, str]]:
    label, _, props = text.partition(":")
    pairs = [p.strip().split("=", 1) for p in props.split(",") if p.strip()]
    if not label.strip() or any(len(p) != 2 for p in pairs):
        raise SystemExit(f"--variant {text!r}: give 'label: key=value, key=value'")
    return label.strip(), {k.strip(): v.strip() for k, v in pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[], type=_variant)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    variants = [("as configured", {}), *args.variant]
    by_label: dict[str, list[Run]] = {label: [] for label, _ in variants}
    for i in range(args.repeat):
        for label, props in variants:
            with tempfile.TemporaryDirectory(prefix="leadlake-cpu-") as tmp:
                run = run_once(label, args.leads, props, Path(tmp))
            by_label[label].append(run)
            print(f"run {i + 1}/{args.repeat} {label}: wall {run.wall:.1f} s, CPU {run.total:.1f} s", flush=True)
    table = report(by_label, args.leads)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
