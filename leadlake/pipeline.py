"""The leadlake pipeline, declared once: its stages, their order, and the tables each reads and writes.

``leadlake run`` runs it (all of it, ``--only`` some stages, ``--from`` /
``--until`` a stage), ``make run`` and ``leadlake demo`` run it on the demo
lakehouse, the Databricks bundle has one task per stage and each notebook
calls one stage. Every stage is library code over a :class:`Lakehouse`, and
every stage's writes are idempotent (MERGE on keys or whole-table rewrites of
derived tables), so a run that failed resumes with ``--from STAGE`` without
duplicating rows.

Training stages run when due: when no model exists yet, or with ``--force``
(champion / challenger still decides whether the new model is used). The
demo-data stage runs only for a demo run; ingest runs the exports listed
under ``pipeline.ingest``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from leadlake import catalog
from leadlake.errors import ConfError, EnvironmentProblem, LeadlakeError
from leadlake.lakehouse import Lakehouse
from leadlake.ml import tracking

log = logging.getLogger("leadlake.pipeline")

CRM_TABLES = ("bronze.leads", "bronze.interactions", "bronze.web_events", "bronze.conversions",
              "bronze.customers", "bronze.orders", "bronze.products", "bronze.feedback", "bronze.campaigns",
              "bronze.campaign_contacts", "bronze.kb_articles", "bronze.support_questions")


@dataclass
class RunContext:
    """What every stage gets: the lakehouse, the demo size for a demo run, and whether skip rules are off."""

    lh: Lakehouse
    demo: object | None = None
    force: bool = False

    @property
    def conf(self):
        return self.lh.conf


@dataclass(frozen=True)
class Stage:
    """One step: ``body`` does the work and returns its report; ``skip`` says why not to run, or None."""

    name: str
    help: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    body: Callable[[RunContext], object]
    skip: Callable[[RunContext], str | None] | None = None


@dataclass
class StageResult:
    stage: str
    status: str
    seconds: float = 0.0
    rows_in: int = 0
    rows_out: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    mlflow_runs: tuple[str, ...] = ()
    note: str = ""


class StageFailed(LeadlakeError):
    """A stage failed; carries the exit code of the cause so the user sees the right kind of problem."""

    def __init__(self, stage: str, cause: BaseException, results: list[StageResult]) -> None:
        from leadlake.errors import root_cause

        self.stage, self.cause, self.results = stage, cause, results
        self.exit_code = cause.exit_code if isinstance(cause, LeadlakeError) else 1
        text = str(cause) if isinstance(cause, LeadlakeError) else f"failed: {root_cause(cause)}"
        super().__init__(f"stage {stage}: {text} (resume with: leadlake run --from {stage})")


# ---- the stages' bodies: thin calls into the domain packages ---------------------------------------


def _demo_data(ctx: RunContext):
    from leadlake.demo import DemoSpec, generate_demo

    counts = generate_demo(ctx.lh, ctx.demo if ctx.demo is not None else DemoSpec())
    return ", ".join(f"{t} {n:,}" for t, n in counts.items())


def _skip_demo(ctx: RunContext) -> str | None:
    return None if ctx.demo is not None else "not a demo run (leadlake demo, or run --demo)"


def _ingest(ctx: RunContext):
    from leadlake.ingest import ingest

    reports, exports = [], _exports(ctx)
    for i, export in enumerate(exports):
        reports.append(str(ingest(ctx.lh, export["table"], export["input"], export["format"],
                                  mapping=export.get("map") or {}, encoding=export.get("encoding", "UTF-8"),
                                  delimiter=export.get("delimiter", ","))))
        log.info("ingest %d of %d done", i + 1, len(exports))
    return "\n".join(reports)


def _exports(ctx: RunContext) -> list[dict]:
    exports = ctx.conf.get("pipeline.ingest") or []
    if not isinstance(exports, list) or not all(isinstance(e, dict) for e in exports):
        raise ConfError("pipeline.ingest must be a list of {table, input, format[, map]} entries")
    for e in exports:
        missing = [k for k in ("table", "input", "format") if not e.get(k)]
        if missing:
            raise ConfError(f"pipeline.ingest entry {e} lacks {', '.join(missing)}")
    return exports


def _skip_ingest(ctx: RunContext) -> str | None:
    return None if _exports(ctx) else "no exports listed under pipeline.ingest"


def _spec(ctx: RunContext):
    from leadlake.text.encoders import encoder_spec

    return encoder_spec(ctx.conf)


def _embed(ctx: RunContext):
    from leadlake.text.routing import text_encoders
    from leadlake.text.store import embedding_sources, update_text_embeddings

    return update_text_embeddings(ctx.lh, text_encoders(ctx.conf), embedding_sources(ctx.conf))


def _sentiment_encoders(ctx: RunContext) -> list:
    """The encoders that need a sentiment head: the English one always, the multilingual one once the
    lakehouse has texts it reads (an English CRM does not pay for a head it never uses)."""
    from leadlake import catalog
    from leadlake.text.routing import text_encoders

    encoders = text_encoders(ctx.conf)
    out = [encoders.primary]
    extra = encoders.multilingual
    if extra is not None and (ctx.force or (ctx.lh.exists(catalog.TEXT_EMBEDDINGS) and not ctx.lh.read(
            catalog.TEXT_EMBEDDINGS, columns=["model_id"]).where(f"model_id = '{extra.model_id}'").isEmpty())):
        out.append(extra)
    return out


def _train_sentiment(ctx: RunContext):
    from leadlake.needs.training import train_sentiment_head

    reports = []
    for spec in _sentiment_encoders(ctx):
        try:
            reports.append(str(train_sentiment_head(ctx.lh, spec)[1]))
        except EnvironmentProblem as exc:
            if ctx.force:
                raise
            log.warning("no sentiment head trained for %s (%s); its sentiment stays zero-shot", spec.model_id, exc)
            reports.append(f"{spec.model_id} skipped: {exc}; sentiment stays zero-shot")
    return "\n".join(reports)


def _skip_sentiment(ctx: RunContext) -> str | None:
    from leadlake.needs.sentiment import has_head

    if all(has_head(ctx.lh.models, spec) for spec in _sentiment_encoders(ctx)):
        return "a sentiment head exists; --force retrains"
    return None


def _mine_needs(ctx: RunContext):
    from leadlake.needs.mining import load_text_heads, mine_needs
    from leadlake.text.routing import text_encoders

    encoders = text_encoders(ctx.conf)
    return mine_needs(ctx.lh, encoders, *load_text_heads(ctx.lh.models, encoders, ctx.conf))


def _discover_leads(ctx: RunContext):
    from leadlake.leads.discovery import discover_leads, load_discovery_heads
    from leadlake.text.routing import text_encoders

    encoders = text_encoders(ctx.conf)
    return discover_leads(ctx.lh, encoders, load_discovery_heads(ctx.conf, encoders))


def _skip_training(section: str, what: str) -> Callable[[RunContext], str | None]:
    def skip(ctx: RunContext) -> str | None:
        tracking.start(ctx.conf, section)
        exists = tracking.champion_version(tracking.registered_name(ctx.conf, section)) is not None
        return f"a champion {what} model exists; --force trains a challenger" if exists else None

    return skip


def _train_leads(ctx: RunContext):
    from leadlake.leads.training import train_leads

    return train_leads(ctx.lh)


def _score_leads(ctx: RunContext):
    from leadlake.leads.scoring import score_leads

    return score_leads(ctx.lh)


def _feedback(ctx: RunContext):
    from leadlake.leads.feedback import champion_histogram, run_feedback

    return run_feedback(ctx.lh, champion_histogram(ctx.conf))


def _train_clv(ctx: RunContext):
    from leadlake.clv.training import train_clv

    return train_clv(ctx.lh)


def _score_clv(ctx: RunContext):
    from leadlake.clv.scoring import score_clv

    return score_clv(ctx.lh)


def _recommend(ctx: RunContext):
    from leadlake.reco.recommend import recommend_products

    return recommend_products(ctx.lh, _spec(ctx))


def _plan_campaign(ctx: RunContext):
    from leadlake.campaigns.plan import plan_campaign

    return plan_campaign(ctx.lh)


def _next_actions(ctx: RunContext):
    from leadlake.generate.next_actions import next_actions

    return next_actions(ctx.lh)


def _answer_questions(ctx: RunContext):
    from leadlake.generate.answer_questions import answer_questions

    return answer_questions(ctx.lh, _spec(ctx))


def _write_briefs(ctx: RunContext):
    from leadlake.generate.briefs import write_briefs

    return write_briefs(ctx.lh)


STAGES: tuple[Stage, ...] = (
    Stage("demo-data", "generate the demo CRM into the bronze tables", (),
          (*CRM_TABLES, *catalog.written_by("demo-data")), _demo_data, _skip_demo),
    Stage("ingest", "load the CRM exports listed under pipeline.ingest, quarantining bad rows", (),
          (*CRM_TABLES, "bronze.quarantine"), _ingest, _skip_ingest),
    Stage("embed", "embed every new text with the sentence encoder", ("bronze.interactions", "bronze.feedback"),
          ("silver.text_embeddings",), _embed),
    Stage("train-sentiment", "train the sentiment head (when none exists)", ("bronze.feedback",), (),
          _train_sentiment, _skip_sentiment),
    Stage("mine-needs", "sentiment, need category, entities, topics and priorities",
          ("bronze.feedback", "bronze.interactions", "silver.text_embeddings"),
          catalog.written_by("mine-needs"), _mine_needs),
    Stage("discover-leads", "flag inbound messages that are sales leads",
          ("bronze.interactions", "silver.text_embeddings"), catalog.written_by("discover-leads"), _discover_leads),
    Stage("train-leads", "train the lead conversion model (when no champion exists)",
          ("bronze.leads", "bronze.conversions", "bronze.web_events", "silver.text_signals"),
          catalog.written_by("train-leads"), _train_leads, _skip_training("leads", "lead")),
    Stage("score-leads", "score every lead with the champion", ("bronze.leads", "silver.text_signals"),
          catalog.written_by("score-leads"), _score_leads),
    Stage("feedback", "re-tune tier thresholds from closed deals, report drift",
          ("gold.lead_scores", "bronze.conversions"), catalog.written_by("feedback"), _feedback),
    Stage("train-clv", "train the CLV and churn models (when no champion exists)",
          ("bronze.orders", "bronze.customers", "bronze.feedback"), catalog.written_by("train-clv"), _train_clv,
          _skip_training("clv", "CLV")),
    Stage("score-clv", "score every customer's lifetime value and churn risk", ("bronze.orders", "bronze.customers"),
          catalog.written_by("score-clv"), _score_clv),
    Stage("recommend", "top-k products per customer and open lead (ALS, content, popularity)",
          ("bronze.orders", "bronze.products", "bronze.customers", "silver.text_embeddings"),
          catalog.written_by("recommend"), _recommend),
    Stage("plan-campaign", "campaign audience by uplift, learned from past randomised campaigns",
          ("bronze.campaign_contacts", "bronze.leads", "bronze.orders", "bronze.feedback", "gold.lead_scores",
           "gold.customer_clv"),
          catalog.written_by("plan-campaign"), _plan_campaign),
    Stage("next-actions", "next best action, why, and a grounded draft per hot lead and customer",
          ("gold.lead_scores", "gold.customer_clv", "gold.customer_needs", "gold.recommendations"),
          catalog.written_by("next-actions"), _next_actions),
    Stage("answer-questions", "cite the best help articles in a reply to every support question, or escalate",
          ("bronze.support_questions", "bronze.kb_articles", "gold.discovered_leads", "gold.customer_clv"),
          catalog.written_by("answer-questions"), _answer_questions),
    Stage("write-briefs", "a weekly brief per need category and lead segment: what rose or fell",
          ("silver.text_signals", "gold.need_insights", "gold.lead_scores", "gold.customer_clv"),
          catalog.written_by("write-briefs"), _write_briefs),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise ConfError(f"unknown stage {name!r}; the stages are: {', '.join(STAGE_NAMES)}")


def select(only: Sequence[str] = (), start: str | None = None, until: str | None = None) -> list[Stage]:
    """The stages to run, in pipeline order."""
    for name in [*only, *(n for n in (start, until) if n)]:
        stage(name)
    if only and (start or until):
        raise ConfError("give --only, or --from / --until, not both")
    if only:
        return [s for s in STAGES if s.name in set(only)]
    names = list(STAGE_NAMES)
    lo = names.index(start) if start else 0
    hi = names.index(until) if until else len(names) - 1
    if lo > hi:
        raise ConfError(f"--from {start} comes after --until {until}")
    return list(STAGES[lo:hi + 1])


def run_pipeline(lh: Lakehouse, stages: Sequence[Stage], *, demo: object | None = None, force: bool = False,
                 say: Callable[[str], None] = print) -> list[StageResult]:
    """Run ``stages`` in order; stop at the first failure with :class:`StageFailed`.

    ``force`` turns the skip rules off (train although a model exists; the
    demo-data stage still needs ``demo``).
    """
    ctx = RunContext(lh, demo, force)
    results: list[StageResult] = []
    for i, st in enumerate(stages):
        rule = st.skip if st.skip is not None and (not force or st.name == "demo-data") else None
        reason = rule(ctx) if rule else None
        if reason:
            say(f"[{i + 1}/{len(stages)}] {st.name}: skipped ({reason})")
            results.append(StageResult(st.name, "skipped", note=reason))
            continue
        say(f"[{i + 1}/{len(stages)}] {st.name}: {st.help}")
        before = {t: lh.version(t) for t in st.writes}
        rows_in = _rows(lh, st.reads)
        last_run = _last_mlflow_run()
        t0 = time.perf_counter()
        try:
            report = st.body(ctx)
        except (Exception, KeyboardInterrupt) as exc:
            results.append(StageResult(st.name, "failed", time.perf_counter() - t0, rows_in,
                                       note=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__))
            raise StageFailed(st.name, exc, results) from exc
        took = time.perf_counter() - t0
        after = {t: lh.version(t) for t in st.writes}
        written = {t: v for t, v in after.items() if v is not None and v != before.get(t)}
        run = _last_mlflow_run()
        if report is not None and str(report):
            say(str(report))
        # A stage that wrote no table (a trained head, an empty ingest) says what it did instead.
        lines = [] if written or report is None else str(report).splitlines()
        note = lines[0][:120] if lines else ""
        rows_out = _rows(lh, list(written))
        results.append(StageResult(st.name, "done", took, rows_in, rows_out, written,
                                   (run,) if run and run != last_run else (), note))
        # Said as each stage ends, not only in the summary: a person (or bench/scale.py) watching a run of hours
        # knows what finished, in how long, even if the run is stopped before its summary.
        say(f"[{i + 1}/{len(stages)}] {st.name}: done in {took:.1f}s ({rows_in:,} rows in, {rows_out:,} out)")
    return results


def _rows(lh: Lakehouse, tables: Sequence[str]) -> int:
    return sum(lh.row_count(t) for t in tables if lh.exists(t))


def _last_mlflow_run() -> str | None:
    try:
        import mlflow

        run = mlflow.last_active_run()
    except Exception:
        return None
    return run.info.run_id if run is not None else None


def format_summary(results: Sequence[StageResult]) -> str:
    """One table: per stage, status, rows in and out, time, Delta versions written, MLflow runs."""
    header = f"{'stage':<16} {'status':<8} {'rows in':>10} {'rows out':>10} {'time':>8}  delta versions / mlflow runs"
    lines = ["pipeline summary:", header, "-" * len(header)]
    for r in results:
        versions = ", ".join(f"{t}@v{v}" for t, v in r.versions.items())
        runs = ", ".join(f"run {x[:12]}" for x in r.mlflow_runs)
        detail = "; ".join(x for x in (versions, runs) if x) or r.note
        rows_in = f"{r.rows_in:,}" if r.status != "skipped" else "-"
        rows_out = f"{r.rows_out:,}" if r.status == "done" else "-"
        took = f"{r.seconds:.1f}s" if r.status != "skipped" else "-"
        lines.append(f"{r.stage:<16} {r.status:<8} {rows_in:>10} {rows_out:>10} {took:>8}  {detail}")
    total = sum(r.seconds for r in results)
    lines.append(f"{len([r for r in results if r.status == 'done'])} stages run in {total:.1f}s")
    return "\n".join(lines)


def with_as_of(conf, as_of: str | None):
    """The conf with ``--as-of`` applied: the day value and churn are computed for."""
    if not as_of:
        return conf
    import datetime as dt

    try:
        dt.date.fromisoformat(as_of)
    except ValueError:
        raise ConfError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    return conf.with_overrides({"clv": {"as_of": as_of}})


def run_stages(spark, stages: Sequence[str] = (), *, lakehouse: str | None = None, conf: str | None = None,
               as_of: str | None = None, demo: object | None = None, force: bool = False) -> list[StageResult]:
    """Run stages on an existing session (a notebook's, a test's) and print the summary.

    Empty widgets arrive as empty strings; they mean "not given".
    """
    from leadlake.config import load_conf

    merged = with_as_of(load_conf(conf or None, lakehouse=lakehouse or None), as_of or None)
    lh = Lakehouse(spark, merged)
    try:
        results = run_pipeline(lh, select(stages), demo=demo, force=force)
    except StageFailed as exc:
        print(format_summary(exc.results))
        raise
    print(format_summary(results))
    return results
