"""Job glue: each module adds its CLI arguments and runs one job on a JobContext.

``jobs/<name>.py`` (spark-submit) and ``leadlake <name>`` both land here; the
work itself lives in the library modules these call.
"""
