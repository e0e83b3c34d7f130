"""spark-submit entry point for `leadlake report` (see `leadlake report --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("report")
