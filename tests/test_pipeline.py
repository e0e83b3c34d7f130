"""The declared pipeline: selection, the summary, resuming, failures, and the whole of it on S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadlake import catalog
from leadlake.cli import main
from leadlake.demo import DemoSpec
from leadlake.errors import ConfError
from leadlake.lakehouse import Lakehouse
from leadlake.pipeline import STAGE_NAMES, STAGES, StageFailed, format_summary, run_pipeline, select

from .conftest import make_conf

REPO = Path(__file__).resolve().parents[1]


def test_stages_are_declared_once_in_order_with_catalogued_tables():
    assert STAGE_NAMES[:3] == ("demo-data", "ingest", "embed")
    assert STAGE_NAMES.index("score-clv") < STAGE_NAMES.index("recommend") < STAGE_NAMES.index("plan-campaign")
    assert STAGE_NAMES.index("train-leads") < STAGE_NAMES.index("score-leads") < STAGE_NAMES.index("feedback")
    for st in STAGES:
        for table in (*st.reads, *st.writes):
            assert table in catalog.TABLES, (st.name, table)
    writers = {t.written_by for t in catalog.TABLES.values()}
    assert writers <= set(STAGE_NAMES), writers - set(STAGE_NAMES)
    assert [s.name for s in select(["score-clv", "embed"])] == ["embed", "score-clv"]
    assert [s.name for s in select(start="score-leads", until="train-clv")] == ["score-leads", "feedback", "train-clv"]
    with pytest.raises(ConfError, match="unknown stage 'score'; the stages are: demo-data"):
        select(["score"])
    with pytest.raises(ConfError, match="not both"):
        select(["embed"], start="embed")
    with pytest.raises(ConfError, match="comes after"):
        select(start="score-clv", until="embed")


def test_a_rerun_from_a_stage_writes_the_same_rows_and_the_summary_says_what_ran(spark, tmp_path):
    lh = Lakehouse(spark, make_conf(tmp_path / "lh"))
    said: list[str] = []
    results = run_pipeline(lh, select(until="embed"), demo=DemoSpec(leads=150, seed=3), say=said.append)
    assert [(r.stage, r.status) for r in results] == [("demo-data", "done"), ("ingest", "skipped"), ("embed", "done")]
    embedded = lh.row_count("silver.text_embeddings")
    assert results[2].rows_out == embedded > 0 and results[2].versions == {"silver.text_embeddings": 0}
    assert results[0].rows_out == sum(lh.row_count(t) for t in results[0].versions)
    embed = results[2]
    assert f"[3/3] embed: done in {embed.seconds:.1f}s ({embed.rows_in:,} rows in, {embedded:,} out)" in said
    again = run_pipeline(lh, select(start="embed", until="embed"), say=said.append)
    assert lh.row_count("silver.text_embeddings") == embedded
    assert again[0].status == "done" and "0 embedded now" in said[-2]
    assert said[-1] == f"[1/1] embed: done in {again[0].seconds:.1f}s ({again[0].rows_in:,} rows in, 0 out)"
    table = format_summary([*results, *again])
    assert "pipeline summary:" in table and "silver.text_embeddings@v0" in table
    assert "no exports listed under pipeline.ingest" in table


def test_a_failing_stage_stops_the_run_with_one_line_and_the_summary(spark, tmp_path, capsys):
    root = tmp_path / "empty-lh"
    code = main(["run", "--lakehouse", str(root), "--only", "embed", "score-leads"])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "leadlake run: stage score-leads: no champion of leadlake_lead_conversion" in captured.err
    assert "resume with: leadlake run --from score-leads" in captured.err
    assert "Traceback" not in captured.err
    assert "score-leads      failed" in captured.out and "embed            done" in captured.out
    with pytest.raises(StageFailed):
        run_pipeline(Lakehouse(spark, make_conf(root)), select(["score-clv"]), say=lambda _: None)
