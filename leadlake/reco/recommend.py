"""``recommend`` -> ``gold.recommendations``: top-k products for every customer and every open lead.

Each run measures ALS, the content model and popularity on a time holdout
(:mod:`leadlake.reco.evaluation`), logs the numbers to MLflow, fits ALS on
all purchases and serves it only if it beat popularity on NDCG@k (otherwise
popularity is what buyers get). Per person the score blends:

- the collaborative model (ALS, or popularity when ALS lost), weighted by
  ``min(1, purchases / reco.blend.full_als_at)``: the more someone bought, the
  more their purchases speak;
- the content model for the rest of the weight: what they (or, for a
  customer, the lead they came from) wrote, against each product's name and
  description;
- popularity with a tiny weight, so that everyone gets ``k`` products even
  with no history and nothing written (``source`` says which part decided).

Products a person holds are left out unless listed in ``reco.repurchasable``.
Rows are upserted on (user_kind, user_id, rank): a rerun replaces each
person's list in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from leadlake import catalog
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.ml import tracking
from leadlake.progress import stage
from leadlake.reco.evaluation import Holdout, SplitData, evaluate_split, exclusions, search_als
from leadlake.reco.interactions import ITEM, USER, InteractionColumns, events, interest, time_split
from leadlake.reco.models import (
    RANK,
    SCORE,
    AlsParams,
    IdIndex,
    fit_als,
    popularity,
    recommend,
    recommend_by_content,
    recommend_popular,
)
from leadlake.text.encoders import EncoderSpec
from leadlake.text.sources import read_texts, sources_from_conf, with_customers

log = logging.getLogger("leadlake.reco")

TABLE = catalog.RECOMMENDATIONS
FINGERPRINT = "interest_fingerprint"
SECTION = "reco"
POPULAR_WEIGHT = 0.01


@dataclass(frozen=True)
class Blend:
    """``reco.blend`` in conf."""

    full_als_at: float


@dataclass(frozen=True)
class Catalogue:
    """``reco.products`` in conf: the product table, its id, and the columns that say what a product is."""

    table: str
    id: str
    text: tuple[str, ...]


@dataclass(frozen=True)
class People:
    """``reco.people`` in conf: who gets recommendations besides the buyers in the interactions."""

    customers: str
    customer_id: str
    leads: str
    lead_id: str
    outcomes: str
    outcome: str
    closed: tuple[str, ...]


@dataclass(frozen=True)
class RecommendReport:
    metrics: dict[str, dict[str, float]]
    serves: str
    model_version: str
    customers: int
    leads: int
    k: int
    by_source: dict[str, int]
    als: dict[str, float] = field(default_factory=dict)
    search: list[tuple[dict, float]] = field(default_factory=list)

    def __str__(self) -> str:
        k = self.k
        sources = ", ".join(f"{s} {n:,}" for s, n in sorted(self.by_source.items()))
        lines = [f"recommendations: {self.customers:,} customers and {self.leads:,} open leads, top {k}, "
                 f"serving {self.serves} (model v{self.model_version}); rows by source: {sources}"]
        if self.search:
            best = sorted(self.search, key=lambda t: -t[1])[:3]
            tried = "; ".join(f"{', '.join(f'{key} {v:g}' for key, v in point.items())}: {ndcg:.3f}"
                              for point, ndcg in best)
            lines.append(f"  ALS parameters searched on the training period, {len(self.search)} points; "
                         f"best NDCG@{k}: {tried}")
        if not self.metrics:
            return "\n".join([*lines, "  no time holdout: too few repeat buyers to measure ALS (reco.holdout)"])
        users = int(next(iter(self.metrics.values()))["users"])
        lines.append(f"  time holdout ({users:,} customers): {'model':<11} {'P@' + str(k):>7} {'R@' + str(k):>7}"
                     f" {'NDCG@' + str(k):>8} {'MAP@' + str(k):>7}")
        for name, m in self.metrics.items():
            lines.append(f"  {'':<32} {name:<11} {m['precision_at_k']:>7.3f} {m['recall_at_k']:>7.3f}"
                         f" {m['ndcg_at_k']:>8.3f} {m['map_at_k']:>7.3f}")
        return "\n".join(lines)


def _product_vectors(lh: Lakehouse, spec: EncoderSpec) -> tuple[DataFrame, DataFrame]:
    """(item) of every catalogued product, and (item, vector) of its name and description."""
    from leadlake.text import embed

    cat = lh.conf.section("reco.products", Catalogue)
    products = lh.read(cat.table)
    missing = [c for c in (cat.id, *cat.text) if c not in products.columns]
    if missing:
        raise ConfError(f"reco.products names columns {', '.join(missing)} that {cat.table} does not have")
    text = F.concat_ws(". ", *[F.col(c).cast("string") for c in cat.text])
    items = products.select(F.col(cat.id).cast("string").alias(ITEM), text.alias("text")).dropDuplicates([ITEM])
    vectors = embed(items, "text", "vector", spec=spec).select(ITEM, "vector").persist()
    return items.select(ITEM), vectors


def _user_vectors(lh: Lakehouse) -> DataFrame | None:
    """(kind, id, vector): the mean embedding of what each customer and each lead wrote; None before embed ran."""
    from leadlake.text.store import pooled_embeddings

    sources = [s for s in sources_from_conf(lh.conf, "reco.texts") if lh.exists(s.table)]
    if not sources:
        return None
    texts = with_customers(lh, read_texts(lh, sources)).where(F.col("text").isNotNull())
    keyed = texts.select(F.when(F.col("customer_id").isNotNull(), F.concat(F.lit("customer:"), "customer_id"))
                         .otherwise(F.concat(F.lit("lead:"), "lead_id")).alias(USER), "text")
    pooled = pooled_embeddings(lh, keyed.where(F.col(USER).isNotNull()), USER)
    if pooled is None:
        return None
    parts = F.split(USER, ":", 2)
    return pooled.select(parts[0].alias("user_kind"), parts[1].alias("user_id"),
                         F.col("text_embedding").alias("vector"))


def _people(lh: Lakehouse, buyers: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(user) of every customer (the customers table and every buyer), and (user) of every open lead."""
    p = lh.conf.section("reco.people", People)
    customers = buyers.select(USER)
    if lh.exists(p.customers):
        customers = customers.union(lh.read(p.customers, columns=[p.customer_id])
                                    .select(F.col(p.customer_id).cast("string").alias(USER)))
    customers = customers.where(F.col(USER).isNotNull()).distinct()
    if not lh.exists(p.leads):
        return customers, buyers.limit(0).select(USER)
    leads = lh.read(p.leads, columns=[p.lead_id]).select(F.col(p.lead_id).cast("string").alias(USER))
    if lh.exists(p.outcomes):
        closed = lh.read(p.outcomes, columns=[p.lead_id, p.outcome]) \
            .where(F.col(p.outcome).isin(list(p.closed))).select(F.col(p.lead_id).cast("string").alias(USER))
        leads = leads.join(closed, USER, "left_anti")
    return customers, leads.where(F.col(USER).isNotNull()).distinct()


