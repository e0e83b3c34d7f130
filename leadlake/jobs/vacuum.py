"""``leadlake vacuum``: delete the data files no reader needs any more, table by table.

A writer killed between writing its Parquet files and committing leaves files
that no commit names. Readers never see them (a Delta reader lists the log,
not the folder); this job removes them, and the files that old versions
replaced, once they are older than the retention. Files the current version
names are never touched, and neither are files young enough to belong to a
writer still running.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from leadlake import locations
from leadlake.delta.source import open_table
from leadlake.delta.tables import delta_tables
from leadlake.errors import ConfError

MIN_RETENTION_HOURS = 1


@dataclass(frozen=True)
class VacuumResult:
    table: str
    version: int
    deleted: int


def vacuum_lakehouse(root: str, retention_hours: float, *, tables: list[str] | None = None,
                     dry_run: bool = False) -> list[VacuumResult]:
    """Vacuum every Delta table under ``<root>/<layer>/`` (or only ``tables``), with untracked files included."""
    if retention_hours < MIN_RETENTION_HOURS:
        raise ConfError(f"retention of {retention_hours:g} hours is below {MIN_RETENTION_HOURS}: files of a "
                        "writer still running could be deleted under it")
    root = locations.normalize_root(root)
    storage = locations.storage_options(root)
    wanted = set(tables or ())
    out = []
    for name, uri in delta_tables(root, storage):
        if wanted and name not in wanted:
            continue
        table = open_table(uri, storage=storage)
        deleted = table.vacuum(retention_hours=int(retention_hours), dry_run=dry_run,
                               enforce_retention_duration=False, full=True)
        out.append(VacuumResult(name, table.version(), len(deleted)))
    missing = wanted - {r.table for r in out}
    if missing:
        raise ConfError(f"no Delta table {', '.join(sorted(missing))} under {root}")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", action="append", default=[], metavar="LAYER.NAME",
                        help="vacuum only this table (repeatable; default every table)")
    parser.add_argument("--retention-hours", type=float, default=None,
                        help="keep files younger than this (default conf delta.vacuum_retention_hours)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")


def run(ctx, args: argparse.Namespace) -> int:
    hours = args.retention_hours if args.retention_hours is not None else float(
        ctx.conf.get("delta.vacuum_retention_hours"))
    results = vacuum_lakehouse(ctx.conf.lakehouse, hours, tables=args.table, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for r in results:
        print(f"{r.table:<28} v{r.version:<5} {verb} {r.deleted:,} files")
    print(f"{len(results)} tables, {verb} {sum(r.deleted for r in results):,} files older than {hours:g} hours")
    return 0
