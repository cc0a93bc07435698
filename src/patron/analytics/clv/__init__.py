"""Customer lifetime value: BG/NBD for repeat buying, Gamma-Gamma for spend, churn risk.

Typical use: :func:`summarise_purchases` on a purchase log, then :func:`fit_clv`.
"""

from patron.analytics.clv.bgnbd import (
    BgNbdFit,
    BgNbdParams,
    bgnbd_log_likelihood,
    bgnbd_log_likelihood_and_gradient,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
    purchase_growth,
)
from patron.analytics.clv.cdnow import (
    cdnow_calibration_summary,
    read_cdnow_sample,
    read_cdnow_summary,
    read_cdnow_summary_with_transactions,
)
from patron.analytics.clv.errors import ClvFitError, ClvInputError
from patron.analytics.clv.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    expected_average_spend,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood_and_gradient,
)
from patron.analytics.clv.lifetime_value import (
    HorizonPurchases,
    flag_at_risk,
    historic_value,
    horizon_purchases,
)
from patron.analytics.clv.pipeline import ClvResult, fit_clv
from patron.analytics.clv.summary import (
    CustomerSummary,
    PurchaseColumns,
    TimeUnit,
    summarise_purchases,
)

__all__ = [
    "BgNbdFit",
    "BgNbdParams",
    "ClvFitError",
    "ClvInputError",
    "ClvResult",
    "CustomerSummary",
    "GammaGammaFit",
    "GammaGammaParams",
    "HorizonPurchases",
    "PurchaseColumns",
    "TimeUnit",
    "bgnbd_log_likelihood",
    "bgnbd_log_likelihood_and_gradient",
    "cdnow_calibration_summary",
    "expected_average_spend",
    "expected_purchases",
    "fit_bgnbd",
    "fit_clv",
    "fit_gamma_gamma",
    "flag_at_risk",
    "gamma_gamma_log_likelihood_and_gradient",
    "historic_value",
    "horizon_purchases",
    "probability_alive",
    "purchase_growth",
    "read_cdnow_sample",
    "read_cdnow_summary",
    "read_cdnow_summary_with_transactions",
    "summarise_purchases",
]
