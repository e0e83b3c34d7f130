# Databricks notebook source
# MAGIC %md
# MAGIC # leadlake demo pipeline
# MAGIC
# MAGIC Runs the same `leadlake demo` job that `make run` and `spark-submit jobs/demo.py` run,
# MAGIC on this cluster's session (Delta is built in on Databricks, so leadlake uses delta-spark).
# MAGIC
# MAGIC Install the wheel on the cluster first (`pip install leadlake` from your artifact store, or the
# MAGIC bundle in `infra/databricks` which does it for you), and set the lakehouse root below: a Unity
# MAGIC Catalog volume path, or leave `catalog` set to write managed tables.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("leads", "2000")  # noqa: F821
lakehouse = dbutils.widgets.get("lakehouse")  # noqa: F821
leads = dbutils.widgets.get("leads")  # noqa: F821

# COMMAND ----------

from leadlake.cli import main

exit_code = main(["demo", "--lakehouse", lakehouse, "--leads", leads])
assert exit_code == 0, f"leadlake demo failed with exit code {exit_code}"

# COMMAND ----------

from leadlake.config import load_conf
from leadlake.lakehouse import Lakehouse

lh = Lakehouse(spark, load_conf(lakehouse=lakehouse))  # noqa: F821
display(lh.read("bronze.leads").groupBy("source").count())  # noqa: F821
