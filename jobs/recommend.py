"""spark-submit entry point for `leadlake recommend` (see `leadlake recommend --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("recommend")
