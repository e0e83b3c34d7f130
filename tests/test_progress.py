"""Progress a person can read while a long stage runs: rows done of total, rate and time left, every 30 s."""

from __future__ import annotations

import logging
import re
import time

import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from leadlake.progress import progress_line, stage


def test_the_line_estimates_rows_rate_and_time_left_from_spark_tasks():
    assert progress_line("embed", 90, (4, 12), 12_000) == (
        "embed: running 1m30s, ~4,000 of 12,000 rows (33%), 44 rows/s, about 3m00s left (4 of 12 tasks)")
    assert progress_line("fit", 40, (1, 4), None) == (
        "fit: running 40s, 25% of the current Spark stage, about 2m00s left (1 of 4 tasks)")
    assert progress_line("fit", 5, None, None) == "fit: running 5s"  # no Spark stage running (or Spark Connect)
    assert progress_line("embed", 30, (0, 3), 900) == "embed: running 30s, ~0 of 900 rows (0%), 0 rows/s (0 of 3 tasks)"


def test_a_stage_reports_while_spark_works_and_stops_when_it_ends(spark, caplog):
    @pandas_udf("long")
    def slow(ids: pd.Series) -> pd.Series:
        time.sleep(0.8)
        return ids

    log = logging.getLogger("progress-test")
    with caplog.at_level(logging.INFO, logger="progress-test"):
        with stage(log, "slow work", total=800, every=0.4) as st:
            st.rows = spark.range(0, 800, 1, 8).select(slow("id").alias("x")).agg(F.count("x")).first()[0]
        ended = len(caplog.records)
        time.sleep(1.0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == ended, "a progress line came after the stage ended"
    assert lines[0] == "slow work ..." and re.fullmatch(r"slow work done: 800 rows in [\d.]+s", lines[-1])
    beats = [x for x in lines if re.fullmatch(r"slow work: running \d+s, ~[\d,]+ of 800 rows \(\d+%\), [\d,]+ "
                                              r"rows/s(, about \d+s left)? \(\d of 8 tasks\)", x)]
    assert beats and any("left" in x for x in beats), lines
