"""Delta Lake I/O without the Delta jar: a Spark data source on delta-rs.

Kept import-light on purpose: Spark's Python workers import
:mod:`leadlake.delta.source` for every read and write task. Jobs use
:class:`leadlake.lakehouse.Lakehouse`, which picks delta-spark or this source.
"""
