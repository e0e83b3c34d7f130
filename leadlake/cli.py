"""The ``leadlake`` command: one sub-command per job, the same code spark-submit runs.

Every job takes ``--lakehouse`` and ``--conf``, logs its progress, and on
failure prints one line saying what went wrong with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from leadlake import __version__
from leadlake.config import LAKEHOUSE_ENV, Conf, load_conf
from leadlake.errors import LeadlakeError, root_cause
from leadlake.progress import setup_logging

log = logging.getLogger("leadlake.cli")


@dataclass(frozen=True)
class JobSpec:
    """A job: where its code lives and what it says about itself in ``--help``."""

    name: str
    target: str
    help: str
    needs_spark: bool = True

    def load(self) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int | None],
                            Callable[..., None] | None]:
        """The job's argument declarations, its body, and its optional ``preflight``: Spark-free
        checks of the arguments, so that a user's mistake costs a second, not a JVM start."""
        module = importlib.import_module(self.target)
        return module.add_arguments, module.run, getattr(module, "preflight", None)


JOBS: tuple[JobSpec, ...] = (
    JobSpec("run", "leadlake.jobs.run",
            "run the pipeline (all stages, --only some, --from / --until one) and print a summary"),
    JobSpec("demo", "leadlake.jobs.demo", "the pipeline on the demo CRM (run --demo), then what the lakehouse holds"),
    JobSpec("demo-data", "leadlake.jobs.demo_data", "generate the demo CRM (bronze tables) at any scale"),
    JobSpec("ingest", "leadlake.jobs.ingest", "validate a CRM export and load it into a bronze table"),
    JobSpec("embed", "leadlake.jobs.embed", "embed every new text of the lakehouse with the BERT sentence encoder"),
    JobSpec("train-sentiment", "leadlake.jobs.train_sentiment",
            "train the sentiment head on real labelled text and the lakehouse's rated feedback"),
    JobSpec("mine-needs", "leadlake.jobs.mine_needs",
            "mine customer needs: sentiment, need category, entities, topics and priorities"),
    JobSpec("discover-leads", "leadlake.jobs.discover_leads",
            "flag inbound messages that are sales leads (vs support, spam, job seekers, out of office)"),
    JobSpec("train-leads", "leadlake.jobs.train_leads",
            "train the lead conversion model (boosted trees, with and without text), log to MLflow, promote if better"),
    JobSpec("score-leads", "leadlake.jobs.score_leads",
            "score leads with the champion model: p_convert, score, tier, rank, reasons, junk -> gold.lead_scores"),
    JobSpec("feedback", "leadlake.jobs.feedback",
            "re-tune tier thresholds from closed deals, report drift and realised precision, flag retrains"),
    JobSpec("train-clv", "leadlake.jobs.train_clv",
            "train the customer lifetime value and churn models beside the BTYD baseline, promote if better"),
    JobSpec("score-clv", "leadlake.jobs.score_clv",
            "score customers: clv_12m, BTYD baseline, p_alive, churn risk, value segment -> gold.customer_clv"),
    JobSpec("recommend", "leadlake.jobs.recommend",
            "recommend products to every customer and open lead (ALS beside content and popularity)"),
    JobSpec("plan-campaign", "leadlake.jobs.plan_campaign",
            "pick a campaign audience by uplift, compared with a response model and random targeting"),
    JobSpec("next-actions", "leadlake.jobs.next_actions",
            "next best action, why and a grounded draft for every hot lead and customer who needs one"),
    JobSpec("answer-questions", "leadlake.jobs.answer_questions",
            "answer every support question from the help centre, citing articles, or escalate it to a person"),
    JobSpec("write-briefs", "leadlake.jobs.write_briefs",
            "write a weekly brief per need category and lead segment: what rose or fell, who it concerns"),
    JobSpec("report", "leadlake.jobs.report",
            "write one self-contained HTML report of leads, value, needs, actions and campaigns"),
    JobSpec("export-model", "leadlake.jobs.export_model", "export the sentence encoder to ONNX (optionally int8)",
            needs_spark=False),
    JobSpec("vacuum", "leadlake.jobs.vacuum",
            "delete data files no reader needs: left by killed writers, or replaced long ago", needs_spark=False),
    JobSpec(
        "tables",
        "leadlake.jobs.tables",
        "list the lakehouse's Delta tables: version, rows, last commit",
        needs_spark=False,
    ),
)


@dataclass
class JobContext:
    """What a job's ``run`` gets: the merged conf, and the session once started."""

    conf: Conf
    spark: Any = None

    @property
    def lakehouse(self):
        from leadlake.lakehouse import Lakehouse

        return Lakehouse(self.spark, self.conf)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, tuple[JobSpec, Callable[..., Any]]]]:
    parser = argparse.ArgumentParser(
        prog="leadlake",
        description="Lead scoring, customer value and customer-needs jobs on a Delta lakehouse.",
    )
    parser.add_argument("--version", action="version", version=f"leadlake {__version__}")
    sub = parser.add_subparsers(dest="job", metavar="JOB", title="jobs")
    runners: dict[str, tuple[JobSpec, Callable[..., Any], Callable[..., None] | None]] = {}
    for spec in JOBS:
        p = sub.add_parser(spec.name, help=spec.help, description=spec.help)
        p.add_argument(
            "--lakehouse",
            help=f"lakehouse root (default: conf 'lakehouse', ./lakehouse, or ${LAKEHOUSE_ENV})",
        )
        p.add_argument("--conf", help="YAML file merged over conf/default.yaml")
        p.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING")
        add_arguments, run, preflight = spec.load()
        add_arguments(p)
        runners[spec.name] = (spec, run, preflight)
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    parser, runners = _parser()
    args = parser.parse_args(argv)
    if not args.job:
        parser.print_help()
        return 2
    spec, run, preflight = runners[args.job]
    ctx: JobContext | None = None
    owns_session = False
    try:
        conf = load_conf(args.conf, lakehouse=args.lakehouse)
        setup_logging(args.log_level or conf.get("logging.level"))
        ctx = JobContext(conf)
        if preflight is not None:
            preflight(conf, args)
        if spec.needs_spark:
            from pyspark.sql import SparkSession

            from leadlake.session import get_spark

            owns_session = SparkSession.getActiveSession() is None
            ctx.spark = get_spark(conf)
        code = run(ctx, args)
        return int(code or 0)
    except LeadlakeError as exc:
        print(f"leadlake {args.job}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"leadlake {args.job}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.debug("stack trace", exc_info=True)
        print(
            f"leadlake {args.job}: failed: {root_cause(exc)} "
            "(rerun with --log-level DEBUG for the stack trace)",
            file=sys.stderr,
        )
        if logging.getLogger("leadlake").isEnabledFor(logging.DEBUG):
            traceback.print_exc()
        return 1
    finally:
        # A notebook's session outlives the job; only a session we started is ours to stop.
        if owns_session and ctx is not None and ctx.spark is not None:
            ctx.spark.stop()


def entry() -> None:
    """The ``leadlake`` console script, and the Databricks wheel task's entry point.

    Exits with the job's code instead of returning it: a Databricks
    python_wheel_task ignores a returned value, so a failed stage would
    otherwise look like a successful task.
    """
    sys.exit(main())


def job_entry(name: str) -> None:
    """What a ``jobs/<name>.py`` script calls under spark-submit."""
    sys.exit(main([name, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
