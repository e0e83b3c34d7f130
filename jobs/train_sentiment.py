"""spark-submit entry point for `leadlake train-sentiment` (see `leadlake train-sentiment --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("train-sentiment")
