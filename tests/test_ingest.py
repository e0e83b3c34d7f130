"""Ingest of users' exports: every row accounted for, bad rows quarantined with the right reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from leadlake.contracts import REASONS
from leadlake.ingest import IngestError, ingest

from .conftest import job_env

HEADER = "lead_id,created_at,source,company,industry,company_size,country,job_title,first_name,email,phone,crm_region"
GOOD = [
    'A1,2025-01-05 10:00:00,Web Form,Acme Inc,software,120,us,VP of Sales,Ann,ann@acme.com,+1 555 0100,West',
    'A2,2025-01-06T09:30:00Z,referral,"Globex, Ltd",retail,45,DE,"Head of ""RevOps""",Bo,bo@globex.de,,EMEA',
    'A3,2025-01-07,partner,Initech,,12.0,FR,"Multi\nline title",Cy,cy@initech.fr,,EMEA',
]
BAD = {
    "missing_required": ',2025-01-05,web form,NoId,software,10,US,CEO,Di,di@x.com,,',
    "bad_date": 'B2,31/02/2024,web form,BadDate,software,10,US,CEO,Ed,ed@x.com,,',
    "unknown_enum": 'B3,2025-01-05,carrier pigeon,Birds,software,10,US,CEO,Fi,fi@x.com,,',
    "bad_type": 'B4,2025-01-05,web form,Fifty,software,fifty,US,CEO,Gu,gu@x.com,,',
    "out_of_range": 'B5,2025-01-05,web form,Zero,software,0,US,CEO,Ha,ha@x.com,,',
    "text_too_long": 'B6,2025-01-05,web form,Long,software,10,US,' + "x" * 400 + ',Io,io@x.com,,',
    "bad_format": 'B7,2025-01-05,web form,Country,software,10,USA,CEO,Jo,jo@x.com,,',
    "duplicate_key": 'A1,2025-02-01,web form,Acme Again,software,10,US,CEO,Ka,ka@x.com,,',
    "malformed_row": 'B9,2025-01-05,web form,Too,many,fields,US,CEO,Lu,lu@x.com,,,extra,extra',
}


def write_dirty_csv(path, *, extra_latin1=True) -> None:
    lines = [HEADER, *GOOD, *BAD.values()]
    data = "\n".join(lines).encode("utf-8") + b"\n"
    if extra_latin1:
        data += b"B10,2025-01-05,web form,Caf\xe9 Latin,software,10,US,CEO,Mo,mo@x.com,,\n"
    path.write_bytes(data)


def test_dirty_csv_every_row_accounted_for(spark, lakehouse, tmp_path):
    src = tmp_path / "leads.csv"
    write_dirty_csv(src)
    report = ingest(lakehouse, "leads", str(src), "csv")
    assert report.read == len(GOOD) + len(BAD) + 1
    assert report.accepted == len(GOOD)
    assert report.accepted + report.quarantined == report.read
    expected = {reason: 1 for reason in BAD} | {"invalid_utf8": 1}
    assert report.reasons == expected
    assert set(expected) <= set(REASONS), "every reason code is a documented one"

    leads = {r.lead_id: r for r in lakehouse.read("bronze.leads").collect()}
    assert set(leads) == {"A1", "A2", "A3"}
    assert leads["A1"].source == "web form" and leads["A1"].country == "US"
    assert leads["A1"].company == "Acme Inc", "the first of two rows with one key wins"
    assert leads["A2"].company == "Globex, Ltd" and leads["A2"].job_title == 'Head of "RevOps"'
    assert str(leads["A2"].created_at) == "2025-01-06 09:30:00"
    assert leads["A3"].company_size == 12 and leads["A3"].job_title == "Multi\nline title"
    assert leads["A3"].industry is None and leads["A3"].phone is None
    assert leads["A1"].crm_region == "West", "custom CRM columns are kept"

    q = lakehouse.read("bronze.quarantine").collect()
    by_reason = {r.reason: r for r in q}
    assert set(by_reason) == set(expected)
    assert all(r.table == "leads" and r.source_file.endswith("leads.csv") for r in q)
    assert "carrier pigeon" in by_reason["unknown_enum"].raw_record
    assert by_reason["unknown_enum"].reasons == ["unknown_enum:source"]
    assert by_reason["bad_format"].reasons == ["bad_format:country"]
    assert by_reason["duplicate_key"].row_number == len(GOOD) + list(BAD).index("duplicate_key") + 1
    assert "extra,extra" in by_reason["malformed_row"].raw_record


def test_reingesting_the_same_file_adds_nothing(spark, lakehouse, tmp_path):
    src = tmp_path / "leads.csv"
    write_dirty_csv(src)
    first = ingest(lakehouse, "leads", str(src), "csv")
    leads_before = lakehouse.read("bronze.leads").drop("_ingested_at").collect()
    again = ingest(lakehouse, "leads", str(src), "csv")
    assert (again.read, again.accepted, again.quarantined) == (first.read, first.accepted, first.quarantined)
    assert sorted(lakehouse.read("bronze.leads").drop("_ingested_at").collect()) == sorted(leads_before)
    assert lakehouse.read("bronze.quarantine").count() == first.quarantined


