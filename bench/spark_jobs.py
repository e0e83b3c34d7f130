"""Which lines of leadlake start Spark jobs, per pipeline stage, on a small demo.

    python bench/spark_jobs.py [--leads 600] [--top 40] [--conf extra.yaml] [--only embed mine-needs]
                               [--out bench/results/spark_jobs.md]

On the CRMs most teams have, a stage's time is mostly the fixed cost of each
Spark job it starts (planning, scheduling, task launch: ~0.1-0.2 s on 2 cores
whatever the rows), so the number of jobs, not the number of rows, says where
a small run's time goes and what a change saves. Spark records a job's call
site only as the JVM method that started it ("count at
NativeMethodAccessorImpl.java:0"), so this bench watches from Python: a thread
polls the SparkContext's status tracker every few milliseconds, and each new
job id is charged to the innermost ``leadlake/`` frame of the driver's main
thread at that moment, and to the pipeline stage running then. A job shorter
than the poll interval is charged to where the driver stood when it was seen,
so counts per line are close, counts per stage exact.

The same thread samples where the driver stands at every poll, so the time
of each line (its Spark jobs, or Python work on the driver) is measured too.

Prints jobs and seconds per stage, the lines that started the most jobs, and
the lines the driver spent the most time in.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

CONF = """
spark:
  conf: {spark.ui.retainedJobs: "100000"}
"""

class JobWatcher(threading.Thread):
    """Charges every new Spark job, and the time between polls, to the stage and the leadlake line the driver
    is in."""

    def __init__(self, sc, main: threading.Thread, poll_s: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.tracker, self.main_id, self.poll_s = sc.statusTracker(), main.ident, poll_s
        self.seen: set[int] = set(self.tracker.getJobIdsForGroup(None))
        self.by_stage: collections.Counter[str] = collections.Counter()
        self.by_line: collections.Counter[tuple[str, str]] = collections.Counter()
        self.seconds: collections.Counter[tuple[str, str]] = collections.Counter()
        self.stop_flag = threading.Event()

    def where(self) -> tuple[str, str]:
        frame = sys._current_frames().get(self.main_id)
        stage, line = "(outside a stage)", "(not in leadlake)"
        while frame is not None:
            path = frame.f_code.co_filename
            if "/leadlake/" in path and line == "(not in leadlake)" and "/leadlake/progress" not in path:
                line = f"{path.split('/leadlake/', 1)[1]}:{frame.f_lineno} {frame.f_code.co_name}"
            if frame.f_code.co_name == "run_pipeline" and "st" in frame.f_locals:
                stage = frame.f_locals["st"].name
            frame = frame.f_back
        return stage, line

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop_flag.is_set():
            here = self.where()
            now = time.perf_counter()
            self.seconds[here] += now - last
            last = now
            new = [j for j in self.tracker.getJobIdsForGroup(None) if j not in self.seen]
            if new:
                self.seen.update(new)
                self.by_stage[here[0]] += len(new)
                self.by_line[here] += len(new)
            time.sleep(self.poll_s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=600)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--conf", type=Path, help="more conf on top of the defaults (smaller models, as the tests use)")
    ap.add_argument("--only", nargs="+", metavar="STAGE",
                    help="these stages after demo-data (what they read must not come from a stage left out)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from leadlake.config import load_conf
    from leadlake.demo import DemoSpec
    from leadlake.lakehouse import Lakehouse
    from leadlake.pipeline import STAGES, run_pipeline
    from leadlake.session import get_spark

    root = Path(tempfile.mkdtemp(prefix="spark-jobs-"))
    conf_file = root / "conf.yaml"
    conf_file.write_text(CONF)
    extra = yaml.safe_load(args.conf.read_text()) if args.conf else None
    conf = load_conf(str(conf_file), lakehouse=str(root / "lh"), overrides=extra)
    spark = get_spark(conf)
    watcher = JobWatcher(spark.sparkContext, threading.current_thread())
    watcher.start()
    stages = [s for s in STAGES if s.name != "ingest" and (not args.only or s.name in {"demo-data", *args.only})]
    results = run_pipeline(Lakehouse(spark, conf), stages, demo=DemoSpec(leads=args.leads, seed=7),
                           say=lambda s: None)
    time.sleep(0.2)
    watcher.stop_flag.set()
    watcher.join()

    seconds = {r.stage: r.seconds for r in results}
    lines = [f"# Spark jobs per stage, {args.leads}-lead demo, {spark.sparkContext.master}", "",
             "| stage | jobs | seconds | s / job |", "|---|---|---|---|"]
    for name in [s.name for s in stages] + ["(outside a stage)"]:
        n = watcher.by_stage.get(name, 0)
        s = seconds.get(name)
        if n or s:
            per = f"{s / n:.2f}" if n and s else "-"
            lines.append(f"| {name} | {n} | {s or 0:.1f} | {per} |")
    total = sum(watcher.by_stage.values())
    lines += [f"| total | {total} | {sum(seconds.values()):.1f} | |", "",
              f"## The {args.top} lines that started the most jobs", "",
              "| stage | line | jobs |", "|---|---|---|"]
    for (stage, line), n in watcher.by_line.most_common(args.top):
        lines.append(f"| {stage} | `{line}` | {n} |")
    lines += ["", f"## The {args.top} lines the driver spent the most time in (sampled)", "",
              "| stage | line | seconds | jobs |", "|---|---|---|---|"]
    for (stage, line), sec in watcher.seconds.most_common(args.top):
        lines.append(f"| {stage} | `{line}` | {sec:.1f} | {watcher.by_line.get((stage, line), 0)} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
