"""Where lead pipelines saved before ``leadlake.ml.stages`` existed look for their custom stages.

A saved Spark ML pipeline names each stage's class by its import path; models
registered by earlier versions say ``leadlake.leads.stages.ArrayToVector``,
so the names stay importable from here.
"""

from leadlake.ml.stages import ArrayToVector, PositiveProbability

__all__ = ["ArrayToVector", "PositiveProbability"]
