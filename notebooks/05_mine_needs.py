# Databricks notebook source
# MAGIC %md
# MAGIC # 05 mine-needs
# MAGIC
# MAGIC Stage `mine-needs` of the leadlake pipeline: sentiment, need category, entities, topics and priorities.
# MAGIC
# MAGIC Reads `bronze.feedback`, `bronze.interactions`, `silver.text_embeddings`; writes `silver.text_signals`, `gold.need_insights`, `gold.customer_needs`.
# MAGIC
# MAGIC The same library function that `leadlake run --only mine-needs` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["mine-needs"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
