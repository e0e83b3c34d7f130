"""Generation inside Spark: requests in, texts out, every endpoint answer cached in ``silver.generations``.

Requests are rows (``key``, ``instruction``, ``facts`` as JSON, ``template``).
The cache key of a row is the hash of the exact prompt and the model: rows
whose answer is already cached never reach the endpoint again, so a rerun
sends nothing. The rest are written in the executors (``mapInPandas``),
``concurrency`` requests in flight per task and the run's token budget
split evenly over the tasks. Endpoint answers are cached whether or not
they passed the grounding check (the same prompt would get the same
answer); failures (timeouts, 5xx) are not, so a later run tries again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leadlake.generate.generators import EndpointSettings, Request, make_generator
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage
from leadlake.session import default_parallelism

log = logging.getLogger("leadlake.generate")

REQUEST_COLUMNS = ("key", "instruction", "facts", "template")
OUT_SCHEMA = ("key string, text string, generator string, grounded boolean, reason string, tokens long, "
              "prompt_hash string, model string")
CACHE_COLUMNS = ("prompt_hash", "model", "text", "generator", "grounded", "reason", "tokens")


@dataclass(frozen=True)
class GenerateSettings:
    """``generate`` in conf."""

    generator: str
    cache_table: str
    allow_fields: tuple[str, ...]
    openai: EndpointSettings


@dataclass(frozen=True)
class GenerateReport:
    rows: int
    from_cache: int
    sent: int
    fallbacks: int
    ungrounded: int

    def __str__(self) -> str:
        return (f"{self.rows:,} texts: {self.from_cache:,} from the cache, {self.sent:,} written now, "
                f"{self.fallbacks:,} from the template after an endpoint problem, {self.ungrounded:,} refused as "
                "not grounded")


def _requests(batch: pd.DataFrame) -> list[Request]:
    return [Request(str(r.key), str(r.instruction), json.loads(r.facts), str(r.template))
            for r in batch.itertuples(index=False)]


def generate_texts(lh: Lakehouse, requests: DataFrame, products: list[str] | None = None) -> tuple[DataFrame,
                                                                                                   GenerateReport]:
    """(key, text, generator, grounded, reason, tokens, prompt_hash, model, cached) per request row."""
    missing = [c for c in REQUEST_COLUMNS if c not in requests.columns]
    if missing:
        raise ValueError(f"generation requests need columns {', '.join(missing)}")
    s = lh.conf.section("generate", GenerateSettings)
    kind, endpoint, allow = s.generator, s.openai, s.allow_fields
    products = list(products or [])
    # A known number of tasks, so the budget splits exactly (and no RDD API, which Spark Connect lacks).
    parts = max(1, default_parallelism(lh.spark))
    rows = requests.select(*REQUEST_COLUMNS).repartition(parts).persist()
    try:
        n = rows.count()
        budget = max(1, endpoint.token_budget // parts)
        model = endpoint.model if kind == "openai" else "template"

        def hashes(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            gen = make_generator(kind, endpoint, products, allow, budget)
            for batch in batches:
                digest = [gen.prompt_hash(r) if kind == "openai" else None for r in _requests(batch)]
                yield batch.assign(prompt_hash=digest)

        keyed = rows.mapInPandas(hashes, f"{', '.join(f'{c} string' for c in REQUEST_COLUMNS)}, prompt_hash string")
        keyed = keyed.persist()
        cached = None
        if kind == "openai" and lh.exists(s.cache_table):
            cached = lh.read(s.cache_table, columns=list(CACHE_COLUMNS)).where(F.col("model") == model)
        if cached is not None:
            hits = keyed.join(cached.drop("model"), "prompt_hash").select(
                "key", "text", "generator", "grounded", "reason", "tokens", "prompt_hash",
                F.lit(model).alias("model"), F.lit(True).alias("cached"))
            todo = keyed.join(cached.select("prompt_hash"), "prompt_hash", "left_anti")
        else:
            hits, todo = None, keyed

        key = endpoint.key_from_environment() if kind == "openai" and endpoint is not None else None

        def write(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            gen = make_generator(kind, endpoint, products, allow, budget, api_key=key)
            for batch in batches:
                out = gen.generate_all(_requests(batch))
                yield pd.DataFrame({"key": [g.key for g in out], "text": [g.text for g in out],
                                    "generator": [g.generator for g in out], "grounded": [g.grounded for g in out],
                                    "reason": [g.reason for g in out], "tokens": [g.tokens for g in out],
                                    "prompt_hash": [g.prompt_hash for g in out], "model": model})

        with stage(log, f"write texts with the {kind} generator") as st:
            # Checkpointed, not cached: a text is requested once per run, whatever the caller does with the
            # result later (a cache can be evicted and recomputed, which would send every request again).
            fresh = (todo.repartition(parts).mapInPandas(write, OUT_SCHEMA).withColumn("cached", F.lit(False))
                     .localCheckpoint(eager=True))
            st.rows = sent = fresh.count()
        answered = fresh.where(F.col("generator") != "template") if kind == "openai" else None
        refused = fresh.where(F.col("reason").startswith("not grounded")) if kind == "openai" else None
        if answered is not None:
            to_cache = answered.unionByName(refused) if refused is not None else answered
            to_cache = to_cache.select(*CACHE_COLUMNS, F.current_timestamp().alias("created_at")).dropDuplicates(
                ["prompt_hash"])
            if not to_cache.isEmpty():
                lh.upsert(to_cache, s.cache_table, ["prompt_hash"])
        out = fresh if hits is None else fresh.unionByName(hits)
        stats = out.agg(F.sum(F.col("cached").cast("int")).alias("cached"),
                        F.sum(((F.col("generator") == "template") & F.col("reason").isNotNull()
                               & F.col("grounded")).cast("int")).alias("fallbacks"),
                        F.sum((~F.col("grounded")).cast("int")).alias("ungrounded")).first()
        keyed.unpersist()
        report = GenerateReport(n, int(stats["cached"] or 0), sent, int(stats["fallbacks"] or 0),
                                int(stats["ungrounded"] or 0))
        log.info("%s", report)
        return out, report
    finally:
        rows.unpersist()
