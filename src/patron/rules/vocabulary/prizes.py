"""Instant prizes and raffles as a campaign writes them (``prize:``, ``raffle:``), and the
draws both make from the campaign's committed seed. Pure: the seed is handed in.

* ``prize: {every: N}``: the N-th, 2N-th, ... purchase that the campaign qualifies for wins
  (counted atomically by :mod:`patron.campaigns.repository`);
* ``prize: {probability: "0.05"}``: a purchase wins when its draw (:func:`prize_draw`) is
  below the probability in parts per million;
* ``raffle: {per_purchase: K}`` or ``raffle: {per_amount: "500.00"}``: each purchase the
  campaign applies to earns K entries, or one entry per whole 500.00 of its total;
  ``patron campaigns draw`` draws ``winners`` members with :func:`draw_winners`.

``docs/campaigns.md`` ("Instant prizes", "Raffles") states both algorithms for an auditor.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from patron.kit.strict import WHOLE, Strict
from patron.rules.vocabulary.base import MoneyAmount

PPM = 1_000_000
MAX_WINNERS = 1000
Positive = Annotated[int, WHOLE, Field(gt=0, le=1_000_000_000, strict=True)]
Probability = Annotated[
    Decimal, Field(gt=0, le=1, decimal_places=6, max_digits=7, allow_inf_nan=False)
]


class Prize(Strict):
    """Exactly one of ``every`` (every N-th qualifying purchase wins) and ``probability`` (each
    qualifying purchase wins with this probability, to the millionth)."""

    every: Positive | None = None
    probability: Probability | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.every is None) == (self.probability is None):
            raise ValueError("give exactly one of every, probability")
        return self

    @property
    def ppm(self) -> int:
        """The probability in parts per million (``0.05`` -> ``50000``)."""
        assert self.probability is not None
        return int(self.probability * PPM)


class RafflePrize(Strict):
    """What each winner of a raffle receives from Patron: exactly one of ``bonus_points``
    (points through the ledger), ``issue_reward`` (a coupon of that catalogue reward) and
    ``credit_wallet`` (money into the member's cashback wallet, in the program's currency)."""

    bonus_points: Positive | None = None
    issue_reward: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    credit_wallet: MoneyAmount | None = Field(None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [self.bonus_points, self.issue_reward, self.credit_wallet]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of bonus_points, issue_reward, credit_wallet")
        if self.credit_wallet is not None and self.credit_wallet <= 0:
            raise ValueError("credit_wallet: must be above 0")
        return self

    @property
    def kind(self) -> str:
        """``points``, ``coupon`` or ``wallet``."""
        if self.bonus_points is not None:
            return "points"
        return "coupon" if self.issue_reward is not None else "wallet"


Rank = Annotated[int, WHOLE, Field(gt=0, le=MAX_WINNERS, strict=True)]


class RankPrize(RafflePrize):
    """The prize of the winners drawn at ranks ``rank`` to ``to_rank`` (default ``rank``)."""

    rank: Rank
    to_rank: Rank | None = Field(None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _ranks(self) -> Self:
        if self.to_rank is not None and self.to_rank < self.rank:
            raise ValueError("to_rank: must be at least rank")
        return self

    @property
    def last(self) -> int:
        return self.rank if self.to_rank is None else self.to_rank


class Raffle(Strict):
    """Entries per purchase the campaign applies to: ``per_purchase`` entries, or one per whole
    ``per_amount`` of the purchase's total (exactly one of them); ``winners`` drawn by
    default; ``prize``: what each winner receives (none: the shop hands the prize over);
    ``prizes``: prizes by rank (``{rank: 1, bonus_points: 5000}``, ``{rank: 2, to_rank: 3,
    issue_reward: GIFT}``), ranks not overlapping; a rank none of them names gets ``prize``."""

    per_purchase: Positive | None = None
    per_amount: MoneyAmount | None = None
    winners: Annotated[int, WHOLE, Field(gt=0, le=MAX_WINNERS, strict=True)] = 1
    prize: RafflePrize | None = None
    prizes: Annotated[
        list[RankPrize],
        Field(default_factory=list, max_length=MAX_WINNERS, exclude_if=lambda v: not v),
    ]

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.per_purchase is None) == (self.per_amount is None):
            raise ValueError("give exactly one of per_purchase, per_amount")
        if self.per_amount is not None and self.per_amount <= 0:
            raise ValueError("per_amount: must be above 0")
        taken: dict[int, int] = {}
        for index, item in enumerate(self.prizes):
            for rank in range(item.rank, item.last + 1):
                if rank in taken:
                    raise ValueError(
                        f"prizes[{index}]: rank {rank} is given by prizes[{taken[rank]}] too"
                    )
                taken[rank] = index
        return self

    def prize_for(self, rank: int) -> RafflePrize | None:
        """The prize of the winner drawn at ``rank`` (1 the first): the ``prizes`` item whose
        ranks hold it, else ``prize``."""
        for item in self.prizes:
            if item.rank <= rank <= item.last:
                return item
        return self.prize

    @property
    def gives_prizes(self) -> bool:
        return self.prize is not None or bool(self.prizes)


def new_seed() -> str:
    """A fresh seed: 32 random bytes, as 64 lowercase hex digits."""
    return secrets.token_hex(32)


def seed_hash(seed: str) -> str:
    """The commitment shown before the draw: SHA-256 of the seed's hex text (ASCII)."""
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def _mac(seed: str, message: str) -> int:
    """HMAC-SHA256 keyed with the seed's 32 bytes over the UTF-8 message, as a 256-bit
    big-endian integer."""
    digest = hmac.new(bytes.fromhex(seed), message.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest, "big")


