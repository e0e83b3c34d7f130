"""The Databricks notebooks, executed as a notebook would be: one stage each, on a local session."""

from __future__ import annotations

import pyarrow as pa
from deltalake import DeltaTable

from leadlake.pipeline import STAGE_NAMES

from .conftest import PIPELINE_LEADS


def test_each_notebook_runs_its_stage_and_together_they_build_the_lakehouse(notebook_runs):
    lakehouse, printed = notebook_runs.lakehouse, notebook_runs.printed
    assert len(printed) == len(STAGE_NAMES)
    for stem, out in printed.items():
        stage = stem.split("_", 1)[1].replace("_", "-")
        assert f"[1/1] {stage}:" in out, (stem, out[-1500:])
        assert f"\n{stage:<16} done" in out, (stem, out[-1500:])

    def rows(table: str) -> pa.Table:
        return pa.table(DeltaTable(str(lakehouse / table)).to_pyarrow_dataset().to_table())

    leads = {r["lead_id"]: r for r in rows("bronze/leads").to_pylist()}
    assert len(leads) == PIPELINE_LEADS and leads["L0000001"]["company"] == "Renamed Co"  # the ingest notebook
    assert (lakehouse / "models" / "sentiment").is_dir()  # the train-sentiment notebook
    scores = rows("gold/lead_scores")
    assert scores.num_rows == PIPELINE_LEADS
    assert rows("gold/customer_clv").num_rows == rows("bronze/customers").num_rows > 0
    assert rows("gold/tier_thresholds").num_rows >= 1
    recs = rows("gold/recommendations")
    assert recs.num_rows > 0 and set(recs["user_kind"].to_pylist()) == {"customer", "lead"}
    audience = rows("gold/campaign_audiences")
    assert audience.num_rows == PIPELINE_LEADS and any(audience["in_audience"].to_pylist())
