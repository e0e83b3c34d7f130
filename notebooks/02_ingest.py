# Databricks notebook source
# MAGIC %md
# MAGIC # 02 ingest
# MAGIC
# MAGIC Stage `ingest` of the leadlake pipeline: load the CRM exports listed under pipeline.ingest, quarantining bad rows.
# MAGIC
# MAGIC Reads nothing from the lakehouse; writes `bronze.leads`, `bronze.interactions`, `bronze.web_events`, `bronze.conversions`, `bronze.customers`, `bronze.orders`, `bronze.products`, `bronze.feedback`, `bronze.quarantine`.
# MAGIC
# MAGIC The same library function that `leadlake run --only ingest` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["ingest"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
