"""spark-submit entry point for `leadlake discover-leads` (see `leadlake discover-leads --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("discover-leads")
