# Databricks notebook source
# MAGIC %md
# MAGIC # 14 next-actions
# MAGIC
# MAGIC Stage `next-actions` of the leadlake pipeline: next best action, why, and a grounded draft per hot lead and customer.
# MAGIC
# MAGIC Reads `gold.lead_scores`, `gold.customer_clv`, `gold.customer_needs`, `gold.recommendations`; writes `gold.next_best_actions`, `silver.generations`.
# MAGIC
# MAGIC The same library function that `leadlake run --only next-actions` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["next-actions"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
