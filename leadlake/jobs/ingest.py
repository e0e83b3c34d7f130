"""``leadlake ingest``: validate a CRM export and load it into a bronze table."""

from __future__ import annotations

import argparse

from leadlake.config import Conf
from leadlake.contracts import load_contracts
from leadlake.errors import ConfError
from leadlake.ingest import FORMATS, check_export, ingest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, help="bronze table to load, e.g. leads (see conf/contracts.yaml)")
    parser.add_argument("--input", required=True, help="file or directory of the export")
    parser.add_argument("--format", required=True, choices=FORMATS, help="format of the export")
    parser.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                        help="rename an export column to a contract column (repeatable)")
    parser.add_argument("--encoding", default="UTF-8", help="text encoding of CSV/JSON input (default UTF-8)")
    parser.add_argument("--delimiter", default=",", help="CSV field delimiter (default ,)")


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise ConfError(f"--map expects SRC=DST, got {pair!r}")
        mapping[src.strip()] = dst.strip()
    return mapping


def preflight(conf: Conf, args: argparse.Namespace) -> None:
    contracts = load_contracts(conf)
    if args.table.removeprefix("bronze.") not in contracts:
        raise ConfError(f"--table {args.table}: no data contract; known: {', '.join(sorted(contracts))}")
    parse_mapping(args.map)
    check_export(args.input, args.format, encoding=args.encoding, delimiter=args.delimiter)


def run(ctx, args: argparse.Namespace) -> int:
    table = args.table.removeprefix("bronze.")
    report = ingest(ctx.lakehouse, table, args.input, args.format, mapping=parse_mapping(args.map),
                    encoding=args.encoding, delimiter=args.delimiter)
    print(report)
    return 0
