# Databricks notebook source
# MAGIC %md
# MAGIC # 13 plan-campaign
# MAGIC
# MAGIC Stage `plan-campaign` of the leadlake pipeline: campaign audience by uplift, learned from past randomised campaigns.
# MAGIC
# MAGIC Reads `bronze.campaign_contacts`, `bronze.leads`, `bronze.orders`, `bronze.feedback`, `gold.lead_scores`, `gold.customer_clv`; writes `gold.campaign_audiences`.
# MAGIC
# MAGIC The same library function that `leadlake run --only plan-campaign` and the bundle's task call,
# MAGIC on this notebook's session. Widgets: the lakehouse root, an optional conf file (YAML merged over
# MAGIC the defaults shipped in the wheel) and an optional as-of date (YYYY-MM-DD).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

run_stages(spark, ["plan-campaign"], lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
           conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821
