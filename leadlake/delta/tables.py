"""Where a logical table name such as ``bronze.leads`` lives.

Jobs only ever name tables logically. Conf decides whether a name is a
directory under the lakehouse root (the default, and the only choice without
a metastore) or a metastore / Unity Catalog table on a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from leadlake import locations
from leadlake.config import Conf
from leadlake.errors import ConfError

LAYERS = ("bronze", "silver", "gold", "eval")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_CATALOG_NAME = re.compile(r"^[A-Za-z_`][\w`-]*(\.[A-Za-z_`][\w`-]*){1,2}$")


@dataclass(frozen=True)
class TableRef:
    """A resolved table: ``path`` for path-addressed tables, ``catalog_name`` otherwise."""

    name: str
    path: str | None = None
    catalog_name: str | None = None

    def __str__(self) -> str:
        return self.catalog_name or self.path or self.name


def resolve_table(conf: Conf, name: str) -> TableRef:
    """Resolve ``layer.table`` through conf; reject names and paths that leave the root."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfError(
            f"invalid table name {name!r}: use <layer>.<table> with letters, digits and "
            "underscores, e.g. bronze.leads"
        )
    override = (conf.get("tables") or {}).get(name) or {}
    if not isinstance(override, dict):
        raise ConfError(f"tables.{name} must be a mapping with 'path' or 'name'")
    if override.get("name"):
        return TableRef(name, catalog_name=_check_catalog_name(str(override["name"])))
    catalog = conf.get("catalog")
    if catalog and not override.get("path"):
        return TableRef(name, catalog_name=_check_catalog_name(f"{catalog}.{name}"))
    rel = str(override.get("path") or name.replace(".", "/"))
    try:
        return TableRef(name, path=locations.join(conf.lakehouse, rel))
    except ConfError as exc:
        raise ConfError(f"table {name}: {exc}") from None


def _check_catalog_name(name: str) -> str:
    if not _CATALOG_NAME.match(name):
        raise ConfError(f"invalid metastore table name {name!r}")
    return name


def delta_tables(root: str, storage: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(``layer.name``, location) of every Delta table under ``<root>/<layer>/``: what the lakehouse holds on
    disk, whatever conf names, for the jobs that look after all of it (``tables``, ``vacuum``)."""
    for layer in LAYERS:
        layer_uri = locations.join(root, layer)
        for name in locations.list_dirs(layer_uri, storage):
            uri = locations.join(layer_uri, name)
            if "_delta_log" in locations.list_dirs(uri, storage):
                yield f"{layer}.{name}", uri
