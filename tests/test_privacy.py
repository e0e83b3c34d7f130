"""Personal data: phone numbers as people write them are masked, and after the whole pipeline no contact
detail from bronze is found in silver, gold, MLflow, saved models, the report or the logs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable
from pyspark.sql import functions as F

from leadlake.config import load_conf
from leadlake.delta.tables import delta_tables
from leadlake.lakehouse import Lakehouse
from leadlake.report import write_report
from leadlake.text.pii import CARD, EMAIL, PHONE, mask_pii, mask_pii_text

CASES = [
    # The demo's own signature format, missed before: area code in parentheses, then 6 digits.
    ("M: (486) 329-033", "M: [PHONE]"),
    ("call +1 (415) 555-0100 or 020 7946 0958", "call [PHONE] or [PHONE]"),
    ("+44 (0)20 7946 0958 (UK, trunk zero)", "[PHONE] (UK, trunk zero)"),
    ("Tel. +49 30 1234567, Fax 030/12345678", "Tel. [PHONE], Fax [PHONE]"),
    ("portable 06 12 34 56 78 ou +33 6 12 34 56 78", "portable [PHONE] ou [PHONE]"),
    ("+91-98765-43210 / 98765 43210", "[PHONE] / [PHONE]"),
    ("03-1234-5678 (Tokyo), +65 6123 4567", "[PHONE] (Tokyo), [PHONE]"),
    ("555.123.4567 or 555 - 123 - 4567", "[PHONE] or [PHONE]"),
    ("+15551234567, tel.5551234567, 0049 30 123456", "[PHONE], tel.[PHONE], [PHONE]"),
    ("mail jane.doe+crm@acme-corp.co.uk", "mail [EMAIL]"),
    ("card 4111 1111 1111 1111, exp 12/27", "card [CARD], exp 12/27"),
    # Not phone numbers: dates, year ranges, money, ids, versions, hashes.
    ("renewal on 2025-12-26, invoice from 12/05/2025", "renewal on 2025-12-26, invoice from 12/05/2025"),
    ("contract 2024-2025, budget $20,000 for 200 seats", "contract 2024-2025, budget $20,000 for 200 seats"),
    ("split 355/89/111 rows, ratio 1/2/3/4/5/6/7", "split 355/89/111 rows, ratio 1/2/3/4/5/6/7"),
    ("order O0001504-0002, lead L0000001, v3.8.1, id 123456", "order O0001504-0002, lead L0000001, v3.8.1, id 123456"),
    ("text hash 8336917b00365212e142aa53", "text hash 8336917b00365212e142aa53"),
]


def test_phone_numbers_as_people_write_them_are_masked_and_dates_are_not(spark):
    assert [mask_pii_text(raw) for raw, _ in CASES] == [masked for _, masked in CASES]
    rows = spark.createDataFrame([(raw,) for raw, _ in CASES], "t string").select(mask_pii(F.col("t")).alias("m"))
    assert [r.m for r in rows.collect()] == [masked for _, masked in CASES]  # Java's regex agrees with Python's


def contact_values(lakehouse: Path) -> set[str]:
    """Every e-mail address and phone number bronze holds for a person (leads and customers)."""
    values: set[str] = set()
    for table in ("leads", "customers"):
        path = lakehouse / "bronze" / table
        if (path / "_delta_log").is_dir():
            rows = DeltaTable(str(path)).to_pyarrow_dataset().to_table()
            for column in set(rows.column_names) & {"email", "phone"}:
                values |= {v for v in rows[column].to_pylist() if v}
    # Junk placeholders ("0000000000", "123456") are nobody's number and occur inside ordinary numbers.
    return {v for v in values if "@" in v or len(set(re.sub(r"\D", "", v))) >= 4}


def _strings(table: pa.Table) -> Iterator[tuple[str, list[str]]]:
    for name in table.column_names:
        column = table[name]
        while pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            column = pc.list_flatten(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            yield name, [v for v in column.to_pylist() if v]


def table_texts(lakehouse: Path, layers=("silver", "gold")) -> Iterator[tuple[str, str, list[str]]]:
    """(table, column, values) for every string column of every Delta table in these layers."""
    for name, uri in delta_tables(str(lakehouse), {}):
        if name.split(".")[0] in layers:
            for column, values in _strings(DeltaTable(uri).to_pyarrow_dataset().to_table()):
                yield name, column, values


def file_texts(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file under root as text: Parquet files by their string values, anything else by its bytes."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            yield path, "\n".join(v for _, values in _strings(pq.read_table(path)) for v in values)
        else:
            yield path, path.read_bytes().decode("utf-8", errors="ignore")


def leaks(text: str, contacts: set[str], patterns=(EMAIL,)) -> list[str]:
    """Contact values found in ``text`` as themselves, and matches of ``patterns``.

    A phone number inside a longer run of digits is not that number: the saved heads are JSON floats, and one of
    thousands of 17-digit mantissas can hold the demo's "123456".
    """
    found = [c for c in contacts if c in text and re.search(rf"(?<!\d){re.escape(c)}(?!\d)", text)]
    return found + [m.group(0) for p in patterns for m in re.finditer(p, text)]


def test_no_contact_detail_from_bronze_reaches_silver_gold_mlflow_models_the_report_or_the_logs(
        notebook_runs, spark, tmp_path):
    lakehouse = notebook_runs.lakehouse
    contacts = contact_values(lakehouse)
    assert len(contacts) > 500  # the demo's leads carry e-mails and phones, and its texts quote them
    texts = [v for _, _, values in table_texts(lakehouse, ("bronze",)) for v in values]
    assert sum(any(c in t for c in contacts) for t in texts) > 20, "the demo's texts should quote contact details"

    found = {}
    scanned = 0
    for table, column, values in table_texts(lakehouse):
        scanned += 1
        # Hex digests and model versions (an MLflow run id's first 12 hex characters) are not text a person
        # wrote: a long digit run inside a hash looks like a card, and a run id can be 12 digits, like a phone.
        # They are still searched for every real contact value and e-mail.
        generated = "hash" in column or column == "model_version"
        patterns = (EMAIL,) if generated else (EMAIL, PHONE, CARD)
        for value in values:
            if hits := leaks(value, contacts, patterns):
                found.setdefault(f"{table}.{column}", (hits, value[:200]))
    assert scanned > 40 and not found, found

    stores = [lakehouse / "mlflow", lakehouse / "models"]
    assert all(s.is_dir() for s in stores)
    files = 0
    for store in stores:
        for path, text in file_texts(store):
            files += 1
            # In images and other binary files random bytes can look like an e-mail: look for the real values there.
            binary = path.suffix != ".parquet" and b"\x00" in path.read_bytes()[:8192]
            found = leaks(text, contacts, () if binary else (EMAIL,))
            assert not found, (path, found[:5])
    assert files > 100  # the MLflow database, every run's artifacts and the saved heads

    lh = Lakehouse(spark, load_conf(str(notebook_runs.conf_file), lakehouse=str(lakehouse)))
    write_report(lh, str(tmp_path / "report.html"), log_to_mlflow=False)
    html = (tmp_path / "report.html").read_text()
    assert not leaks(html, contacts), leaks(html, contacts)[:5]

    said = "\n".join([*notebook_runs.printed.values(), *notebook_runs.logs])
    assert len(notebook_runs.logs) > 100
    assert not leaks(said, contacts), leaks(said, contacts)[:5]
    # MLflow run ids (32 hex characters, printed as "run" and their first 8 or 12) can be all digits, like a phone.
    runs = re.sub(r"\b[0-9a-f]{32}\b|(?<=run )[0-9a-f]{8,12}\b", "<run id>", said)
    assert not leaks(runs, set(), (EMAIL, PHONE, CARD)), leaks(runs, set(), (EMAIL, PHONE, CARD))[:5]
