"""spark-submit entry point for `leadlake demo-data` (see `leadlake demo-data --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("demo-data")