def _scaled(recs: DataFrame, n: int, name: str) -> DataFrame:
    """(user, item, s_<name>): 1 for a source's first pick down to 1/n for its n-th."""
    return recs.select(USER, ITEM, (1.0 - (F.col(RANK) - 1) / float(n)).alias(f"s_{name}"))


def blend(collab: DataFrame | None, content: DataFrame | None, popular: DataFrame, weights: DataFrame,
          k: int, collab_name: str) -> DataFrame:
    """(user, item, score, rank, source) from per-source top lists; ``weights`` is (user, w) for the collab part."""
    parts = [(popular, "popularity")] + [(df, name) for df, name in ((collab, "collab"), (content, "content"))
                                         if df is not None]
    cands = None
    for df, name in parts:
        scaled = _scaled(df, max(k, 1) * 4, name)
        cands = scaled if cands is None else cands.join(scaled, [USER, ITEM], "full_outer")
    s = {name: F.coalesce(F.col(f"s_{name}"), F.lit(0.0)) for _, name in parts}
    w = F.coalesce(F.col("w"), F.lit(0.0))
    c_part = w * s["collab"] if "collab" in s else F.lit(0.0)
    t_part = (1.0 - w) * s["content"] if "content" in s else F.lit(0.0)
    p_part = POPULAR_WEIGHT * s["popularity"]
    score = c_part + t_part + p_part
    source = (F.when((c_part >= t_part) & (c_part > p_part), F.lit(collab_name))
              .when(t_part > p_part, F.lit("content")).otherwise(F.lit("popularity")))
    scored = cands.join(weights, USER, "left").select(USER, ITEM, score.alias(SCORE), source.alias("source"))
    order = Window.partitionBy(USER).orderBy(F.desc(SCORE), ITEM)
    return scored.withColumn(RANK, F.row_number().over(order)).where(F.col(RANK) <= k)


