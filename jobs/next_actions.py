"""spark-submit entry point for `leadlake next-actions` (see `leadlake next-actions --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("next-actions")
