# Databricks notebook source
# MAGIC %md
# MAGIC # leadlake: the pipeline
# MAGIC
# MAGIC One notebook per stage follows, in pipeline order; each calls the stage's library function on this
# MAGIC notebook's session, the same code that `leadlake run` runs under spark-submit and that the bundle's
# MAGIC tasks (`infra/databricks/databricks.yml`) run. This one runs the whole pipeline (stages that are not
# MAGIC due, such as training when a champion exists, are skipped; the `stages` widget picks some) and shows
# MAGIC what the lakehouse holds.
# MAGIC
# MAGIC  1. `demo-data`: generate the demo CRM into the bronze tables
# MAGIC  2. `ingest`: load the CRM exports listed under pipeline.ingest, quarantining bad rows
# MAGIC  3. `embed`: embed every new text with the sentence encoder
# MAGIC  4. `train-sentiment`: train the sentiment head (when none exists)
# MAGIC  5. `mine-needs`: sentiment, need category, entities, topics and priorities
# MAGIC  6. `discover-leads`: flag inbound messages that are sales leads
# MAGIC  7. `train-leads`: train the lead conversion model (when no champion exists)
# MAGIC  8. `score-leads`: score every lead with the champion
# MAGIC  9. `feedback`: re-tune tier thresholds from closed deals, report drift
# MAGIC 10. `train-clv`: train the CLV and churn models (when no champion exists)
# MAGIC 11. `score-clv`: score every customer's lifetime value and churn risk
# MAGIC 12. `recommend`: top-k products per customer and open lead (ALS, content, popularity)
# MAGIC 13. `plan-campaign`: campaign audience by uplift, learned from past randomised campaigns
# MAGIC 14. `next-actions`: next best action, why, and a grounded draft per hot lead and customer
# MAGIC 15. `answer-questions`: cite the best help articles in a reply to every support question, or escalate
# MAGIC 16. `write-briefs`: a weekly brief per need category and lead segment: what rose or fell
# MAGIC
# MAGIC Then `leadlake report` (or `write_report` from `leadlake.report`) writes one self-contained HTML
# MAGIC report of all of it.
# MAGIC
# MAGIC Install the wheel on the cluster first (the bundle does it), and set the lakehouse root below: a Unity
# MAGIC Catalog volume, an `s3://` / `abfss://` / `gs://` URI, or leave it and set `catalog` in the conf.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "/Volumes/main/leadlake/lakehouse")  # noqa: F821
dbutils.widgets.text("conf", "")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821
dbutils.widgets.text("stages", "")  # noqa: F821

# COMMAND ----------

from leadlake.pipeline import run_stages

stages = dbutils.widgets.get("stages").split()  # noqa: F821
results = run_stages(spark, stages, lakehouse=dbutils.widgets.get("lakehouse"),  # noqa: F821
                     conf=dbutils.widgets.get("conf"), as_of=dbutils.widgets.get("as_of"))  # noqa: F821

# COMMAND ----------

from leadlake.jobs.tables import format_summaries, summarize_lakehouse

print(format_summaries(summarize_lakehouse(dbutils.widgets.get("lakehouse"))))  # noqa: F821
