# Databricks notebook source
# MAGIC %md
# MAGIC # What the lakehouse holds
# MAGIC Table by table: Delta version, row count, files and last commit (read from the Delta log).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821

# COMMAND ----------

from leadlake.cli import main

main(["tables", "--lakehouse", dbutils.widgets.get("lakehouse")])  # noqa: F821
