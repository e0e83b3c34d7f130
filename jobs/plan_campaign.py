"""spark-submit entry point for `leadlake plan-campaign` (see `leadlake plan-campaign --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("plan-campaign")
