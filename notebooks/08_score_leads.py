# Databricks notebook source
# MAGIC %md
# MAGIC # 08 score-leads
# MAGIC
# MAGIC Stage `score-leads` of the leadlake pipeline: score every lead with the champion.
# MAGIC
# MAGIC Reads `bronze.leads`, `silver.text_signals`; writes `gold.lead_scores`.
# MAGIC
# MAGIC The same library function that `leadlake run --only score-leads` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["score-leads"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
