"""Where ledger entries come from: one enum of sources, and the idempotency keys built from it.

The value of a source is the entry's ``source_type`` (and the ``source`` of ``ledger.credited``
and ``ledger.debited`` events); :meth:`LedgerSource.key` builds an idempotency key from the
source's key prefix and the parts that make the credit unique. The prefixes are the ones the
ledger has always used, so keys written before this enum existed still match.
"""

from __future__ import annotations

from enum import StrEnum


class LedgerSource(StrEnum):
    PURCHASE = "purchase"
    RETURN = "return"
    SURVEY = "survey_response"
    REVIEW = "review"
    GOODWILL = "ticket"
    COUPON = "coupon"
    OPENING = "opening"
    EXPIRY = "lot"
    ADJUSTMENT = "adjustment"  # a manual adjustment with a reason (the console)
    CAMPAIGN = "campaign"  # a campaign's bonus on a trigger other than a purchase
    REFERRAL = "referral"  # a referral's reward to either side (patron.referrals)
    PARTNER_EARN = "partner_earn"  # a purchase at a coalition partner (patron.partners)
    PARTNER_BURN = "partner_burn"  # points a partner accepted as payment (patron.partners)
    CHALLENGE = "challenge"  # a completed challenge's bonus (patron.challenges)

    @property
    def key_prefix(self) -> str:
        return _PREFIXES.get(self, self.value)

    def key(self, *parts: object) -> str:
        """The idempotency key ``<prefix>:<part>:<part>...``."""
        return ":".join([self.key_prefix, *(str(part) for part in parts)])


_PREFIXES = {LedgerSource.SURVEY: "survey", LedgerSource.GOODWILL: "goodwill"}
