"""The BTYD baseline as a Spark ML stage, so the CLV pipelines carry it.

``BuyTillYouDie`` fits BG/NBD and Gamma-Gamma on the training customers'
(frequency, recency, T, monetary_value) and the fitted model adds
``p_alive``, ``p_no_purchase`` and ``expected_purchases`` (in the horizon),
``expected_spend`` (per purchase) and ``clv_btyd`` (discounted). The trees downstream learn from
those columns, and a saved pipeline scores with exactly the BTYD parameters
it was trained beside (they are stage params, saved with the pipeline).
"""

from __future__ import annotations

import pandas as pd
from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from leadlake.clv.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    discounted_clv,
    fit_bgnbd,
    fit_gamma_gamma,
    periods_per_month,
)

OUTPUTS = ("p_alive", "p_no_purchase", "expected_purchases", "expected_spend", "clv_btyd")
BG_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "v")


class _HorizonParams(Params):
    horizonMonths = Param(Params._dummy(), "horizonMonths", "months ahead", typeConverter=TypeConverters.toInt)
    monthlyDiscount = Param(Params._dummy(), "monthlyDiscount", "discount rate per month",
                            typeConverter=TypeConverters.toFloat)
    timeUnit = Param(Params._dummy(), "timeUnit", "unit of recency and T: D, W or M",
                     typeConverter=TypeConverters.toString)

    def _horizon_defaults(self) -> None:
        self._setDefault(horizonMonths=12, monthlyDiscount=0.0, timeUnit="W")


class BuyTillYouDie(Estimator, _HorizonParams, DefaultParamsReadable, DefaultParamsWritable):
    """Estimator: BG/NBD + Gamma-Gamma by maximum likelihood on the dataset's distinct triples."""

    @keyword_only
    def __init__(self, *, horizonMonths: int = 12, monthlyDiscount: float = 0.0, timeUnit: str = "W") -> None:
        super().__init__()
        self._horizon_defaults()
        self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> BuyTillYouDieModel:
        bg, gg = fit_bgnbd(dataset), fit_gamma_gamma(dataset)
        model = BuyTillYouDieModel(**bg.params, **gg.params)
        return self._copyValues(model)


class BuyTillYouDieModel(Model, _HorizonParams, DefaultParamsReadable, DefaultParamsWritable):
    """The fitted baseline; its parameters are saved with the pipeline."""

    r = Param(Params._dummy(), "r", "BG/NBD r", typeConverter=TypeConverters.toFloat)
    alpha = Param(Params._dummy(), "alpha", "BG/NBD alpha", typeConverter=TypeConverters.toFloat)
    a = Param(Params._dummy(), "a", "BG/NBD a", typeConverter=TypeConverters.toFloat)
    b = Param(Params._dummy(), "b", "BG/NBD b", typeConverter=TypeConverters.toFloat)
    p = Param(Params._dummy(), "p", "Gamma-Gamma p", typeConverter=TypeConverters.toFloat)
    q = Param(Params._dummy(), "q", "Gamma-Gamma q", typeConverter=TypeConverters.toFloat)
    v = Param(Params._dummy(), "v", "Gamma-Gamma v", typeConverter=TypeConverters.toFloat)

    @keyword_only
    def __init__(self, *, r: float = 1.0, alpha: float = 1.0, a: float = 1.0, b: float = 1.0, p: float = 1.0,
                 q: float = 2.0, v: float = 1.0, horizonMonths: int = 12, monthlyDiscount: float = 0.0,
                 timeUnit: str = "W") -> None:
        super().__init__()
        self._horizon_defaults()
        self._set(**self._input_kwargs)

    @property
    def params_dict(self) -> dict[str, float]:
        return {k: float(self.getOrDefault(k)) for k in (*BG_PARAMS, *GG_PARAMS)}

    def models(self) -> tuple[BetaGeoModel, GammaGammaModel]:
        v = self.params_dict
        return (BetaGeoModel(v["r"], v["alpha"], v["a"], v["b"], 0), GammaGammaModel(v["p"], v["q"], v["v"], 0))

    def _transform(self, dataset: DataFrame) -> DataFrame:
        bg, gg = self.models()
        months = int(self.getOrDefault(self.horizonMonths))
        discount = float(self.getOrDefault(self.monthlyDiscount))
        unit = str(self.getOrDefault(self.timeUnit))
        horizon = months * periods_per_month(unit)

        @pandas_udf(", ".join(f"{c} double" for c in OUTPUTS))
        def predict(x: pd.Series, t_x: pd.Series, t: pd.Series, m: pd.Series) -> pd.DataFrame:
            m = m.fillna(0.0)
            return pd.DataFrame({"p_alive": bg.p_alive(x, t_x, t),
                                 "p_no_purchase": bg.p_no_purchase(horizon, x, t_x, t),
                                 "expected_purchases": bg.expected_purchases(horizon, x, t_x, t),
                                 "expected_spend": gg.expected_spend(x, m),
                                 "clv_btyd": discounted_clv(bg, gg, months, discount, unit, x, t_x, t, m)})

        out = dataset.withColumn("_btyd", predict("frequency", "recency", "T", "monetary_value"))
        return out.select("*", *[F.col(f"_btyd.{c}").alias(c) for c in OUTPUTS]).drop("_btyd")
