# Databricks notebook source
# MAGIC %md
# MAGIC # 11 score-clv
# MAGIC
# MAGIC Stage `score-clv` of the leadlake pipeline: score every customer's lifetime value and churn risk.
# MAGIC
# MAGIC Reads `bronze.orders`, `bronze.customers`; writes `gold.customer_clv`.
# MAGIC
# MAGIC The same library function that `leadlake run --only score-clv` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["score-clv"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
