"""spark-submit entry point for `leadlake score-clv` (see `leadlake score-clv --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("score-clv")
