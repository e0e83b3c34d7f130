"""Custom Spark ML stages the model pipelines need, in pyspark.ml's own idiom.

Every domain's pipeline uses them. Both are plain column expressions wrapped
as ``Transformer``s so that a fitted ``PipelineModel`` holding them saves,
loads and scores like any other.
"""

from __future__ import annotations

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


class ArrayToVector(Transformer, HasInputCol, HasOutputCol, DefaultParamsReadable, DefaultParamsWritable):
    """array<float> -> ML vector of a fixed size; a null array (a lead that wrote nothing) becomes zeros."""

    size = Param(Params._dummy(), "size", "vector size", typeConverter=TypeConverters.toInt)

    @keyword_only
    def __init__(self, *, inputCol: str | None = None, outputCol: str | None = None, size: int = 0) -> None:
        super().__init__()
        self._setDefault(size=0)
        self._set(**self._input_kwargs)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        col = F.col(self.getInputCol())
        zeros = F.array_repeat(F.lit(0.0).cast("float"), self.getOrDefault(self.size))
        return dataset.withColumn(self.getOutputCol(), array_to_vector(F.coalesce(col, zeros)))


class PositiveProbability(Transformer, HasInputCol, HasOutputCol, DefaultParamsReadable, DefaultParamsWritable):
    """The probability of class 1 from a classifier's probability vector, as a double column."""

    @keyword_only
    def __init__(self, *, inputCol: str | None = None, outputCol: str | None = None) -> None:
        super().__init__()
        self._set(**self._input_kwargs)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        return dataset.withColumn(self.getOutputCol(), vector_to_array(self.getInputCol()).getItem(1))
