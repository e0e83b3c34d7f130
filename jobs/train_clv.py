"""spark-submit entry point for `leadlake train-clv` (see `leadlake train-clv --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("train-clv")
