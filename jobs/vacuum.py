"""spark-submit entry point for `leadlake vacuum` (see `leadlake vacuum --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("vacuum")
