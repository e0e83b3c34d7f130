"""spark-submit entry point for `leadlake write-briefs` (see `leadlake write-briefs --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("write-briefs")
