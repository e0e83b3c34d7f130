"""spark-submit entry point for `leadlake answer-questions` (see `leadlake answer-questions --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("answer-questions")
