"""The Spark NLP engine: the exported encoder as a Spark NLP pipeline.

Where the Spark NLP jar is on the cluster (``--packages
com.johnsnowlabs.nlp:spark-nlp_2.13:<v>`` and ``pip install leadlake[nlp]``),
``BertSentenceEmbeddings.loadSavedModel`` imports the folder written by
``leadlake export-model`` (``model.onnx`` + ``assets/vocab.txt``) and the
embedding runs in the JVM: DocumentAssembler -> BertSentenceEmbeddings ->
EmbeddingsFinisher.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from leadlake.errors import EnvironmentProblem
from leadlake.text.encoders import EncoderSpec, local_export


def embed_with_spark_nlp(df: DataFrame, text: Column, out_col: str, spec: EncoderSpec) -> DataFrame:
    try:
        from pyspark.ml import Pipeline
        from sparknlp.annotator import BertSentenceEmbeddings
        from sparknlp.base import DocumentAssembler, EmbeddingsFinisher
    except ImportError:
        raise EnvironmentProblem("text.engine spark-nlp needs `pip install leadlake[nlp]`") from None
    folder = local_export(spec)
    if not (folder / "model.onnx").is_file():
        raise EnvironmentProblem(f"no exported model at {folder}; run `leadlake export-model` first")
    tmp_in, doc, emb, fin = "_nlp_text", "_nlp_document", "_nlp_sentence", "_nlp_vectors"
    bert = (
        BertSentenceEmbeddings.loadSavedModel(str(folder), df.sparkSession)
        .setInputCols([doc])
        .setOutputCol(emb)
        .setMaxSentenceLength(spec.max_seq_length)
        .setCaseSensitive(False)
        .setBatchSize(spec.model_batch())
    )
    pipeline = Pipeline(stages=[
        DocumentAssembler().setInputCol(tmp_in).setOutputCol(doc).setCleanupMode("shrink"),
        bert,
        EmbeddingsFinisher().setInputCols([emb]).setOutputCols([fin]).setOutputAsVector(False),
    ])
    staged = df.withColumn(tmp_in, F.coalesce(text, F.lit("")))
    out = pipeline.fit(staged).transform(staged)
    return out.withColumn(out_col, F.col(fin)[0].cast("array<float>")).drop(tmp_in, doc, emb, fin)
