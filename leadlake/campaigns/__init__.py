"""Campaign audiences by uplift: whom a campaign changes, not who would buy anyway.

Notebook users call the library on their own DataFrames::

    from leadlake.campaigns import fit_uplift, qini
    model = fit_uplift(contacts, "treated", "responded", ["segment", "tier", "spend"])
    print(qini(model.transform(holdout), "treated", "responded", "uplift"))

The ``plan-campaign`` stage (:mod:`leadlake.campaigns.plan`) writes ``gold.campaign_audiences``.
"""

from leadlake.campaigns.qini import qini
from leadlake.campaigns.uplift import UpliftModel, fit_uplift

__all__ = ["UpliftModel", "fit_uplift", "qini"]
