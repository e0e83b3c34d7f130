"""leadlake: lead scoring, customer value and customer-needs jobs on a Delta lakehouse."""

__version__ = "0.1.0"
