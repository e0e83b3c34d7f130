"""The HTML report, opened in a real browser: Debian's headless Chromium renders it to a PNG and to its DOM."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from leadlake.config import load_conf
from leadlake.lakehouse import Lakehouse
from leadlake.report import write_report
from leadlake.report.build import render
from leadlake.report.charts import bar_chart, line_chart
from leadlake.report.sections import Section

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it with apt-get when it runs "
                             "as root; elsewhere: sudo apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def browse(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"chromium-profile-{len(list(tmp.iterdir()))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def rendered_dom(page: Path, tmp: Path) -> str:
    proc = browse(page, tmp, "--dump-dom")
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def screenshot(page: Path, tmp: Path, height: int = 5000):
    from PIL import Image

    png = tmp / f"{page.stem}.png"
    proc = browse(page, tmp, f"--screenshot={png}", f"--window-size=1100,{height}")
    assert png.exists(), proc.stderr[-2000:]
    return Image.open(png).convert("RGB")


class Charts(HTMLParser):
    """Per chart in the browser's DOM: how many data points it drew; and every script element."""

    def __init__(self) -> None:
        super().__init__()
        self.points: dict[str, int] = {}
        self.scripts = 0
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        if tag == "figure" and "chart" in (a.get("class") or ""):
            self._chart = a.get("data-chart")
            self.points[self._chart] = 0
        elif self._chart and "point" in (a.get("class") or "").split():
            self.points[self._chart] += 1
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._chart = None


def charts_of(dom: str) -> Charts:
    parser = Charts()
    parser.feed(dom)
    return parser


BLUE = (47, 109, 179)


def coloured_pixels(image, colour=BLUE, tolerance: int = 12) -> int:
    return sum(1 for px in image.getdata() if all(abs(a - b) <= tolerance for a, b in zip(px, colour, strict=True)))


@pytest.fixture(scope="module")
def full_report(notebook_runs, spark, tmp_path_factory):
    lakehouse, conf_file = notebook_runs.lakehouse, notebook_runs.conf_file
    lh = Lakehouse(spark, load_conf(str(conf_file), lakehouse=str(lakehouse)))
    out = tmp_path_factory.mktemp("report") / "report.html"
    return lh, write_report(lh, str(out)), out


def test_the_report_covers_every_stage_and_logs_itself_to_mlflow(full_report):
    import mlflow

    lh, result, out = full_report
    html = out.read_text()
    assert result.missing == 0 and result.sections == 7, str(result)
    for title in ("Leads: funnel", "Customers: lifetime value", "Customer needs", "Next best actions",
                  "Product recommendations", "Campaign audience", "Insight briefs"):
        assert title in html, title
    # Each section names the table versions it read.
    versions = re.findall(r"gold\.lead_scores v(\d+)", html)
    assert versions and int(versions[0]) == lh.version("gold.lead_scores")
    assert "gold.customer_clv v" in html and "gold.need_insights v" in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    artifacts = mlflow.MlflowClient().list_artifacts(result.mlflow_run)
    assert [a.path for a in artifacts] == ["leadlake_report.html"]


@needs_chromium
def test_chromium_renders_the_report_with_data_in_every_chart(full_report, tmp_path):
    _, result, out = full_report
    charts = charts_of(rendered_dom(out, tmp_path))
    assert len(charts.points) == result.charts >= 9, charts.points
    empty = [name for name, n in charts.points.items() if n == 0]
    assert not empty, f"charts without data points: {empty}"
    assert charts.points["lead_lift"] == charts.points["lead_calibration"] == 10
    image = screenshot(out, tmp_path)
    assert len(set(image.resize((110, 500)).getdata())) > 20, "the page rendered blank"
    assert coloured_pixels(image) > 2000, "no chart was drawn"


@needs_chromium
def test_text_from_the_data_is_escaped_not_run(tmp_path):
    evil = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'
    section = Section("Needs <b>&</b> more")
    section.sources.append(("gold.need_insights", 3))
    section.text(f"A customer wrote: {evil}")
    section.parts.append(bar_chart("evil", f"chart {evil}", [evil, "plain"], [3, 1]))
    section.parts.append(line_chart("line", "a line", {evil: [(0, 1.0), (1, 2.0)]}))
    page = tmp_path / "evil.html"
    page.write_text(render([section], "/lake/<house>", "now"))
    dom = rendered_dom(page, tmp_path)
    charts = charts_of(dom)
    assert charts.scripts == 0 and "<img" not in dom
    assert charts.points == {"evil": 2, "line": 2}
    assert "&lt;script&gt;document.title" in dom and "<title>leadlake report</title>" in dom
    assert "Needs &lt;b&gt;&amp;&lt;/b&gt; more" in dom and "gold.need_insights v3" in dom


def test_a_half_built_lakehouse_gets_a_report_that_says_what_to_run(demo_copy, tmp_path):
    out = tmp_path / "partial.html"
    result = write_report(demo_copy, str(out), log_to_mlflow=False)
    html = out.read_text()
    assert result.mlflow_run is None and result.missing == 6, str(result)
    assert "gold.lead_scores does not exist yet: run score-leads" in html
    assert "gold.customer_clv does not exist yet: run score-clv" in html
    assert "gold.need_insights v" in html and 'data-chart="need_trends"' in html


def test_the_default_output_lives_in_the_lakehouse_and_the_cli_prints_its_path(demo_copy, capsys):
    from leadlake.cli import main

    root = demo_copy.conf.lakehouse
    assert main(["report", "--lakehouse", root, "--no-mlflow"]) == 0
    printed = capsys.readouterr().out
    expected = Path(root) / "reports" / "leadlake_report.html"
    assert f"report written: {expected}" in printed and expected.read_text().startswith("<!DOCTYPE html>")
