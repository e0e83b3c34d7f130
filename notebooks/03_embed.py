# Databricks notebook source
# MAGIC %md
# MAGIC # 03 embed
# MAGIC
# MAGIC Stage `embed` of the leadlake pipeline: embed every new text with the sentence encoder.
# MAGIC
# MAGIC Reads `bronze.interactions`, `bronze.feedback`; writes `silver.text_embeddings`.
# MAGIC
# MAGIC The same library function that `leadlake run --only embed` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["embed"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