def recommend_products(lh: Lakehouse, spec: EncoderSpec) -> RecommendReport:
    import mlflow

    conf = lh.conf
    cols = conf.section("reco.interactions", InteractionColumns)
    k, half_life = int(conf.get("reco.k")), float(conf.get("reco.half_life_days"))
    repurchasable = [str(x) for x in conf.get("reco.repurchasable") or ()]
    holdout, params = conf.section("reco.holdout", Holdout), conf.section("reco.als", AlsParams)
    if not lh.exists(cols.table):
        raise ConfError(f"reco.interactions.table {cols.table} does not exist: nothing bought, nothing to learn from")
    ev = events(lh.read(cols.table), cols).persist()
    items, item_vectors = _product_vectors(lh, spec)
    user_vectors = _user_vectors(lh)
    user_vectors = user_vectors.persist() if user_vectors is not None else None
    held = exclude = None
    try:
        tried: list[tuple[dict, float]] = []
        if conf.get("reco.search.enabled"):
            with stage(log, "search ALS parameters on the training period"):
                train_events, _ = time_split(ev, holdout.share, holdout.min_interactions, holdout.split_at)
                grid = {key: conf.get(f"reco.search.{key}") for key in ("rank", "reg_param", "alpha")}
                sample = float(conf.get("reco.search.sample"))
                params, tried = search_als(train_events, holdout, half_life, repurchasable, params, grid, k, sample)
                log.info("best ALS parameters %s of %d tried", asdict(params), len(tried))
        held = interest(ev, half_life).persist()
        exclude = exclusions(ev, repurchasable).persist()
        tracking.start(conf, SECTION)
        name = tracking.registered_name(conf, SECTION)
        fingerprint = _fingerprint(held, params, [half_life, k, asdict(holdout), sorted(repurchasable)])
        previous = _previous_run(fingerprint)
        if previous is not None:
            log.info("same purchases and settings as run %s: its evaluation and model version are reused",
                     previous.info.run_id[:12])
            metrics = _metrics_of(previous)
        else:
            metrics = _evaluate(ev, holdout, half_life, repurchasable, items, params, k, user_vectors, item_vectors)
        als_wins = bool(metrics) and metrics["als"]["ndcg_at_k"] > metrics["popularity"]["ndcg_at_k"]
        with mlflow.start_run(run_name="recommend"):
            mlflow.log_params({**{f"als.{key}": v for key, v in asdict(params).items()}, "k": k,
                               "half_life_days": half_life, "holdout": str(asdict(holdout))})
            mlflow.log_metrics({f"{m}_{key}": v for m, vals in metrics.items() for key, v in vals.items()})
            if tried:
                mlflow.log_dict({"k": k, "points": [{**point, "ndcg_at_k": ndcg} for point, ndcg in tried]},
                                "als_search.json")
            with stage(log, "fit ALS on every purchase"):
                index = IdIndex.fit(ev.select(USER), ev.select(ITEM).union(items).distinct())
                als = fit_als(held, params, index)
            version = previous.data.tags.get("registered_version") if previous is not None else None
            if version is None:
                info = mlflow.spark.log_model(als.model, "model", registered_model_name=name,
                                              pip_requirements=tracking.PIP_REQUIREMENTS)
                version = str(info.registered_model_version)
            mlflow.set_tags({"serves": "als" if als_wins else "popularity", FINGERPRINT: fingerprint,
                             "registered_version": version})
            if als_wins:
                mlflow.MlflowClient().set_registered_model_alias(name, tracking.CHAMPION, version)
        model_version = version if als_wins else f"{version}-popularity"
        customers, leads = _people(lh, ev)
        rows = _serve(lh, customers, leads, held, exclude, als if als_wins else None, user_vectors, item_vectors, k,
                      model_version)
        with stage(log, f"upsert {TABLE}") as st:
            lh.upsert(rows, TABLE, ["user_kind", "user_id", RANK])
            st.rows = lh.row_count(TABLE)
        counts = {r["source"]: int(r["count"]) for r in lh.read(TABLE).groupBy("source").count().collect()}
        n_cust, n_leads = customers.count(), leads.count()
        return RecommendReport(metrics, "als" if als_wins else "popularity", model_version, n_cust, n_leads, k, counts,
                               asdict(params), tried)
    finally:
        for df in (ev, item_vectors, user_vectors, held, exclude):
            if df is not None:
                df.unpersist()