def test_column_mapping_and_a_later_export_with_other_columns(spark, lakehouse, tmp_path):
    first = tmp_path / "export1.csv"
    first.write_text("Lead ID,Created,Source,Territory\nX1,2025-03-01,webinar,North\nX2,2025-03-02,partner,South\n")
    rep = ingest(lakehouse, "leads", str(first), "csv",
                 mapping={"Lead ID": "lead_id", "Created": "created_at"})
    assert (rep.accepted, rep.quarantined) == (2, 0)
    second = tmp_path / "export2.csv"
    second.write_text("Lead ID,Created,Source,Owner\nX2,2025-03-02,referral,Kim\nX3,2025-03-05,partner,Lee\n")
    ingest(lakehouse, "leads", str(second), "csv", mapping={"Lead ID": "lead_id", "Created": "created_at"})
    rows = {r.lead_id: r for r in lakehouse.read("bronze.leads").collect()}
    assert set(rows) == {"X1", "X2", "X3"}
    assert rows["X2"].source == "referral", "the later export updates the lead"
    assert rows["X2"].Territory == "South", "a column the later export lacks keeps its value"
    assert rows["X2"].Owner == "Kim" and rows["X1"].Owner is None and rows["X3"].Territory is None


def test_json_lines_with_a_broken_line(spark, lakehouse, tmp_path):
    src = tmp_path / "interactions.json"
    good = {"interaction_id": "I1", "lead_id": "A1", "ts": "2025-01-05T10:00:00Z", "channel": "Email",
            "text": "We have budget approved, please send a quote"}
    long_text = dict(good, interaction_id="I2", text="spam " * 5000)
    src.write_text("\n".join([json.dumps(good), "{not json", json.dumps(long_text)]) + "\n")
    rep = ingest(lakehouse, "interactions", str(src), "json")
    assert (rep.read, rep.accepted) == (3, 1)
    assert rep.reasons == {"malformed_row": 1, "text_too_long": 1}
    row = lakehouse.read("bronze.interactions").first()
    assert row.channel == "email" and row.text.startswith("We have budget approved")


def test_parquet_with_typed_columns_and_negative_amounts(spark, lakehouse, tmp_path):
    src = tmp_path / "conversions.parquet"
    pq.write_table(pa.table({
        "lead_id": ["A1", "A2", "A3", None],
        "outcome": ["won", "lost", "won", "won"],
        "closed_at": pa.array([1_735_689_600_000_000] * 4, pa.timestamp("us", tz="UTC")),
        "amount": [1200.5, None, -50.0, 10.0],
    }), src)
    rep = ingest(lakehouse, "conversions", str(src), "parquet")
    assert rep.reasons == {"negative_amount": 1, "missing_required": 1}
    assert sorted(r.lead_id for r in lakehouse.read("bronze.conversions").collect()) == ["A1", "A2"]


def test_delta_input(spark, lakehouse, tmp_path):
    products = spark.createDataFrame(
        [("P1", "Seat", "CRM", 10.0, "d"), ("P2", "Bad", "crm", -1.0, "d")],
        "product_id string, name string, category string, price double, description string",
    )
    lakehouse.write(products, "silver.staging_products", mode="overwrite")
    rep = ingest(lakehouse, "products", lakehouse.ref("silver.staging_products").path, "delta")
    assert (rep.accepted, rep.reasons) == (1, {"negative_amount": 1})
    assert lakehouse.read("bronze.products").first().category == "crm"


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (b"", "csv", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "csv", "not a text file"),
        ("lead_id,created_at\nA,2025-01-01\n".encode("utf-16"), "csv", "looks like UTF-16"),
        (b'{"lead_id": "A1", "created_at": "2025-01-01"}\n', "csv", "does not look like a CSV"),
        (b"just some words\nand more words\n", "json", "is not JSON"),
        (b"not parquet at all", "parquet", "cannot be read as parquet"),
        (b"lead_id,company\nA1,Acme\n", "csv", "lacks required columns of leads: created_at, source"),
        (b"lead_id,created_at,source\n" + "é".encode("latin-1") * 2000 + b"\n", "csv",
         "is not UTF-8 text"),
    ],
)
def test_malformed_files_are_one_clear_error(spark, lakehouse, tmp_path, content, fmt, message):
    src = tmp_path / f"input.{fmt}"
    src.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        ingest(lakehouse, "leads", str(src), fmt)
    assert not lakehouse.exists("bronze.leads")
    assert not lakehouse.exists("bronze.quarantine")


def test_cli_ingest_prints_the_reconciliation_and_fails_in_one_line(spark, lakehouse, tmp_path):
    src = tmp_path / "leads.csv"
    write_dirty_csv(src, extra_latin1=False)
    root = lakehouse.conf.lakehouse
    ok = subprocess.run([sys.executable, "-m", "leadlake.cli", "ingest", "--lakehouse", root, "--table", "leads",
                         "--input", str(src), "--format", "csv"], capture_output=True, text=True, timeout=300,
                        env=job_env())
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert f"read {len(GOOD) + len(BAD)}, accepted {len(GOOD)}, quarantined {len(BAD)}" in ok.stdout
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    bad = subprocess.run([sys.executable, "-m", "leadlake.cli", "ingest", "--lakehouse", root, "--table", "leads",
                          "--input", str(empty), "--format", "csv"], capture_output=True, text=True, timeout=300,
                         env=job_env())
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == f"leadlake ingest: {empty} is empty"
    assert "Traceback" not in bad.stderr
    # Judged before any Spark session starts (the first run logged its session; this one must not).
    assert "Delta engine" in ok.stderr + ok.stdout and "Delta engine" not in bad.stderr + bad.stdout
    assert lakehouse.read("bronze.leads").where(F.col("lead_id").startswith("A")).count() == len(GOOD)
