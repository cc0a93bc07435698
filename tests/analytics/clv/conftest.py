"""The CDNOW reference data (Fader, Hardie & Lee 2005) from the shared data directory."""

from __future__ import annotations

import pytest

from patron.analytics.clv import (
    CustomerSummary,
    cdnow_calibration_summary,
    read_cdnow_sample,
    read_cdnow_summary,
    read_cdnow_summary_with_transactions,
)
from tests.analytics.clv.data import DATA


@pytest.fixture(scope="session")
def cdnow_summary() -> CustomerSummary:
    return read_cdnow_summary(DATA / "cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_spend_summary() -> CustomerSummary:
    return read_cdnow_summary_with_transactions(
        DATA / "cdnow_customers_summary_with_transactions.csv"
    )


@pytest.fixture(scope="session")
def cdnow_raw_summary() -> CustomerSummary:
    """Our own summary step on the raw purchase log of the sample (calibration weeks 1-39)."""
    return cdnow_calibration_summary(read_cdnow_sample(DATA / "CDNOW_sample.txt"))
