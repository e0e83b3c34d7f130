# Databricks notebook source
# MAGIC %md
# MAGIC # 12 recommend
# MAGIC
# MAGIC Stage `recommend` of the leadlake pipeline: top-k products per customer and open lead (ALS, content, popularity).
# MAGIC
# MAGIC Reads `bronze.orders`, `bronze.products`, `bronze.customers`, `silver.text_embeddings`; writes `gold.recommendations`.
# MAGIC
# MAGIC The same library function that `leadlake run --only recommend` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["recommend"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
