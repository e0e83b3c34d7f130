# Databricks notebook source
# MAGIC %md
# MAGIC # 16 write-briefs
# MAGIC
# MAGIC Stage `write-briefs` of the leadlake pipeline: a weekly brief per need category and lead segment: what rose or fell.
# MAGIC
# MAGIC Reads `silver.text_signals`, `gold.need_insights`, `gold.lead_scores`, `gold.customer_clv`; writes `gold.insight_briefs`.
# MAGIC
# MAGIC The same library function that `leadlake run --only write-briefs` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["write-briefs"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