def _evaluate(ev: DataFrame, holdout: Holdout, half_life: float, repurchasable: list[str], items: DataFrame,
              params: AlsParams, k: int, user_vectors: DataFrame | None,
              item_vectors: DataFrame) -> dict[str, dict[str, float]]:
    """Every model on the time holdout; empty when no customer has purchases on both sides of it."""
    with stage(log, "evaluate ALS, content and popularity on the time holdout") as st:
        split = SplitData.build(ev, holdout, half_life, repurchasable, items)
        try:
            if split.users.isEmpty():
                log.warning("no customer has %d+ purchases with some in the holdout: ALS cannot be measured, so "
                            "popularity is served (reco.holdout)", holdout.min_interactions)
                return {}
            customers = None if user_vectors is None else user_vectors.where(
                F.col("user_kind") == "customer").select(F.col("user_id").alias(USER), "vector")
            metrics = evaluate_split(split, params, k, customers, item_vectors)
        finally:
            split.release()
        st.rows = int(metrics["als"]["users"])
        return metrics


def _fingerprint(held: DataFrame, params: AlsParams, settings: list) -> str:
    """What the fitted ALS and its evaluation depend on: the interest rows and the settings."""
    row = held.agg(F.count(F.lit(1)).alias("n"),
                   F.sum(F.xxhash64(USER, ITEM, F.round("strength", 6)).cast("decimal(38,0)")).alias("h")).first()
    blob = json.dumps([row["n"], str(row["h"]), asdict(params), settings], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _previous_run(fingerprint: str):
    """The MLflow run that evaluated and registered an ALS on the same purchases with the same settings, if any.

    A rerun on unchanged purchases then reuses that evaluation and registered
    version instead of measuring and registering the same model again (new
    texts alone change only the content model's holdout numbers, which are
    refreshed with the next purchase).
    """
    import mlflow

    runs = mlflow.search_runs(filter_string=f"tags.{FINGERPRINT} = '{fingerprint}'", max_results=1,
                              output_format="list")
    return runs[0] if runs and runs[0].data.tags.get("registered_version") else None


def _metrics_of(run) -> dict[str, dict[str, float]]:
    """The per-model metrics a run logged as ``<model>_<metric>``."""
    out: dict[str, dict[str, float]] = {}
    for key, value in run.data.metrics.items():
        model, _, metric = key.partition("_")
        out.setdefault(model, {})[metric] = float(value)
    return {m: out[m] for m in ("als", "popularity", "content") if m in out}


def _serve(lh: Lakehouse, customers: DataFrame, leads: DataFrame, held: DataFrame, exclude: DataFrame, als,
           user_vectors: DataFrame | None, item_vectors: DataFrame, k: int, model_version: str) -> DataFrame:
    full_at = lh.conf.section("reco.blend", Blend).full_als_at
    pool = 4 * k
    popular = popularity(held)
    weights = held.groupBy(USER).agg(F.least(F.lit(1.0), F.sum("interactions") / float(full_at)).alias("w"))
    out = []
    for kind, people in (("customer", customers), ("lead", leads)):
        people = people.persist()
        mine = exclude.join(people, USER) if kind == "customer" else None
        top_popular = recommend_popular(popular, people, pool, mine)
        collab = None
        if kind == "customer":
            collab = recommend(als, people, pool, mine) if als is not None else top_popular
        content = None
        if user_vectors is not None:
            vec = user_vectors.where(F.col("user_kind") == kind).select(F.col("user_id").alias(USER), "vector")
            content = recommend_by_content(vec.join(people, USER), item_vectors, pool, mine)
        ranked = blend(collab, content, top_popular, weights if kind == "customer" else people.select(USER).limit(0)
                       .withColumn("w", F.lit(0.0)), k, "als" if als is not None else "popularity")
        out.append(ranked.select(
            F.lit(kind).alias("user_kind"), F.col(USER).alias("user_id"),
            (F.col(USER) if kind == "customer" else F.lit(None).cast("string")).alias("customer_id"),
            (F.col(USER) if kind == "lead" else F.lit(None).cast("string")).alias("lead_id"),
            F.col(ITEM).alias("product_id"), F.round(SCORE, 6).alias(SCORE), RANK, "source",
            F.lit(model_version).alias("model_version"), F.current_timestamp().alias("scored_at")))
    return out[0].unionByName(out[1])
