"""spark-submit entry point for `leadlake tables` (see `leadlake tables --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("tables")
