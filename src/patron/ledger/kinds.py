"""Closed sets of values of the ledger (shared by the pure planner, the models and schemas)."""

from __future__ import annotations

from enum import StrEnum


class EntryKind(StrEnum):
    """Why a member's points changed; the sign of an entry's amount is given by the operation.

    - ``earn``, ``bonus``: credits (purchases, campaigns).
    - ``redeem``: a debit for a reward; a positive ``redeem`` entry is the refund of a cancelled
      coupon (it lowers ``redeemed``).
    - ``expire``: written off by the expiry job, one entry per lot.
    - ``reverse``: a debit that takes back an earning (a return).
    - ``adjust``: a manual correction in either direction (goodwill, support).
    - ``transfer``: points moved between members (either direction).
    - ``opening``: a balance carried over from the shop's previous program when a member is
      imported (a credit; its lot expires as the file says or by the program's rule). It counts
      in ``lifetime_earned`` but not as points the program issued (KPIs show it apart).
    """

    EARN = "earn"
    BONUS = "bonus"
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSE = "reverse"
    ADJUST = "adjust"
    TRANSFER = "transfer"
    OPENING = "opening"


class ShortfallPolicy(StrEnum):
    """What a debit does when the member has fewer available points than asked.

    - ``refuse``: raise :class:`~patron.ledger.errors.InsufficientPointsError`, change nothing.
    - ``debt``: take what is available and record the rest as debt (available goes negative).
    - ``cap``: take only what is available (the entry records what was asked in
      ``requested_amount``).
    """

    REFUSE = "refuse"
    DEBT = "debt"
    CAP = "cap"


class MovementReason(StrEnum):
    """Why a lot's ``remaining`` went down (recorded in ``lot_movements``)."""

    DEBIT = "debit"  # consumed by a debit entry (redeem, reverse, adjust, transfer)
    REPAY = "repay"  # repaid debt when the lot became available
    EXPIRE = "expire"  # written off by an expire entry


CREDIT_KINDS = frozenset(
    {EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST, EntryKind.TRANSFER, EntryKind.OPENING}
)
DEBIT_KINDS = frozenset({EntryKind.REDEEM, EntryKind.ADJUST, EntryKind.TRANSFER})
