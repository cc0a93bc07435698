"""Set-up for feedback tests through the real services: the seed program with surveys and
review settings, members (with a language and a tier), purchases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.models import Review, SurveyAnswer, SurveyInvitation, SurveyResponse
from patron.ledger import service as ledger_service
from patron.ledger.models import entries
from patron.members import service as member_service
from patron.members.models import Language, Member
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.segments.models import MemberSegment
from tests.conftest import SEED_PROGRAM

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

NPS_SURVEY: dict[str, Any] = {
    "key": "nps",
    "name": "How did we do?",
    "trigger": "after_purchase",
    "delay_days": 3,
    "valid_days": 14,
    "points": 50,
    "follow_up_detractors": True,
    "questions": [
        {
            "id": "nps",
            "kind": "nps",
            "text": {
                "ru": "Порекомендуете ли вы нас друзьям?",
                "pl": "Czy polecisz nas znajomym?",
                "en": "Would you recommend us to a friend?",
            },
        },
        {
            "id": "why",
            "kind": "text",
            "required": False,
            "text": {"ru": "Что улучшить?", "pl": "Co poprawić?", "en": "What could we improve?"},
        },
    ],
}
CSAT_SURVEY: dict[str, Any] = {
    "key": "csat",
    "name": "Support",
    "trigger": "ticket_resolved",
    "questions": [
        {"id": "csat", "kind": "csat", "text": {"en": "How satisfied are you?"}},
        {"id": "ces", "kind": "ces", "text": {"en": "How easy was it?"}},
    ],
}
REVIEWS: dict[str, Any] = {"points": 20, "max_rewarded": 2, "cap_period": "month"}


def program_text(
    surveys: list[dict[str, Any]] | None = None, reviews: dict[str, Any] | None = None
) -> str:
    """The seed program with the test surveys and review settings."""
    document = yaml.safe_load(SEED_PROGRAM.read_text(encoding="utf-8"))
    document["surveys"] = [NPS_SURVEY, CSAT_SURVEY] if surveys is None else surveys
    document["reviews"] = REVIEWS if reviews is None else reviews
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


async def apply_program(session: AsyncSession, *, text: str | None = None) -> ActiveProgram:
    await program_service.apply_program(
        session, text=text or program_text(), created_by="tests", now=NOW
    )
    return await program_service.get_active_program(session)


async def enrol(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    external_id: str,
    language: Language | None = None,
    tier: str | None = None,
) -> int:
    """A member with an open account. The tier is set directly on the row (the tier rules
    are tested elsewhere; here it only labels the member)."""
    member = await member_service.enrol_member(
        session,
        program_id=active.program_id,
        data=MemberCreate(external_id=external_id, language=language),
        now=NOW,
    )
    await ledger_service.open_account(session, member_id=member.id, now=NOW)
    if tier is not None:
        await session.execute(update(Member).where(Member.id == member.id).values(tier_id=tier))
    return member.id


async def buy(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    external_id: str,
    at: datetime,
    store: str | None = "msk-1",
) -> int:
    recorded = await record_purchase(
        session,
        active=active,
        data=PurchaseCreate(
            external_id=external_id,
            member_id=member_id,
            occurred_at=at,
            currency="RUB",
            total="100.00",
            lines=[{"sku": "TEA-1", "quantity": 1, "unit_price": "100.00"}],  # type: ignore[list-item]
            store=store,
        ),
        now=at,
    )
    return recorded.purchase.id


async def available(session: AsyncSession, member_id: int, now: datetime = NOW) -> int:
    balance = await ledger_service.balance(session, member_id=member_id, now=now)
    return balance.available


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows of every feedback table and of ledger entries (for 'nothing changed' checks)."""
    result = {}
    for name, table in (
        ("invitations", SurveyInvitation),
        ("responses", SurveyResponse),
        ("answers", SurveyAnswer),
        ("reviews", Review),
    ):
        result[name] = int(
            (await session.execute(select(func.count()).select_from(table))).scalar_one()
        )
    result["entries"] = int(
        (await session.execute(select(func.count()).select_from(entries))).scalar_one()
    )
    return result


def segment_row(member_id: int, program_id: int, name: str) -> MemberSegment:
    """A stored RFM segment row (the refresh job is tested in tests/segments)."""
    return MemberSegment(
        member_id=member_id, program_id=program_id, currency="RUB", recency_days=1, frequency=1,
        monetary=100, recency_score=5, frequency_score=1, monetary_score=1, rfm_segment=name,
        is_high_value=False, is_regular=False, is_category_lover=False, horizon_days=365,
        is_at_risk=False, computed_at=NOW,
    )  # fmt: skip
