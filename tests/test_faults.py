"""Faults a production lakehouse meets: two processes writing one table at the same moment, readers during
the writes, two ingests of different exports into one bronze table. Nothing is lost, nothing is doubled,
and nobody ever reads half a write."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
from deltalake import DeltaTable

from leadlake.lakehouse import Lakehouse

from .conftest import job_env, make_conf

WRITER = Path(__file__).with_name("concurrent_writer.py")
KEYS = {"A": range(0, 40), "B": range(20, 60)}  # K020-K039 are written by both
GROUPS = (range(0, 20), range(20, 40), range(40, 60))
ROUNDS = 4


def _table(path: str, version: int | None = None) -> dict[str, tuple[str, int]]:
    rows = pa.table(DeltaTable(path, version=version).to_pyarrow_dataset().to_table()).to_pylist()
    out = {r["key"]: (r["writer"], r["round"]) for r in rows}
    assert len(out) == len(rows) == 60, f"{len(rows)} rows, {len(out)} keys at version {version}"
    return out


def _whole(snapshot: dict[str, tuple[str, int]]) -> None:
    """Each writer's MERGE is all or nothing: every group of keys carries one (writer, round)."""
    for group in GROUPS:
        assert len({snapshot[f"K{k:03d}"] for k in group}) == 1, snapshot


