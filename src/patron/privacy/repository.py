"""All queries of the privacy use cases: every row Patron holds about one member, and the
updates that remove the person's data from them.

The export reads whole rows through SQLAlchemy Core (every column, as the database holds it),
so that a column added to one of these tables is exported without a change here;
``tests/privacy`` walks the schema and fails when a table that refers to a member is missing
from :data:`MEMBER_SECTIONS` or :data:`CHILD_SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import (
    CampaignApplication,
    CampaignAward,
    CampaignMemberUsage,
    CustomEvent,
    RaffleEntry,
)
from patron.challenges.models import ChallengeProgress, ChallengeStep, MemberBadge
from patron.feedback.models import (
    Review,
    ReviewReply,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
    TicketAnalysis,
)
from patron.kit.outbox import OutboxEvent
from patron.ledger.models import Account, ExpiryNotice, LedgerEntry, Lot, LotMovement
from patron.members.models import (
    ConsentEvent,
    Member,
    MemberConsent,
    MemberFlag,
    PortalLink,
    PortalSession,
)
from patron.notifications.models import Message
from patron.purchases.models import Purchase, PurchaseLine, PurchaseReturn, RuleUsage
from patron.referrals.models import MemberFingerprint, Referral, ReferralVisit
from patron.rewards.models import Coupon
from patron.segments.models import MemberSegment
from patron.support.models import GoodwillCredit, Ticket, TicketEvent, TicketMessage
from patron.support.states import AuthorKind
from patron.tiers.models import TierChange
from patron.wallet.models import Wallet, WalletEntry, WalletHold

Row = dict[str, Any]

# export section -> table, for the tables with the member's id in ``member_id``
MEMBER_SECTIONS: dict[str, Table] = {
    "consents": MemberConsent.__table__,  # type: ignore[dict-item]
    "consent_history": ConsentEvent.__table__,  # type: ignore[dict-item]
    "account": Account.__table__,  # type: ignore[dict-item]
    "ledger": LedgerEntry.__table__,  # type: ignore[dict-item]
    "lots": Lot.__table__,  # type: ignore[dict-item]
    "lot_movements": LotMovement.__table__,  # type: ignore[dict-item]
    "expiry_notices": ExpiryNotice.__table__,  # type: ignore[dict-item]
    "purchases": Purchase.__table__,  # type: ignore[dict-item]
    "purchase_lines": PurchaseLine.__table__,  # type: ignore[dict-item]
    "returns": PurchaseReturn.__table__,  # type: ignore[dict-item]
    "rule_usages": RuleUsage.__table__,  # type: ignore[dict-item]
    "campaign_usages": CampaignMemberUsage.__table__,  # type: ignore[dict-item]
    "campaign_applications": CampaignApplication.__table__,  # type: ignore[dict-item]
    "campaign_awards": CampaignAward.__table__,  # type: ignore[dict-item]
    "custom_events": CustomEvent.__table__,  # type: ignore[dict-item]
    "coupons": Coupon.__table__,  # type: ignore[dict-item]
    "tier_history": TierChange.__table__,  # type: ignore[dict-item]
    "tickets": Ticket.__table__,  # type: ignore[dict-item]
    "goodwill": GoodwillCredit.__table__,  # type: ignore[dict-item]
    "reviews": Review.__table__,  # type: ignore[dict-item]
    "survey_invitations": SurveyInvitation.__table__,  # type: ignore[dict-item]
    "survey_responses": SurveyResponse.__table__,  # type: ignore[dict-item]
    "survey_answers": SurveyAnswer.__table__,  # type: ignore[dict-item]
    "segments": MemberSegment.__table__,  # type: ignore[dict-item]
    "events": OutboxEvent.__table__,  # type: ignore[dict-item]
    "messages": Message.__table__,  # type: ignore[dict-item]
    "portal_links": PortalLink.__table__,  # type: ignore[dict-item]
    "portal_sessions": PortalSession.__table__,  # type: ignore[dict-item]
    "fingerprints": MemberFingerprint.__table__,  # type: ignore[dict-item]
    "wallets": Wallet.__table__,  # type: ignore[dict-item]
    "wallet_entries": WalletEntry.__table__,  # type: ignore[dict-item]
    "wallet_holds": WalletHold.__table__,  # type: ignore[dict-item]
    "flags": MemberFlag.__table__,  # type: ignore[dict-item]
    "raffle_entries": RaffleEntry.__table__,  # type: ignore[dict-item]
    "challenge_progress": ChallengeProgress.__table__,  # type: ignore[dict-item]
    "challenge_steps": ChallengeStep.__table__,  # type: ignore[dict-item]
    "badges": MemberBadge.__table__,  # type: ignore[dict-item]
    "referral_visits": ReferralVisit.__table__,  # type: ignore[dict-item]
}
# export section -> (table, its column naming the parent, the parent's section): rows that
# belong to the member through one of the member's tickets or reviews
CHILD_SECTIONS: dict[str, tuple[Table, str, str]] = {
    "ticket_messages": (TicketMessage.__table__, "ticket_id", "tickets"),  # type: ignore[dict-item]
    "ticket_events": (TicketEvent.__table__, "ticket_id", "tickets"),  # type: ignore[dict-item]
    "ticket_analyses": (TicketAnalysis.__table__, "ticket_id", "tickets"),  # type: ignore[dict-item]
    "review_replies": (ReviewReply.__table__, "review_id", "reviews"),  # type: ignore[dict-item]
}


# export section -> a table whose rows name the member in another column than member_id
REFERRAL_SECTIONS: dict[str, Table] = {"referrals": Referral.__table__}  # type: ignore[dict-item]


def plain(value: Any) -> Any:
    """A column value as JSON holds it: times in ISO 8601 UTC with ``Z`` (as the API writes
    them), dates in ISO 8601, enums by value."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_member(self, member_id: int) -> Member | None:
        query = select(Member).where(Member.id == member_id).with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def member_row(self, member_id: int) -> Row | None:
        table: Table = Member.__table__  # type: ignore[assignment]
        rows = await self._rows(table, table.c.id, [member_id])
        return rows[0] if rows else None

    async def sections(self, member_id: int) -> dict[str, list[Row]]:
        """Every row of :data:`MEMBER_SECTIONS` and :data:`CHILD_SECTIONS` of the member, each
        section in id order (``ticket_analyses`` in ticket order)."""
        found: dict[str, list[Row]] = {}
        for name, table in MEMBER_SECTIONS.items():
            found[name] = await self._rows(table, table.c.member_id, [member_id])
        for name, (table, column, parent) in CHILD_SECTIONS.items():
            parent_ids = [row["id"] for row in found[parent]]
            found[name] = await self._rows(table, table.c[column], parent_ids)
        found["referrals"] = await self._referrals(member_id)
        return found

    async def _referrals(self, member_id: int) -> list[Row]:
        """The referrals the member made or was made by (one row may be both: a
        self-referral)."""
        query = (
            select(Referral.__table__)
            .where((Referral.referrer_id == member_id) | (Referral.referee_id == member_id))
            .order_by(Referral.id)
        )
        result = await self.session.execute(query)
        return [
            {key: plain(value) for key, value in row.items()} for row in result.mappings().all()
        ]

    async def delete_fingerprints(self, member_id: int) -> None:
        await self.session.execute(
            delete(MemberFingerprint).where(MemberFingerprint.member_id == member_id)
        )

    async def _rows(self, table: Table, column: Any, values: Sequence[int]) -> list[Row]:
        if not values:
            return []
        order = table.c.id if "id" in table.c else table.primary_key.columns.values()[0]
        query = select(table).where(column.in_(values)).order_by(order)
        result = await self.session.execute(query)
        return [
            {key: plain(value) for key, value in row.items()} for row in result.mappings().all()
        ]

    async def erase_texts(self, member_id: int, marker: str) -> None:
        """Remove the person's words and contact details from every table but ``members``
        (see :mod:`patron.privacy.service` for the list)."""
        tickets = await self._ids(Ticket.id, Ticket.member_id == member_id)
        reviews = await self._ids(Review.id, Review.member_id == member_id)
        changes: list[tuple[Any, Any, dict[str, Any]]] = [
            (Ticket, Ticket.id.in_(tickets), {"contact": None, "subject": "", "text": ""}),
            (TicketMessage, TicketMessage.ticket_id.in_(tickets), {"text": ""}),
            (
                TicketMessage,
                TicketMessage.ticket_id.in_(tickets)
                & (TicketMessage.author_kind == AuthorKind.MEMBER),
                {"author": marker},
            ),
            (TicketAnalysis, TicketAnalysis.ticket_id.in_(tickets), {"keywords": []}),
            (Review, Review.id.in_(reviews), {"text": "", "keywords": []}),
            (ReviewReply, ReviewReply.review_id.in_(reviews), {"text": ""}),
            (SurveyAnswer, SurveyAnswer.member_id == member_id, {"text": None, "keywords": []}),
            (PurchaseReturn, PurchaseReturn.member_id == member_id, {"reason": ""}),
            (GoodwillCredit, GoodwillCredit.member_id == member_id, {"reason": ""}),
            (CustomEvent, CustomEvent.member_id == member_id, {"attributes": {}}),
            (MemberConsent, MemberConsent.member_id == member_id, {"source": marker}),
            (ConsentEvent, ConsentEvent.member_id == member_id, {"source": marker}),
        ]
        for model, where, values in changes:
            await self.session.execute(update(model).where(where).values(**values))

    async def erase_event_payloads(self, member_id: int, external_id: str, marker: str) -> None:
        """Payloads of the member's events name the member by the shop's ``external_id`` (which
        may be a phone number or an email); it becomes ``marker`` there, as in ``members``.
        Payloads hold no other personal data (a rule of ``docs/events.md``)."""
        query = select(OutboxEvent.id, OutboxEvent.payload).where(
            OutboxEvent.member_id == member_id
        )
        for event_id, payload in (await self.session.execute(query)).all():
            cleaned = {
                key: marker if value == external_id else value for key, value in payload.items()
            }
            if cleaned != payload:
                await self.session.execute(
                    update(OutboxEvent).where(OutboxEvent.id == event_id).values(payload=cleaned)
                )

    async def _ids(self, column: Any, where: Any) -> list[int]:
        return list((await self.session.execute(select(column).where(where))).scalars())

    async def entries_with_meta(self, member_id: int, source_type: str) -> list[tuple[int, Row]]:
        query = select(LedgerEntry.id, LedgerEntry.meta).where(
            LedgerEntry.member_id == member_id, LedgerEntry.source_type == source_type
        )
        return [(row[0], dict(row[1] or {})) for row in await self.session.execute(query)]

    async def set_entry_text(self, entry_id: int, description: str, meta: Row) -> None:
        await self.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id == entry_id)
            .values(description=description, meta=meta)
        )

    async def granted_consents(self, member_id: int) -> list[MemberConsent]:
        query = select(MemberConsent).where(
            MemberConsent.member_id == member_id, MemberConsent.is_granted.is_(True)
        )
        return list((await self.session.execute(query)).scalars())

    async def add_all(self, rows: Sequence[object]) -> None:
        self.session.add_all(rows)
        await self.session.flush()
