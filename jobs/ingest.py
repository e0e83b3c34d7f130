"""spark-submit entry point for `leadlake ingest` (see `leadlake ingest --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("ingest")
