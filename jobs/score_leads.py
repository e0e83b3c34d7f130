"""spark-submit entry point for `leadlake score-leads` (see `leadlake score-leads --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("score-leads")
