"""spark-submit entry point for `leadlake embed` (see `leadlake embed --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("embed")
