"""The ``referrals`` section of the program file: what each side of a referral gets, which
purchase qualifies, how long it must stand, and the velocity limit (docs/campaigns.md,
"Referrals")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from patron.programs.strict import Strict

Points = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class ReferralSide(Strict):
    """What one side gets when the referral is rewarded: ``points`` (a bonus entry) and/or a
    coupon for the catalogue reward ``reward`` (its code in ``rewards:``)."""

    points: Points = 0
    reward: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")] | None = None


class Referrals(Strict):
    """``min_purchase``: the least a referee's purchase must total to qualify (money, the
    program's currency); ``window_days``: days the qualifying purchase must stand (not
    returned) before both sides are rewarded (none: the purchase's own pending days, the
    return window of ``earning.pending_days``); ``max_per_day``: referrals by one referrer in
    24 hours beyond which a referral is flagged for review; ``link``: the referral link, with
    ``{code}`` for the member's code (none: ``$PATRON_PUBLIC_URL/join?ref={code}``)."""

    referrer: ReferralSide = ReferralSide()
    referee: ReferralSide = ReferralSide()
    min_purchase: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal(0)
    window_days: Annotated[int, Field(ge=0, le=365, strict=True)] | None = None
    max_per_day: Annotated[int, Field(ge=1, le=10_000, strict=True)] = 10
    link: (
        Annotated[
            str,
            Field(min_length=8, max_length=500, pattern=r"^https?://[^\s\x00]*\{code\}[^\s\x00]*$"),
        ]
        | None
    ) = None


def referral_problems(settings: Referrals | None, reward_codes: set[str]) -> list[str]:
    """``path: message`` for references of the section to other sections."""
    if settings is None:
        return []
    return [
        f"referrals.{side}.reward: {chosen.reward!r} is not a reward code"
        for side, chosen in (("referrer", settings.referrer), ("referee", settings.referee))
        if chosen.reward is not None and chosen.reward not in reward_codes
    ]
