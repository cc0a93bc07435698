from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.kit import ids
from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.members import blocking, service
from patron.members.errors import MemberBlockedError, MemberNotFoundError
from patron.members.models import ConsentEvent, Member, MemberConsent
from patron.members.schemas import (
    ConsentChannel,
    Language,
    MemberCreate,
    MemberStatus,
    MemberUpdate,
)
from patron.members.schemas import Member as MemberRead
from tests.members.conftest import NOW, make_program

LATER = NOW + timedelta(hours=1)
ANNA: dict[str, Any] = {
    "external_id": "C-1001",
    "name": "Anna Kowalska",
    "email": "anna@example.pl",
    "phone": "+48 601 234 567",
    "birth_date": "1990-05-17",
    "language": "pl",
    "attributes": {"city": "Warsaw"},
    "consents": {"sms": False, "email": True},
}


async def enrol(database: Database, program_id: int, body: dict[str, Any]) -> MemberRead:
    async with database.write() as session:
        return await service.enrol_member(
            session, program_id=program_id, data=MemberCreate.model_validate(body), now=NOW
        )


async def count(database: Database, model: type[Any]) -> int:
    async with database.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_enrol_stores_the_member_and_consents(database: Database, program_id: int) -> None:
    member = await enrol(database, program_id, ANNA)
    assert member.model_dump(exclude={"id", "referral_code", "consents"}) == {
        "program_id": program_id,
        "external_id": "C-1001",
        "name": "Anna Kowalska",
        "email": "anna@example.pl",
        "phone": "+48601234567",
        "birth_date": date(1990, 5, 17),
        "language": Language.PL,
        "attributes": {"city": "Warsaw"},
        "status": MemberStatus.ACTIVE,
        "blocked_reason": None,
        "tier_id": None,
        "tier_since": None,
        "tier_until": None,
        "enrolled_at": NOW,
        "updated_at": NOW,
        "erased_at": None,
        "flagged_at": None,
    }
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", member.referral_code)
    assert [
        (c.channel, c.is_granted, c.granted_at, c.revoked_at, c.source) for c in member.consents
    ] == [
        (ConsentChannel.EMAIL, True, NOW, None, "enrolment"),
        (ConsentChannel.SMS, False, None, NOW, "enrolment"),
    ]
    async with database.read() as session:
        read = await service.get_member(session, member_id=member.id)
        by_external_id = await service.get_member_by_external_id(
            session, program_id=program_id, external_id="C-1001"
        )
        history = await service.consent_history(session, member_id=member.id)
    assert read == member == by_external_id
    assert [(e.channel, e.is_granted, e.source, e.occurred_at) for e in history] == [
        (ConsentChannel.EMAIL, True, "enrolment", NOW),
        (ConsentChannel.SMS, False, "enrolment", NOW),
    ]


async def test_the_same_body_again_returns_the_same_member(
    database: Database, program_id: int
) -> None:
    first = await enrol(database, program_id, ANNA)
    again = await enrol(database, program_id, ANNA)
    spelled_differently = await enrol(
        database, program_id, {**ANNA, "email": "anna@EXAMPLE.pl", "phone": "+48-601-234-567"}
    )
    assert again == first
    assert spelled_differently == first
    assert await count(database, Member) == 1
    assert await count(database, ConsentEvent) == 2


async def test_a_retry_after_an_update_still_returns_the_member(
    database: Database, program_id: int
) -> None:
    first = await enrol(database, program_id, ANNA)
    async with database.write() as session:
        await service.update_member(
            session, member_id=first.id, data=MemberUpdate(name="Anna K."), now=LATER
        )
    again = await enrol(database, program_id, ANNA)
    assert (again.id, again.name) == (first.id, "Anna K.")


async def test_a_different_body_with_the_same_external_id_conflicts(
    database: Database, program_id: int
) -> None:
    first = await enrol(database, program_id, ANNA)
    with pytest.raises(IdempotencyConflictError) as caught:
        await enrol(database, program_id, {**ANNA, "name": "Someone Else"})
    assert (caught.value.code, caught.value.status, caught.value.field) == (
        "idempotency_conflict",
        409,
        "external_id",
    )
    assert caught.value.message == "a member with external_id 'C-1001' was enrolled with other data"
    async with database.read() as session:
        assert await service.get_member(session, member_id=first.id) == first
    assert await count(database, Member) == 1
    assert await count(database, ConsentEvent) == 2


async def test_external_ids_are_per_program(database: Database, program_id: int) -> None:
    other_program = await make_program(database, "partner-shop")
    here = await enrol(database, program_id, ANNA)
    there = await enrol(database, other_program, {**ANNA, "name": "Anna in another shop"})
    assert here.id != there.id
    assert (there.program_id, there.name) == (other_program, "Anna in another shop")
    assert here.referral_code != there.referral_code


