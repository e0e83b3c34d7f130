"""BERT sentence embeddings inside Spark executors, with ``predict_batch_udf``.

``predict_batch_udf`` calls ``make_predict_fn`` once per Python worker and
caches the result, so the model is loaded once per worker and reused for
every Arrow batch of texts. Texts arrive in chunks of ``chunk_texts``; the
encoder sorts each chunk by length and runs model batches of ``batch_size``,
so short texts are not padded to the length of long ones (fp16 on CUDA).
"""

from __future__ import annotations

import functools

import numpy as np
from pyspark.ml.functions import predict_batch_udf
from pyspark.sql import types as T

from leadlake.text.encoders import EncoderSpec, load_encoder


@functools.lru_cache(maxsize=8)
def embedding_udf(spec: EncoderSpec):
    """A column function: text (non-null strings) -> array<float> of the encoder's dimension.

    Empty strings (null texts, and the rows another encoder reads) skip the
    model and get zeros, which the caller turns into null.
    """

    def make_predict_fn():
        encode = load_encoder(spec)
        dimension: list[int] = []

        def predict(texts: np.ndarray) -> np.ndarray:
            texts = [str(t) for t in texts]
            present = [i for i, t in enumerate(texts) if t]
            if len(present) == len(texts):
                return encode(texts)
            if not dimension:
                dimension.append(encode(["."]).shape[1])
            out = np.zeros((len(texts), dimension[0]), dtype=np.float32)
            if present:
                out[present] = encode([texts[i] for i in present])
            return out

        return predict

    return predict_batch_udf(
        make_predict_fn,
        return_type=T.ArrayType(T.FloatType()),
        batch_size=spec.chunk_texts,
    )

