"""``leadlake report``: one self-contained HTML file of what the lakehouse says, for people who do not query tables.

The file carries its charts as inline SVG and its style inline, and no
script at all: it opens offline, from an e-mail attachment or a shared
drive, and nothing in it can run. Every text that came from data is
escaped. It is written next to the tables (``report.output``, default
``<lakehouse>/reports/leadlake_report.html``, any URI the lakehouse
accepts) and logged as an artifact of an MLflow run, so last week's report
is still there next week.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

from leadlake import __version__, locations
from leadlake.lakehouse import Lakehouse
from leadlake.progress import stage
from leadlake.report.sections import SECTIONS, Section

log = logging.getLogger("leadlake.report")

SECTION = "report"
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:2px solid #2f6db3;padding-bottom:4px;
margin-top:36px}h3{font-size:15px;margin:12px 0 4px}.sources,.meta{color:#666;font-size:12px}
table{border-collapse:collapse;margin:10px 0;font-size:13px;width:100%}th,td{border-bottom:1px solid #ddd;
padding:4px 6px;text-align:left;vertical-align:top}td.num{text-align:right;white-space:nowrap}
figure.chart{margin:12px 0}figcaption{font-weight:600;font-size:13px;margin-bottom:4px}
.missing{color:#a33}.brief{border-left:3px solid #2f6db3;padding-left:10px;margin:10px 0}
"""


@dataclass(frozen=True)
class ReportResult:
    path: str
    sections: int
    missing: int
    charts: int
    mlflow_run: str | None

    def __str__(self) -> str:
        run = f", logged to MLflow run {self.mlflow_run[:12]}" if self.mlflow_run else ""
        gaps = f" ({self.missing} waiting for a stage)" if self.missing else ""
        return f"report written: {self.path}: {self.sections} sections{gaps}, {self.charts} charts{run}"


def render(sections: list[Section], lakehouse: str, created: str) -> str:
    """The HTML page: a contents list, then each section with the table versions it came from."""
    toc = "".join(f'<li><a href="#s{i}">{escape(s.title)}</a></li>' for i, s in enumerate(sections))
    body = []
    for i, s in enumerate(sections):
        body.append(f'<section id="s{i}"><h2>{escape(s.title)}</h2>')
        if s.missing:
            body.append(f'<p class="missing">Not available: {escape(s.missing)}.</p>')
        else:
            sources = ", ".join(f"{escape(t)} v{v}" if v is not None else escape(t) for t, v in s.sources)
            body.append(f'<p class="sources">From {sources}.</p>')
            body.extend(s.parts)
        body.append("</section>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>leadlake report</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><h1>leadlake report</h1><p class="meta">Lakehouse {escape(lakehouse)}, written {escape(created)} '
            f'by leadlake {escape(__version__)}.</p><nav><ol>{toc}</ol></nav>{"".join(body)}</body></html>')


def default_output(lh: Lakehouse) -> str:
    return str(lh.conf.get("report.output") or locations.join(lh.root, "reports", "leadlake_report.html"))


def write_report(lh: Lakehouse, output: str | None = None, *, log_to_mlflow: bool = True) -> ReportResult:
    output = output or default_output(lh)
    sections = []
    for build in SECTIONS:
        with stage(log, f"report section {build.__name__.removesuffix('_section')}"):
            sections.append(build(lh))
    created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html = render(sections, lh.root, created)
    locations.write_text(output, html, lh.storage if not locations.is_local(output) else None)
    run_id = _log(lh, html) if log_to_mlflow else None
    return ReportResult(output, len(sections), sum(1 for s in sections if s.missing),
                        html.count('<figure class="chart"'), run_id)


def _log(lh: Lakehouse, html: str) -> str | None:
    import mlflow

    from leadlake.ml import tracking

    tracking.start(lh.conf, SECTION)
    with tempfile.TemporaryDirectory(prefix="leadlake-report-") as tmp, mlflow.start_run(run_name="report") as run:
        path = Path(tmp) / "leadlake_report.html"
        path.write_text(html, encoding="utf-8")
        mlflow.log_artifact(str(path))
        return run.info.run_id