async def test_concurrent_enrolments_of_one_customer_give_one_member(
    database: Database, program_id: int
) -> None:
    members = await asyncio.gather(*(enrol(database, program_id, ANNA) for _ in range(4)))
    assert len({member.id for member in members}) == 1
    assert await count(database, Member) == 1
    assert await count(database, MemberConsent) == 2


@pytest.fixture
def codes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Referral codes to hand out in order, instead of random ones."""
    queue: list[str] = []
    monkeypatch.setattr(ids, "random_code", lambda length=10, prefix="": queue.pop(0))
    return queue


async def test_a_referral_code_collision_draws_again(
    database: Database, program_id: int, codes: list[str]
) -> None:
    codes.extend(["AAAA2222", "AAAA2222", "AAAA2222", "BBBB3333"])
    first = await enrol(database, program_id, {"external_id": "one"})
    second = await enrol(database, program_id, {"external_id": "two"})
    assert (first.referral_code, second.referral_code) == ("AAAA2222", "BBBB3333")
    assert codes == []


async def test_enrolment_gives_up_after_five_collisions(
    database: Database, program_id: int, codes: list[str]
) -> None:
    codes.extend(["AAAA2222"] * 6)
    await enrol(database, program_id, {"external_id": "one"})
    with pytest.raises(RuntimeError, match="no free referral code after 5 attempts"):
        await enrol(database, program_id, {"external_id": "two"})
    assert await count(database, Member) == 1


async def test_unknown_members(database: Database, program_id: int) -> None:
    async with database.read() as session:
        with pytest.raises(MemberNotFoundError) as caught:
            await service.get_member(session, member_id=404)
        assert (caught.value.code, caught.value.status) == ("member_not_found", 404)
        with pytest.raises(MemberNotFoundError) as by_external:
            await service.get_member_by_external_id(
                session, program_id=program_id, external_id="nobody"
            )
        assert by_external.value.message == "no member with external_id 'nobody'"


async def test_update_changes_only_the_given_fields(database: Database, program_id: int) -> None:
    member = await enrol(database, program_id, ANNA)
    update = MemberUpdate.model_validate(
        {"email": None, "language": "en", "attributes": {"city": "Kraków", "vip": True}}
    )
    async with database.write() as session:
        updated = await service.update_member(session, member_id=member.id, data=update, now=LATER)
    assert (updated.email, updated.language, updated.attributes, updated.updated_at) == (
        None,
        Language.EN,
        {"city": "Kraków", "vip": True},
        LATER,
    )
    assert (updated.name, updated.phone, updated.birth_date) == (
        "Anna Kowalska",
        "+48601234567",
        date(1990, 5, 17),
    )
    async with database.write() as session:
        same = await service.update_member(
            session,
            member_id=member.id,
            data=MemberUpdate(language=Language.EN),
            now=LATER + timedelta(minutes=1),
        )
    assert same == updated


async def test_consents_change_and_keep_their_history(database: Database, program_id: int) -> None:
    member = await enrol(database, program_id, {"external_id": "c"})
    steps = [
        (ConsentChannel.PUSH, True, "app", NOW),
        (ConsentChannel.PUSH, True, "app", NOW + timedelta(days=1)),  # no change
        (ConsentChannel.PUSH, False, "unsubscribe-link", NOW + timedelta(days=2)),
        (ConsentChannel.PUSH, True, "portal", NOW + timedelta(days=3)),
    ]
    for channel, is_granted, source, moment in steps:
        async with database.write() as session:
            consent = await service.set_consent(
                session,
                member_id=member.id,
                channel=channel,
                is_granted=is_granted,
                source=source,
                now=moment,
            )
    assert (consent.is_granted, consent.granted_at, consent.revoked_at, consent.source) == (
        True,
        NOW + timedelta(days=3),
        NOW + timedelta(days=2),
        "portal",
    )
    async with database.read() as session:
        history = await service.consent_history(session, member_id=member.id)
        read = await service.get_member(session, member_id=member.id)
    assert [(e.is_granted, e.source, e.occurred_at) for e in history] == [
        (True, "app", NOW),
        (False, "unsubscribe-link", NOW + timedelta(days=2)),
        (True, "portal", NOW + timedelta(days=3)),
    ]
    assert read.consents == [consent]
    assert await count(database, MemberConsent) == 1


async def test_consent_needs_a_source_and_a_member(database: Database, program_id: int) -> None:
    member = await enrol(database, program_id, {"external_id": "c"})
    async with database.write() as session:
        with pytest.raises(InvalidInputError) as caught:
            await service.set_consent(
                session,
                member_id=member.id,
                channel=ConsentChannel.SMS,
                is_granted=True,
                source="",
                now=NOW,
            )
        assert caught.value.field == "source"
        with pytest.raises(MemberNotFoundError):
            await service.set_consent(
                session,
                member_id=999,
                channel=ConsentChannel.SMS,
                is_granted=True,
                source="x",
                now=NOW,
            )
    assert await count(database, ConsentEvent) == 0


async def test_block_and_unblock(database: Database, program_id: int) -> None:
    member = await enrol(database, program_id, {"external_id": "b"})
    async with database.write() as session:
        blocked = await blocking.block_member(
            session, member_id=member.id, reason=" fraud suspected ", now=LATER
        )
        again = await blocking.block_member(
            session, member_id=member.id, reason="another reason", now=LATER + timedelta(hours=1)
        )
    assert (blocked.status, blocked.blocked_reason, blocked.updated_at) == (
        MemberStatus.BLOCKED,
        "fraud suspected",
        LATER,
    )
    assert again == blocked
    async with database.read() as session:
        with pytest.raises(MemberBlockedError) as caught:
            service.ensure_active(await service.get_member(session, member_id=member.id))
    assert (caught.value.code, caught.value.status) == ("member_blocked", 409)
    assert caught.value.message == f"member {member.id} is blocked"
    with pytest.raises(MemberBlockedError):
        service.ensure_active(blocked)

    unblocked_at = LATER + timedelta(days=1)
    async with database.write() as session:
        unblocked = await blocking.unblock_member(session, member_id=member.id, now=unblocked_at)
        assert await blocking.unblock_member(session, member_id=member.id, now=NOW) == unblocked
        active = await service.get_member(session, member_id=member.id)
        service.ensure_active(active)
    assert (unblocked.status, unblocked.blocked_reason, unblocked.updated_at) == (
        MemberStatus.ACTIVE,
        None,
        unblocked_at,
    )
    assert active == unblocked
    service.ensure_active(unblocked)


async def test_blocking_needs_a_reason(database: Database, program_id: int) -> None:
    member = await enrol(database, program_id, {"external_id": "b"})
    async with database.write() as session:
        with pytest.raises(InvalidInputError):
            await blocking.block_member(session, member_id=member.id, reason="  ", now=LATER)
        assert (
            await service.get_member(session, member_id=member.id)
        ).status is MemberStatus.ACTIVE


async def test_keyset_pagination(database: Database, program_id: int) -> None:
    other_program = await make_program(database, "partner-shop")
    await enrol(database, other_program, {"external_id": "elsewhere"})
    enrolled = [await enrol(database, program_id, {"external_id": f"m{i}"}) for i in range(5)]
    async with database.write() as session:
        await blocking.block_member(session, member_id=enrolled[3].id, reason="test", now=LATER)

    pages: list[list[str]] = []
    after: int | None = None
    async with database.read() as session:
        while True:
            page = await service.list_members(session, program_id=program_id, after=after, limit=2)
            pages.append([member.external_id for member in page.items])
            if page.next_after is None:
                break
            assert page.next_after == page.items[-1].id
            after = page.next_after
        blocked = await service.list_members(
            session, program_id=program_id, status=MemberStatus.BLOCKED
        )
        exact = await service.list_members(session, program_id=program_id, limit=5)
        for bad in (0, 501):
            with pytest.raises(InvalidInputError):
                await service.list_members(session, program_id=program_id, limit=bad)
    assert pages == [["m0", "m1"], ["m2", "m3"], ["m4"]]
    assert [member.external_id for member in blocked.items] == ["m3"]
    assert blocked.next_after is None
    assert (len(exact.items), exact.next_after) == (5, None)


async def test_pages_carry_consents(database: Database, program_id: int) -> None:
    await enrol(database, program_id, ANNA)
    await enrol(database, program_id, {"external_id": "plain"})
    async with database.read() as session:
        page = await service.list_members(session, program_id=program_id)
    assert [[c.channel for c in m.consents] for m in page.items] == [
        [ConsentChannel.EMAIL, ConsentChannel.SMS],
        [],
    ]


def test_enrolment_checksum_ignores_spelling_of_defaults() -> None:
    plain = MemberCreate.model_validate({"external_id": "a"})
    spelled = MemberCreate.model_validate({"external_id": "a", "attributes": {}, "name": None})
    other = MemberCreate.model_validate({"external_id": "a", "name": "A"})
    assert service.enrolment_checksum(plain) == service.enrolment_checksum(spelled)
    assert service.enrolment_checksum(plain) != service.enrolment_checksum(other)
