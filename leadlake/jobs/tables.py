"""``leadlake tables``: what the lakehouse holds, table by table."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from leadlake import catalog, locations
from leadlake.delta.source import open_table
from leadlake.delta.tables import delta_tables


@dataclass(frozen=True)
class TableSummary:
    name: str
    version: int
    rows: int
    files: int
    last_operation: str
    last_commit: str


def summarize_lakehouse(root: str, storage: Mapping[str, str] | None = None) -> list[TableSummary]:
    """Every Delta table under ``<root>/<layer>/``, read from the Delta log alone (no scan)."""
    out: list[TableSummary] = []
    root = locations.normalize_root(root)
    storage = locations.storage_options(root) if storage is None else storage
    for name, uri in delta_tables(root, storage):
        table = open_table(uri, storage=storage)
        actions = pa.table(table.get_add_actions(flatten=True))
        rows = pc.sum(actions["num_records"]).as_py() if actions.num_rows else 0
        last = table.history(1)[0]
        when = dt.datetime.fromtimestamp(last["timestamp"] / 1000, dt.timezone.utc)
        out.append(
            TableSummary(
                name=name,
                version=table.version(),
                rows=int(rows or 0),
                files=actions.num_rows,
                last_operation=str(last.get("operation")),
                last_commit=when.strftime("%Y-%m-%d %H:%M:%S UTC"),
            )
        )
    return out


def format_summaries(rows: list[TableSummary]) -> str:
    if not rows:
        return "(no tables)"
    header = f"{'table':<28} {'version':>7} {'rows':>12} {'files':>6}  {'written by':<15} {'keys':<24} last commit"
    lines = [header, "-" * len(header)]
    for r in rows:
        spec = catalog.TABLES.get(r.name)
        writer, keys = (spec.written_by, ", ".join(spec.keys)) if spec else ("-", "-")
        lines.append(
            f"{r.name:<28} {r.version:>7} {r.rows:>12,} {r.files:>6}  {writer:<15} {keys:<24} "
            f"{r.last_commit} {r.last_operation}"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --lakehouse/--conf."""


def run(ctx, args: argparse.Namespace) -> int:
    print(format_summaries(summarize_lakehouse(ctx.conf.lakehouse)))
    return 0
