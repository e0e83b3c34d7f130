"""spark-submit entry point for `leadlake train-leads` (see `leadlake train-leads --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("train-leads")
