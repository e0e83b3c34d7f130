"""spark-submit entry point for `leadlake run` (see `leadlake run --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("run")
