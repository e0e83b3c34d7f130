"""Run by test_faults.py (not collected by pytest): a Delta write whose Python worker dies mid-task, once.

The session retries failed tasks as a cluster does (``local[2,3]``: up to 3 attempts), so Spark must run the
task again and the commit must hold exactly the rows of the attempts that finished.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
from pyspark.sql.functions import pandas_udf

from leadlake.config import load_conf
from leadlake.lakehouse import Lakehouse
from leadlake.session import get_spark


def main(lakehouse: str, marker: str) -> None:
    conf = load_conf(lakehouse=lakehouse, overrides={"spark": {"master": "local[2,3]", "conf": {
        "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}}})
    spark = get_spark(conf)

    @pandas_udf("long")
    def doubled(ids: pd.Series) -> pd.Series:
        if ids.min() >= 500 and not os.path.exists(marker):  # the third of four tasks, first attempt only
            Path(marker).touch()
            os._exit(1)
        return ids * 2

    Lakehouse(spark, conf).write(spark.range(0, 1000, 1, 4).select("id", doubled("id").alias("twice")),
                                 "silver.doubled")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
