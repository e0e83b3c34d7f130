# Databricks notebook source
# MAGIC %md
# MAGIC # 07 train-leads
# MAGIC
# MAGIC Stage `train-leads` of the leadlake pipeline: train the lead conversion model (when no champion exists).
# MAGIC
# MAGIC Reads `bronze.leads`, `bronze.conversions`, `bronze.web_events`, `silver.text_signals`; writes `silver.lead_features`.
# MAGIC
# MAGIC The same library function that `leadlake run --only train-leads` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["train-leads"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
