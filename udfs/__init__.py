"""pandas / ``predict_batch_udf`` UDFs that run models inside Spark executors.

Each module here loads its model once per Python worker and processes Arrow
batches (sentence embeddings, NER, ...); the library in ``leadlake/`` calls
them, jobs never do directly.
"""