def prize_draw(seed: str, campaign_key: str, purchase_ref: str) -> int:
    """A purchase's draw in ``[0, 1_000_000)``: HMAC-SHA256(seed, ``<key>:<purchase external
    id>``) mod 1,000,000. It wins when the draw is below :attr:`Prize.ppm`."""
    return _mac(seed, f"{campaign_key}:{purchase_ref}") % PPM


def draw_winners(
    seed: str, campaign_key: str, tickets: Sequence[tuple[int, int]], winners: int
) -> list[int]:
    """The raffle's winners, in order of drawing: ``tickets`` are ``(member id, entries)``.

    Members are sorted by id. For draw ``i`` (1, 2, ...) the number
    ``r = HMAC-SHA256(seed, "<key>:raffle:<i>") mod R``, ``R`` the entries of the members not
    drawn yet, picks the member whose running total of entries (in id order, drawn members
    left out) first exceeds ``r``. A member wins at most once; fewer members than ``winners``
    all win."""
    pool = sorted((member, entries) for member, entries in tickets if entries > 0)
    chosen: list[int] = []
    for draw in range(1, winners + 1):
        remaining = sum(entries for _, entries in pool)
        if remaining == 0:
            break
        r = _mac(seed, f"{campaign_key}:raffle:{draw}") % remaining
        running = 0
        for index, (member, entries) in enumerate(pool):
            running += entries
            if running > r:
                chosen.append(member)
                del pool[index]
                break
    return chosen


def entries_digest(rows: Sequence[tuple[int, int, int]]) -> str:
    """The SHA-256 (hex) of the entry rows a draw counted, each ``(purchase id, member id,
    entries counted)``: UTF-8 lines ``<purchase id>:<member id>:<entries>\n`` in purchase id
    order."""
    text = "".join(f"{p}:{m}:{e}\n" for p, m, e in sorted(rows))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kept_entries(raffle: Raffle, earned: int, kept: int, per_amount_minor: int | None) -> int:
    """Entries a purchase keeps once part of it was returned, ``kept`` (minor units) being its
    total less its refunds: recomputed from the kept amount (``per_amount``), or all of
    ``per_purchase`` while anything is kept; never more than ``earned``."""
    if kept <= 0:
        return 0
    return min(earned, raffle_entries(raffle, kept, per_amount_minor))


def raffle_entries(raffle: Raffle, total: int, per_amount_minor: int | None) -> int:
    """Entries one purchase of ``total`` (minor units) earns: ``per_purchase``, or
    ``total // per_amount`` (both in minor units)."""
    if raffle.per_purchase is not None:
        return raffle.per_purchase
    assert per_amount_minor is not None
    assert per_amount_minor > 0
    return total // per_amount_minor
