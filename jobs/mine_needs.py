"""spark-submit entry point for `leadlake mine-needs` (see `leadlake mine-needs --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("mine-needs")
