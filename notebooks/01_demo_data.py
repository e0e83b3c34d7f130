# Databricks notebook source
# MAGIC %md
# MAGIC # 01 demo-data
# MAGIC
# MAGIC Stage `demo-data` of the leadlake pipeline: generate the demo CRM into the bronze tables.
# MAGIC
# MAGIC Reads nothing from the lakehouse; writes `bronze.leads`, `bronze.interactions`, `bronze.web_events`, `bronze.conversions`, `bronze.customers`, `bronze.orders`, `bronze.products`, `bronze.feedback`, `eval.lead_truth`, `eval.feedback_truth`, `eval.message_truth`.
# MAGIC
# MAGIC The same library function that `leadlake run --only demo-data` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821
dbutils.widgets.text("leads", "2000")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

from leadlake.demo import DemoSpec

run_stages(spark, ["demo-data"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"),  # noqa: F821
           demo=DemoSpec(leads=int(dbutils.widgets.get("leads"))))  # noqa: F821
