"""One of two writer processes racing on the same Delta table (run by test_faults.py, not collected by pytest).

Round after round it waits for its rival at a file barrier, then upserts its keys with (writer, round),
so both MERGEs are planned against the same version and commit at nearly the same moment. Prints one
JSON line per round: committed, or the conflict message the user would see.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from leadlake.config import load_conf
from leadlake.errors import ConcurrentWriteConflict
from leadlake.lakehouse import Lakehouse
from leadlake.session import get_spark


def _barrier(folder: Path, me: str, rival: str, step: int, timeout_s: float = 120) -> None:
    (folder / f"{me}.{step}").touch()
    deadline = time.monotonic() + timeout_s
    while not (folder / f"{rival}.{step}").exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{rival} never reached step {step}")
        time.sleep(0.01)


def main(lakehouse: str, me: str, rival: str, first: int, last: int, rounds: int, barrier: str) -> None:
    conf = load_conf(lakehouse=lakehouse, overrides={"spark": {"master": "local[1]", "conf": {
        "spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"}}})
    spark = get_spark(conf)
    lh = Lakehouse(spark, conf)
    folder = Path(barrier)
    _barrier(folder, me, rival, 0)  # both sessions are up
    for r in range(1, rounds + 1):
        rows = spark.createDataFrame([(f"K{k:03d}", me, r) for k in range(first, last)],
                                     "key string, writer string, round int")
        _barrier(folder, me, rival, r)
        try:
            lh.upsert(rows, "gold.contested", ["key"])
            print(json.dumps({"round": r, "writer": me, "committed": True}), flush=True)
        except ConcurrentWriteConflict as exc:
            print(json.dumps({"round": r, "writer": me, "committed": False, "message": str(exc)}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
