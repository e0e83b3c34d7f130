# Databricks notebook source
# MAGIC %md
# MAGIC # 15 answer-questions
# MAGIC
# MAGIC Stage `answer-questions` of the leadlake pipeline: cite the best help articles in a reply to every support question, or escalate.
# MAGIC
# MAGIC Reads `bronze.support_questions`, `bronze.kb_articles`, `gold.discovered_leads`, `gold.customer_clv`; writes `gold.service_replies`.
# MAGIC
# MAGIC The same library function that `leadlake run --only answer-questions` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["answer-questions"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
