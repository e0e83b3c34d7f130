"""spark-submit entry point for `leadlake feedback` (see `leadlake feedback --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("feedback")
