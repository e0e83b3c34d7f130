"""The HTML report: what the lakehouse says, in one self-contained file for people who do not query tables."""

from leadlake.report.build import ReportResult, default_output, render, write_report

__all__ = ["ReportResult", "default_output", "render", "write_report"]
