"""spark-submit entry point for `leadlake export-model` (see `leadlake export-model --help`)."""

from leadlake.cli import job_entry

if __name__ == "__main__":
    job_entry("export-model")
