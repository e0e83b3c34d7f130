"""``silver.text_embeddings``: every distinct text embedded once per model.

Keyed by (sha256 of the masked, normalised text, model id). A run embeds only
the texts of the source tables that have no vector yet for the configured
model, and upserts them, so re-runs cost a scan and an anti-join, not a
model pass; running it twice, or concurrently, never duplicates a key.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.stat import Summarizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage
from leadlake.session import default_parallelism
from leadlake.text import embed
from leadlake.text.encoders import EncoderSpec, encoder_spec
from leadlake.text.language import detect_language
from leadlake.text.pii import clean_text, text_key
from leadlake.text.routing import TextEncoders, as_encoders

log = logging.getLogger("leadlake.text")

EMBEDDINGS_TABLE = catalog.TEXT_EMBEDDINGS


def embedding_sources(conf) -> list[tuple[str, str]]:
    """(table, text column) pairs whose texts ``text.sources`` asks to keep vectors for."""
    return [tuple(s) for s in conf.get("text.sources") or ()]


@dataclass(frozen=True)
class EmbedReport:
    model_id: str
    distinct_texts: int
    already_embedded: int
    embedded_now: int

    def __str__(self) -> str:
        return (f"{self.model_id}: {self.distinct_texts:,} distinct texts, {self.already_embedded:,} already "
                f"embedded, {self.embedded_now:,} embedded now")


def distinct_texts(lh: Lakehouse, sources: Sequence[tuple[str, str]]) -> DataFrame:
    """(text_hash, masked text) for every distinct non-empty text of the sources."""
    frames = []
    for table, column in sources:
        if not lh.exists(table):
            log.warning("text source %s does not exist yet; skipped", table)
            continue
        col = F.col(column)
        frames.append(
            lh.read(table, columns=[column])
            .where(col.isNotNull() & (F.length(F.trim(col)) > 0))
            .select(clean_text(col).alias("text"))
            .select(text_key(F.col("text")).alias("text_hash"), "text")
        )
    if not frames:
        return lh.spark.createDataFrame([], "text_hash string, text string")
    union = frames[0]
    for f in frames[1:]:
        union = union.unionByName(f)
    return union.dropDuplicates(["text_hash"])


def embedding_partitions(lh: Lakehouse, texts: int) -> int:
    """How many tasks share the model pass: at least one per core, more for big backlogs.

    The texts arrive from a de-duplicating shuffle that adaptive execution
    sizes by bytes, so a few MB of text (hours of model time) would otherwise
    land in one partition and leave all cores but one idle.
    """
    per_task = max(1, int(lh.conf.get("text.texts_per_task")))
    return max(default_parallelism(lh.spark), -(-texts // per_task))


def update_text_embeddings(lh: Lakehouse, encoders: EncoderSpec | TextEncoders,
                           sources: Sequence[tuple[str, str]]) -> EmbedReport:
    """Embed the texts of ``sources`` that have no vector yet from the encoder of their language; every text once.

    ``encoders``: one encoder for every text, or the conf's routing
    (``text_encoders``), which sends each text to the encoder of its script.
    """
    routing = as_encoders(encoders)
    texts = distinct_texts(lh, sources).withColumn("model_id", routing.model_of(detect_language(F.col("text")))) \
        .persist()
    todo = texts
    try:
        with stage(log, "find texts without a vector") as st:
            total = texts.count()
            todo = texts
            if lh.exists(EMBEDDINGS_TABLE):
                done = lh.read(EMBEDDINGS_TABLE, columns=["text_hash", "model_id"])
                todo = texts.join(done, ["text_hash", "model_id"], "left_anti")
            todo = todo.persist()
            backlog = {r["model_id"]: r["count"] for r in todo.groupBy("model_id").count().collect()}
            st.rows = new = sum(backlog.values())
            st.detail = f"of {total:,} distinct texts, model {routing.model_ids}"
        if new:
            work = ", ".join(f"{backlog[s.model_id]:,} with {s.name} ({s.engine})" for s in routing.specs
                             if backlog.get(s.model_id))
            with stage(log, f"embed {work}", total=new) as st:
                parts = [
                    embed(todo.where(F.col("model_id") == s.model_id).repartition(
                        embedding_partitions(lh, backlog[s.model_id])), "text", "embedding", spec=s)
                    for s in routing.specs if backlog.get(s.model_id)]
                rows = functools.reduce(DataFrame.unionByName, parts).select(
                    "text_hash", "model_id", "text", "embedding",
                    F.size("embedding").alias("dimension"), F.current_timestamp().alias("embedded_at"),
                )
                lh.upsert(rows, EMBEDDINGS_TABLE, ["text_hash", "model_id"])
                st.rows = new
        return EmbedReport(routing.model_ids, total, total - new, new)
    finally:
        todo.unpersist()
        texts.unpersist()


def stored_embeddings(lh: Lakehouse, model_id: str, out_col: str = "embedding") -> DataFrame:
    """(text_hash, ``out_col``): one encoder's stored vectors, from a read of their own (see conf/spark: one read
    filtered two ways in a plan is what Spark's pushdown gets wrong)."""
    return lh.read(EMBEDDINGS_TABLE, columns=["text_hash", "model_id", "embedding"]) \
        .where(F.col("model_id") == model_id).select("text_hash", F.col("embedding").alias(out_col))


# Sums and means over a shuffle add their rows in whatever order the tasks deliver them, so the last bits of a
# double differ between two runs over the same rows; rounded to this many decimals (far above that noise, far
# below any signal) they are the same in every run, and a model sees the same features on a rerun.
SUM_DIGITS = 9


def pooled_embeddings(lh: Lakehouse, texts: DataFrame, key: str, text_col: str = "text",
                      model_id: str | None = None) -> DataFrame | None:
    """(key, text_embedding): the mean vector of each key's stored text embeddings; None before any embed run.

    What a lead or a customer wrote, as one fixed-size vector for a model
    (texts with no stored vector yet are left out of the mean). Only the
    vectors of one encoder (``model_id``, default the conf's ``text.model``)
    are averaged: the table keeps every encoder's vectors, and a mean across
    two encoders' spaces means nothing.
    """
    if not lh.exists(EMBEDDINGS_TABLE):
        return None
    model_id = model_id or encoder_spec(lh.conf).model_id
    hashed = texts.select(key, text_key(clean_text(F.col(text_col))).alias("text_hash"))
    emb = stored_embeddings(lh, model_id)
    pooled = hashed.join(emb, "text_hash").groupBy(key).agg(Summarizer.mean(array_to_vector("embedding")).alias("_m"))
    return pooled.select(key, F.transform(vector_to_array("_m"), lambda x: F.round(x, SUM_DIGITS)).cast(
        "array<float>").alias("text_embedding"))