def test_two_processes_upserting_overlapping_keys_leave_one_serial_order(spark, tmp_path):
    lh = Lakehouse(spark, make_conf(tmp_path / "lh"))
    lh.write(spark.createDataFrame([(f"K{k:03d}", "init", 0) for k in range(60)],
                                   "key string, writer string, round int"), "gold.contested")
    path = lh.ref("gold.contested").path
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = job_env(PYTHONPATH=str(WRITER.parents[1]))
    procs = {me: subprocess.Popen(
        [sys.executable, str(WRITER), str(tmp_path / "lh"), me, rival, str(KEYS[me].start), str(KEYS[me].stop),
         str(ROUNDS), str(barrier)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for me, rival in (("A", "B"), ("B", "A"))}
    reads = 0
    while any(p.poll() is None for p in procs.values()):
        _whole(_table(path))  # a reader during the writes sees one committed version or the next
        reads += 1
        time.sleep(0.02)  # reading without a pause took a core from the two writers on a 2-core machine
    outcomes = []
    for p in procs.values():
        out, err = p.communicate()
        assert p.returncode == 0, err[-3000:]
        outcomes += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(outcomes) == 2 * ROUNDS and reads > 5
    conflicts = [o for o in outcomes if not o["committed"]]
    assert all("retry" in o["message"] and "contested" in o["message"] for o in conflicts), conflicts
    committed = {(o["writer"], o["round"]) for o in outcomes if o["committed"]}
    print(f"\n{len(committed)} of {2 * ROUNDS} racing upserts committed, {len(conflicts)} refused, {reads} reads")

    # Replay the log: each commit is exactly one writer's whole round applied to the version before it.
    last = DeltaTable(path).version()
    assert last == len(committed)
    applied = []
    previous = _table(path, 0)
    for version in range(1, last + 1):
        current = _table(path, version)
        new = set(current.values()) - set(previous.values())
        assert len(new) == 1, (version, new)
        writer, rnd = new.pop()
        assert current == {**previous, **{f"K{k:03d}": (writer, rnd) for k in KEYS[writer]}}, version
        applied.append((writer, rnd))
        previous = current
    assert sorted(applied) == sorted(committed)  # nothing committed twice, nothing committed lost
    assert len(committed) >= ROUNDS  # at least one writer lands every round


Key = str | tuple[str, ...]


def _lines(path: Path, key: Key, skip: tuple[str, ...], digits: int | None = None) -> list[str]:
    """Every row as sorted-key JSON without the run's timestamps, sorted, so the same rows in any order match.

    ``digits`` rounds doubles (also inside arrays: vectors) first: a model's
    scores summed over partitions in another order may differ in the last
    bit, which is not a lost write.
    """
    if not (path / "_delta_log").is_dir():
        return []
    rows = pa.table(DeltaTable(str(path)).to_pyarrow_dataset().to_table()).to_pylist()
    keys = [tuple(r[k] for k in key) if isinstance(key, tuple) else r[key] for r in rows]
    assert len(keys) == len(set(keys)), f"duplicate keys in {path.name}"

    def value(v: object) -> object:
        if isinstance(v, list):
            return [value(x) for x in v]
        return round(v, digits) if digits is not None and isinstance(v, float) else v

    return sorted(json.dumps({k: value(v) for k, v in r.items() if k not in skip}, sort_keys=True, default=str)
                  for r in rows)


def _content(path: Path, key: Key, skip: tuple[str, ...], digits: int | None = None) -> tuple[int, str]:
    """(rows, checksum over :func:`_lines`): small enough to compare many states of a table."""
    import hashlib

    lines = _lines(path, key, skip, digits)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest() if lines else ""


def _differing(a: Path, b: Path, key: Key, skip: tuple[str, ...], digits: int | None = None) -> str:
    """The first rows each table has and the other lacks, for a failure a person can act on."""
    left, right = set(_lines(a, key, skip, digits)), set(_lines(b, key, skip, digits))
    return f"only in {a}: {sorted(left - right)[:3]}; only in {b}: {sorted(right - left)[:3]}"


def _files(path: Path) -> tuple[set[str], set[str]]:
    """(data files on disk, data files some committed version names), relative to the table."""
    last = DeltaTable(str(path)).version()
    named = {str(Path(u.removeprefix("file://")).relative_to(path))
             for v in range(last + 1) for u in DeltaTable(str(path), version=v).file_uris()}
    return {str(p.relative_to(path)) for p in path.rglob("*.parquet")}, named


def _parquet_files(path: Path) -> set[Path]:
    return set(path.rglob("*.parquet"))


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc (PySpark's worker daemon leaves the job's process group)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _kill_cli_when(cli_args: list[str], watch: Callable[[], object], *, after_s: float = 0.0) -> bool:
    """Start ``leadlake`` with these arguments and SIGKILL all of it (driver, JVM, and the Python workers,
    which PySpark's daemon puts in a process group of their own) as soon as what ``watch()`` sees on disk
    changes, plus ``after_s``; returns whether the job had finished first."""
    import signal

    env = job_env()
    before = watch()
    proc = subprocess.Popen([sys.executable, "-m", "leadlake.cli", *cli_args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300  # a job that never writes what watch() looks for is killed after 5 minutes
    while proc.poll() is None and time.monotonic() < deadline and watch() == before:
        time.sleep(0.01)
    time.sleep(after_s)
    finished = proc.poll() is not None
    everyone = _descendants(proc.pid)
    groups = {proc.pid}
    for pid in everyone:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    for group in groups - {os.getpgrp()}:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    for pid in everyone:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    return finished


def _kill_side_by_side(kills: list[tuple[list[str], Callable[[], object], float]]) -> list[bool]:
    """:func:`_kill_cli_when` for each (arguments, watch, after_s) at once, each job on its own lakehouse.

    A job in a new JVM spends much of its time to the first write starting up,
    which leaves a core of a 2-core machine idle: two text kills side by side
    took 35.7 s against 44.9 s one after the other.
    """
    with ThreadPoolExecutor(len(kills)) as pool:
        running = [pool.submit(_kill_cli_when, args, watch, after_s=after_s) for args, watch, after_s in kills]
        return [job.result() for job in running]


STAMPS = ("_ingested_at", "quarantined_at")


def test_an_ingest_killed_at_any_moment_of_its_writes_loses_and_doubles_nothing(spark, tmp_path):
    """SIGKILL of the whole job (driver, JVM, Python workers) at the moments a write is most fragile.

    Each kill waits for something the job does on disk, not for a random delay
    that may land before or after the writes: its first data file (files
    written, nothing committed), its first commit (one table committed, the
    other not yet), and half a second after the first data file (inside the
    rewrite of the files holding the updated keys). The three jobs run side by
    side, each on its own copy of the lakehouse.
    """
    import shutil

    from leadlake.cli import main

    base, update = tmp_path / "base.csv", tmp_path / "update.csv"
    header = "lead_id,created_at,source,company,company_size\n"
    base.write_text(header + "".join(f"L{i:05d},2025-01-01,web form,Base {i},{i % 900 + 1}\n" for i in range(4000)))
    # The update rewrites the files holding half the keys, adds as many, and sends every 97th row to quarantine.
    update.write_text(header + "".join(
        f"L{i:05d},2025-02-01,{'partner' if i % 97 else 'nowhere'},New {i},{i % 500 + 1}\n" for i in range(2000, 6000)))
    seed_lh = tmp_path / "seed"
    args = ["ingest", "--table", "leads", "--format", "csv", "--log-level", "WARNING"]
    assert main([*args, "--lakehouse", str(seed_lh), "--input", str(base)]) == 0
    reference = tmp_path / "reference"
    shutil.copytree(seed_lh, reference)
    assert main([*args, "--lakehouse", str(reference), "--input", str(update)]) == 0
    tables = (("leads", "lead_id"), ("quarantine", "quarantine_id"))
    expected = {t: _content(reference / "bronze" / t, k, STAMPS) for t, k in tables}
    assert expected["quarantine"][0] == 41 and expected["leads"][0] == 6000 - 20
    before = {t: _content(seed_lh / "bronze" / t, k, STAMPS) for t, k in tables}

    outcomes = []

    def commits(lh: Path) -> int:
        return sum(len(list((lh / "bronze" / t / "_delta_log").glob("*.json"))) for t, _ in tables)

    moments = ("first data file", "first commit", "0.5 s into the files")
    killed = [tmp_path / f"killed-{seed}" for seed in range(1, len(moments) + 1)]
    for lh in killed:
        shutil.copytree(seed_lh, lh)
    done = _kill_side_by_side([
        ([*args, "--lakehouse", str(lh), "--input", str(update)],
         partial(commits, lh) if moment == "first commit" else partial(_parquet_files, lh / "bronze" / "leads"),
         0.5 if moment.startswith("0.5 s") else 0.0) for lh, moment in zip(killed, moments, strict=True)])
    for seed, (lh, moment, finished) in enumerate(zip(killed, moments, done, strict=True), start=1):
        leads = lh / "bronze" / "leads"
        # Killed: each table reads at a committed version, the one before the job or the one after, no mix.
        states = {t: _content(lh / "bronze" / t, k, STAMPS) for t, k in tables}
        for t in states:
            assert states[t] in (before[t], expected[t]), (seed, t)
        on_disk, named = _files(leads)
        orphans = on_disk - named
        outcomes.append((moment, "finished" if finished else "killed",
                         ["new" if states[t] == expected[t] else "old" for t in states], len(orphans)))
        # Rerun: exactly what an uninterrupted run writes.
        assert main([*args, "--lakehouse", str(lh), "--input", str(update)]) == 0
        assert {t: _content(lh / "bronze" / t, k, STAMPS) for t, k in tables} == expected, seed
        # Files of the killed write are in no commit: vacuum removes them once old enough, and nothing else
        # (files a commit replaced stay for time travel until the retention has passed since their removal).
        on_disk, named = _files(leads)
        for name in on_disk - named:
            os.utime(leads / name, (time.time() - 7200, time.time() - 7200))
        assert main(["vacuum", "--lakehouse", str(lh), "--retention-hours", "1", "--table", "bronze.leads"]) == 0
        assert _files(leads)[0] == named  # the killed write's files are gone, every committed one is there
        assert _content(leads, "lead_id", STAMPS) == expected["leads"]
    print("\nkills (moment, job state, tables old/new, orphaned files):", outcomes)
    assert sum(o[1] == "killed" for o in outcomes) >= 2, outcomes


Tables = dict[Path, tuple[Key, tuple[str, ...]]]  # table path in the lakehouse -> (key, columns of the run's time)


class Kill(NamedTuple):
    job: str  # the pipeline stage the job runs (`run --only`)
    moment: Path  # the table whose first new data file kills it
    committed: Path | None = None  # a table an earlier stage committed before the job starts (from the reference)


def _kill_side_by_side_and_rerun(notebook_runs, tmp_path: Path, seed: Path, tables: Tables,
                                 kills: list[Kill]) -> list[tuple]:
    """Jobs of the pipeline killed while writing, each on its own copy of ``seed``, side by side.

    The uninterrupted ``run --only`` of every job, in pipeline order, on a copy, is
    the reference. Each job starts from ``seed`` (plus, where a kill names one,
    a table an earlier stage committed in the reference: a job killed after
    that stage's commit) and is killed at the first new data file of its
    table. After a kill each table reads as before that job or as the
    reference leaves it, never a mix; the job's rerun leaves each table it
    writes exactly as the reference and the others as they were.
    Returns (job, moment, job state, old/new per table) per kill.
    """
    import shutil

    import yaml

    from leadlake import catalog
    from leadlake.cli import main

    from .conftest import TEST_SETTINGS

    conf = tmp_path / "kill.yaml"  # the notebooks' conf, on the same Spark settings as this session
    conf.write_text(yaml.safe_dump({**yaml.safe_load(notebook_runs.conf_file.read_text()), **TEST_SETTINGS}))

    def run(lh: Path, *only: str) -> list[str]:
        return ["run", "--conf", str(conf), "--only", *only, "--log-level", "WARNING", "--lakehouse", str(lh)]

    def contents(lh: Path) -> dict[Path, tuple[int, str]]:
        return {t: _content(lh / t, key, skip, 6) for t, (key, skip) in tables.items()}

    reference = tmp_path / "reference"
    shutil.copytree(seed, reference)
    assert main(run(reference, *(k.job for k in kills))) == 0
    expected = contents(reference)
    assert all(n > 0 for n, _ in expected.values()), expected
    copies = [tmp_path / f"killed-{k.moment.name}" for k in kills]
    for k, killed in zip(kills, copies, strict=True):
        shutil.copytree(seed, killed)
        if k.committed:
            shutil.rmtree(killed / k.committed, ignore_errors=True)
            shutil.copytree(reference / k.committed, killed / k.committed)
    befores = [contents(killed) for killed in copies]
    done = _kill_side_by_side([(run(killed, k.job), partial(_parquet_files, killed / k.moment), 0.0)
                               for k, killed in zip(kills, copies, strict=True)])
    outcomes = []
    for k, killed, before, finished in zip(kills, copies, befores, done, strict=True):
        state = contents(killed)
        for t in tables:
            assert state[t] in (before[t], expected[t]), (k.moment, t)
        outcomes.append((k.job, f"first file of {k.moment}", "finished" if finished else "killed",
                         ["new" if state[t] == expected[t] else "old" for t in tables]))
        assert not finished, k.moment
        assert main(run(killed, k.job)) == 0
        for t, (key, skip) in tables.items():
            writes = catalog.TABLES[".".join(t.parts)].written_by == k.job
            assert _content(killed / t, key, skip, 6) == (expected if writes else before)[t], \
                _differing(killed / t, reference / t, key, skip, 6)
    return outcomes


def test_the_scoring_jobs_killed_while_writing_rerun_to_what_an_uninterrupted_run_writes(notebook_runs, tmp_path):
    """``score-leads`` MERGEs its model's scores over every lead (rewriting the files of the rows it had, adding
    the ones it had lost); ``score-clv`` loads its champion models, scores every customer in Python workers and
    creates its table. Each is killed inside its write."""
    import shutil

    from .conftest import PIPELINE_LEADS

    leads, clv = Path("gold/lead_scores"), Path("gold/customer_clv")
    tables = {leads: ("lead_id", ("scored_at",)), clv: ("customer_id", ("scored_at",))}
    seed = tmp_path / "seed"
    shutil.copytree(notebook_runs.lakehouse, seed)
    DeltaTable(str(seed / leads)).delete("lead_id < 'L0000300'")  # rows the MERGE adds back; the rest it rewrites
    shutil.rmtree(seed / clv)
    assert _content(seed / leads, "lead_id", ())[0] == PIPELINE_LEADS - 300
    outcomes = _kill_side_by_side_and_rerun(notebook_runs, tmp_path, seed, tables,
                                            [Kill("score-leads", leads), Kill("score-clv", clv)])
    # Whether a kill lands before its table's commit (old) or just after it (new) is a matter of a few hundred
    # milliseconds here; either is a committed version, and both jobs were killed before they finished.
    print("\nkills (job, moment, job state, tables lead scores / CLV):", outcomes)


def test_the_text_stages_killed_while_writing_rerun_to_what_an_uninterrupted_run_writes(notebook_runs, tmp_path):
    """``embed`` on the notebooks' lakehouse without the four text tables, killed at the first data file of the
    vector store (the encoder's results going to disk); and ``mine-needs``, on the vectors the uninterrupted run
    commits, killed at the first data file of silver.text_signals (its first overwrite under way). The
    interactions of a quarter of the leads are kept: the texts' count, not their kinds, is what costs. Vectors
    in fp32 (the suite's TEST_SETTINGS): bf16 on a CPU with AMX rounds a text's vector by its batch's shape."""
    import shutil

    embeddings, signals = Path("silver/text_embeddings"), Path("silver/text_signals")
    tables = {embeddings: (("text_hash", "model_id"), ("embedded_at",)),
              signals: (("source", "source_id"), ()),
              Path("gold/need_insights"): ("need_id", ()),
              Path("gold/customer_needs"): (("customer_id", "need_category"), ())}
    seed = tmp_path / "seed"
    shutil.copytree(notebook_runs.lakehouse, seed)
    for table in tables:
        shutil.rmtree(seed / table)
    DeltaTable(str(seed / "bronze" / "interactions")).delete("lead_id >= 'L0000150'")
    outcomes = _kill_side_by_side_and_rerun(
        notebook_runs, tmp_path, seed, tables,
        [Kill("embed", embeddings), Kill("mine-needs", signals, committed=embeddings)])
    print("\nkills (job, moment, job state, tables embeddings / signals / insights / customer needs):", outcomes)
    assert outcomes[1][3][1] == "old", "the kill landed after silver.text_signals committed, not inside its write"


def test_two_ingests_of_different_exports_into_one_table_at_once_both_land(spark, tmp_path):
    """Both commit, the counts reconcile, and each rejected row is in quarantine once, though neither job
    found bronze.quarantine when it started (both create it: one MERGEs into what the other created)."""
    from leadlake.cli import main

    header = "lead_id,created_at,source,company\n"
    files = {}
    for name, prefix, step in (("a", "A", 50), ("b", "B", 40)):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text(header + "".join(
            f"{prefix}{i:05d},2025-01-01,{'partner' if i % step else 'nowhere'},{prefix} {i}\n" for i in range(2000)))
    base = tmp_path / "base.csv"
    base.write_text(header + "".join(f"L{i:05d},2025-01-01,web form,Base {i}\n" for i in range(100)))
    lakehouse = tmp_path / "lh"
    args = ["ingest", "--lakehouse", str(lakehouse), "--table", "leads", "--format", "csv"]
    assert main([*args, "--input", str(base), "--log-level", "WARNING"]) == 0
    env = job_env()
    procs = [subprocess.Popen([sys.executable, "-m", "leadlake.cli", *args, "--input", str(f)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files.values()]
    outs = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert "read 2,000, accepted 1,960, quarantined 40" in outs[0][0]
    assert "read 2,000, accepted 1,950, quarantined 50" in outs[1][0]
    leads = pa.table(DeltaTable(str(lakehouse / "bronze" / "leads")).to_pyarrow_dataset().to_table())
    assert leads.num_rows == len(set(leads["lead_id"].to_pylist())) == 100 + 1960 + 1950
    quarantine = pa.table(DeltaTable(str(lakehouse / "bronze" / "quarantine")).to_pyarrow_dataset().to_table())
    ids = quarantine["quarantine_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 90
    by_file = {}
    for f in quarantine["source_file"].to_pylist():
        by_file[Path(f.removeprefix("file:")).name] = by_file.get(Path(f.removeprefix("file:")).name, 0) + 1
    assert by_file == {"a.csv": 40, "b.csv": 50}


def test_a_python_worker_that_dies_mid_task_is_retried_and_the_table_is_exact(tmp_path):
    marker = tmp_path / "died"
    env = job_env(PYTHONPATH=str(WRITER.parents[1]))
    proc = subprocess.run([sys.executable, str(WRITER.with_name("dying_worker.py")), str(tmp_path / "lh"),
                           str(marker)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker.exists()  # the worker called os._exit right after leaving this: that task's rows come from a retry
    rows = pa.table(DeltaTable(str(tmp_path / "lh" / "silver" / "doubled")).to_pyarrow_dataset().to_table())
    assert sorted(zip(rows["id"].to_pylist(), rows["twice"].to_pylist(), strict=True)) == \
        [(i, 2 * i) for i in range(1000)]
