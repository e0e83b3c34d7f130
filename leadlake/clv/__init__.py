"""Customer lifetime value: the BTYD library API, and the CLV / churn jobs built on it.

``from leadlake.clv import rfm_summary, fit_bgnbd, fit_gamma_gamma`` is the
library surface (see ``btyd.py``); ``orders.py``, ``features.py``,
``model.py``, ``training.py`` and ``scoring.py`` are the ``train-clv`` and
``score-clv`` jobs' stages.
"""

from leadlake.clv.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    discounted_clv,
    fit_bgnbd,
    fit_gamma_gamma,
    rfm_summary,
)

__all__ = ["BetaGeoModel", "GammaGammaModel", "discounted_clv", "fit_bgnbd", "fit_gamma_gamma", "rfm_summary"]
