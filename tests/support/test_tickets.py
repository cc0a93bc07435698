"""Opening tickets (idempotent by source_ref), messages, assignment and the status machine."""

from __future__ import annotations

import pytest

from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.support import service
from patron.support.states import (
    AuthorKind,
    TicketChannel,
    TicketPriority,
    TicketSource,
    TicketStatus,
)
from tests.support.factories import T0, apply_program, at, counts, member, open_ticket


async def test_open_fixes_the_due_times_and_the_members_tier(database: Database) -> None:
    active = await apply_program(database)
    plain = await member(database, active, "plain")
    silver = await member(database, active, "silver", points=5000)
    async with database.write() as session:
        first = await open_ticket(session, member_id=plain.id)
        second = await open_ticket(session, member_id=silver.id, now=at(1))
    assert (first.status, first.priority) == (TicketStatus.OPEN, TicketPriority.NORMAL)
    assert (first.tier_id, first.has_priority_support) == (None, False)
    assert (first.first_response_due_at, first.resolution_due_at) == (at(24), at(24))
    assert (second.tier_id, second.has_priority_support) == ("silver", True)
    assert (second.first_response_due_at, second.resolution_due_at) == (at(25), at(25))
    assert (first.first_response_at, first.resolved_at) == (None, None)


async def test_priority_targets_and_configured_hours(database: Database) -> None:
    support = {
        "targets": {"first_response_hours": 8, "resolution_hours": 48},
        "priority_targets": {"first_response_hours": 2, "resolution_hours": 12},
    }
    active = await apply_program(database, support)
    plain = await member(database, active, "plain")
    gold = await member(database, active, "gold", points=15000)
    async with database.write() as session:
        normal = await open_ticket(session, member_id=plain.id)
        fast = await open_ticket(session, member_id=gold.id)
    assert (normal.first_response_due_at, normal.resolution_due_at) == (at(8), at(48))
    assert (fast.first_response_due_at, fast.resolution_due_at) == (at(2), at(12))


async def test_open_is_idempotent_by_source_ref(database: Database) -> None:
    active = await apply_program(database)
    one = await member(database, active, "one")
    other = await member(database, active, "other")
    async with database.write() as session:
        opened = await service.open_ticket(
            session,
            member_id=one.id,
            channel=TicketChannel.EMAIL,
            category="nps",
            subject="Detractor",
            text="score 3",
            source=TicketSource.SURVEY,
            source_ref="survey-answer-17",
            now=T0,
        )
    async with database.write() as session:
        again = await service.open_ticket(
            session,
            member_id=one.id,
            channel=TicketChannel.EMAIL,
            category="nps",
            subject="Detractor",
            text="score 3",
            source=TicketSource.SURVEY,
            source_ref="survey-answer-17",
            now=at(1),
        )
    assert (opened.created, again.created) == (True, False)
    assert again.ticket.id == opened.ticket.id
    assert again.ticket.created_at == T0
    before = await counts(database)
    assert before["tickets"] == 1
    with pytest.raises(PatronError) as refused:
        async with database.write() as session:
            await open_ticket(
                session,
                member_id=other.id,
                source=TicketSource.SURVEY,
                source_ref="survey-answer-17",
            )
    assert (refused.value.code, refused.value.field) == ("idempotency_conflict", "source_ref")
    async with database.write() as session:
        review = await open_ticket(
            session, member_id=one.id, source=TicketSource.REVIEW, source_ref="survey-answer-17"
        )
    assert review.id != opened.ticket.id
    assert (await counts(database))["tickets"] == 2


async def test_a_ticket_needs_a_member_or_a_contact(database: Database) -> None:
    await apply_program(database)
    with pytest.raises(PatronError) as refused:
        async with database.write() as session:
            await open_ticket(session, member_id=None)
    assert (refused.value.code, refused.value.field) == ("invalid_input", "contact")
    assert (await counts(database))["tickets"] == 0
    with pytest.raises(PatronError) as missing:
        async with database.write() as session:
            await open_ticket(session, member_id=987654)
    assert missing.value.code == "member_not_found"
    async with database.write() as session:
        anonymous = await open_ticket(session, member_id=None, contact="+48 600 000 000")
    assert (anonymous.member_id, anonymous.contact) == (None, "+48 600 000 000")


VALID = [
    ("open", "pending"),
    ("open", "resolved"),
    ("open", "closed"),
    ("pending", "open"),
    ("pending", "resolved"),
    ("pending", "closed"),
    ("resolved", "open"),
    ("resolved", "closed"),
]
REFUSED = [
    ("resolved", "pending"),
    ("closed", "open"),
    ("closed", "pending"),
    ("closed", "resolved"),
]
PATHS = {
    "open": [],
    "pending": ["pending"],
    "resolved": ["resolved"],
    "closed": ["closed"],
}


async def _ticket_in(database: Database, status: str) -> int:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
        for step in PATHS[status]:
            await service.transition(
                session, ticket_id=ticket.id, status=TicketStatus(step), actor="ann", now=at(1)
            )
    return ticket.id


@pytest.mark.parametrize(("current", "target"), VALID)
async def test_allowed_moves(database: Database, current: str, target: str) -> None:
    ticket_id = await _ticket_in(database, current)
    async with database.write() as session:
        moved = await service.transition(
            session, ticket_id=ticket_id, status=TicketStatus(target), actor="bob", now=at(2)
        )
    assert moved.status == target
    async with database.read() as session:
        detail = await service.get_ticket(session, ticket_id=ticket_id, now=at(2))
    last = detail.events[-1]
    assert (last.from_value, last.to_value, last.actor, last.occurred_at) == (
        current,
        target,
        "bob",
        at(2),
    )


@pytest.mark.parametrize(("current", "target"), REFUSED)
async def test_refused_moves_change_nothing(database: Database, current: str, target: str) -> None:
    ticket_id = await _ticket_in(database, current)
    async with database.read() as session:
        before = await service.get_ticket(session, ticket_id=ticket_id, now=at(2))
    rows = await counts(database)
    with pytest.raises(PatronError) as refused:
        async with database.write() as session:
            await service.transition(
                session, ticket_id=ticket_id, status=TicketStatus(target), actor="bob", now=at(2)
            )
    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "invalid_ticket_transition",
        409,
        "status",
    )
    assert refused.value.message == f"a {current} ticket cannot become {target}"
    async with database.read() as session:
        assert await service.get_ticket(session, ticket_id=ticket_id, now=at(2)) == before
    assert await counts(database) == rows


async def test_the_same_status_again_changes_nothing(database: Database) -> None:
    ticket_id = await _ticket_in(database, "closed")
    rows = await counts(database)
    async with database.write() as session:
        same = await service.transition(
            session, ticket_id=ticket_id, status=TicketStatus.CLOSED, actor="bob", now=at(5)
        )
    assert (same.status, same.closed_at, same.updated_at) == ("closed", at(1), at(1))
    assert await counts(database) == rows


async def test_resolve_reopen_and_resolve_again(database: Database) -> None:
    ticket_id = await _ticket_in(database, "open")
    async with database.write() as session:
        resolved = await service.transition(
            session, ticket_id=ticket_id, status=TicketStatus.RESOLVED, actor="ann", now=at(3)
        )
    assert (resolved.first_response_at, resolved.resolved_at) == (at(3), at(3))
    async with database.write() as session:
        await service.add_message(
            session,
            ticket_id=ticket_id,
            author_kind=AuthorKind.MEMBER,
            author="member",
            text="Still broken.",
            now=at(4),
        )
    async with database.read() as session:
        reopened = await service.get_ticket(session, ticket_id=ticket_id, now=at(4))
    assert (reopened.status, reopened.resolved_at, reopened.reopened_count) == ("open", None, 1)
    assert reopened.first_response_at == at(3)
    async with database.write() as session:
        again = await service.transition(
            session, ticket_id=ticket_id, status=TicketStatus.RESOLVED, actor="ann", now=at(6)
        )
    assert (again.resolved_at, again.reopened_count) == (at(6), 1)
    async with database.read() as session:
        due = await service.tickets_resolved_since(session, since=at(5))
        none_before = await service.tickets_resolved_since(session, since=T0, until=at(6))
    assert [(t.ticket_id, t.resolved_at) for t in due] == [(ticket_id, at(6))]
    assert none_before == []


async def test_messages_first_response_and_member_replies(database: Database) -> None:
    ticket_id = await _ticket_in(database, "open")
    async with database.write() as session:
        await service.add_message(
            session,
            ticket_id=ticket_id,
            author_kind=AuthorKind.MEMBER,
            author="member",
            text="Any news?",
            now=at(1),
        )
        await service.add_message(
            session,
            ticket_id=ticket_id,
            author_kind=AuthorKind.STAFF,
            author="ann",
            text="We are on it.",
            now=at(2),
        )
        await service.transition(
            session, ticket_id=ticket_id, status=TicketStatus.PENDING, actor="ann", now=at(2)
        )
        await service.add_message(
            session,
            ticket_id=ticket_id,
            author_kind=AuthorKind.STAFF,
            author="bob",
            text="Please send a photo.",
            now=at(3),
        )
    async with database.read() as session:
        pending = await service.get_ticket(session, ticket_id=ticket_id, now=at(3))
    assert (pending.status, pending.first_response_at) == ("pending", at(2))
    assert [(m.author_kind, m.author) for m in pending.messages] == [
        ("member", "member"),
        ("staff", "ann"),
        ("staff", "bob"),
    ]
    async with database.write() as session:
        await service.add_message(
            session,
            ticket_id=ticket_id,
            author_kind=AuthorKind.MEMBER,
            author="member",
            text="Photo attached.",
            now=at(4),
        )
    async with database.read() as session:
        back = await service.get_ticket(session, ticket_id=ticket_id, now=at(4))
    assert (back.status, back.reopened_count) == ("open", 0)


async def test_a_retried_message_is_added_once(database: Database) -> None:
    ticket_id = await _ticket_in(database, "open")
    for _ in range(2):
        async with database.write() as session:
            message = await service.add_message(
                session,
                ticket_id=ticket_id,
                author_kind=AuthorKind.STAFF,
                author="ann",
                text="Hello",
                now=at(1),
                idempotency_key="reply-1",
            )
    assert (await counts(database))["ticket_messages"] == 1
    with pytest.raises(PatronError) as conflict:
        async with database.write() as session:
            await service.add_message(
                session,
                ticket_id=ticket_id,
                author_kind=AuthorKind.STAFF,
                author="ann",
                text="Other text",
                now=at(1),
                idempotency_key="reply-1",
            )
    assert conflict.value.code == "idempotency_conflict"
    assert message.text == "Hello"


async def _act_on(database: Database, ticket_id: int, action: str) -> None:
    async with database.write() as session:
        if action == "message":
            await service.add_message(
                session,
                ticket_id=ticket_id,
                author_kind=AuthorKind.MEMBER,
                author="member",
                text="Hello?",
                now=at(2),
            )
        elif action == "assign":
            await service.assign(
                session, ticket_id=ticket_id, assignee="ann", actor="bob", now=at(2)
            )
        else:
            await service.set_priority(
                session, ticket_id=ticket_id, priority=TicketPriority.HIGH, actor="bob", now=at(2)
            )


@pytest.mark.parametrize("action", ["message", "assign", "priority"])
async def test_a_closed_ticket_takes_no_message_and_no_reassignment(
    database: Database, action: str
) -> None:
    ticket_id = await _ticket_in(database, "closed")
    rows = await counts(database)
    with pytest.raises(PatronError) as refused:
        await _act_on(database, ticket_id, action)
    assert (refused.value.code, refused.value.status) == ("ticket_closed", 409)
    assert await counts(database) == rows


async def test_assign_and_unassign(database: Database) -> None:
    ticket_id = await _ticket_in(database, "open")
    async with database.write() as session:
        first = await service.assign(
            session, ticket_id=ticket_id, assignee="ann", actor="lead", now=at(1)
        )
        same = await service.assign(
            session, ticket_id=ticket_id, assignee="ann", actor="lead", now=at(2)
        )
        none = await service.assign(
            session, ticket_id=ticket_id, assignee=None, actor="lead", now=at(3)
        )
    assert (first.assignee, same.updated_at, none.assignee) == ("ann", at(1), None)
    async with database.read() as session:
        detail = await service.get_ticket(session, ticket_id=ticket_id, now=at(3))
    assert [(e.kind, e.from_value, e.to_value) for e in detail.events] == [
        ("assignee", None, "ann"),
        ("assignee", "ann", None),
    ]


async def test_unknown_ticket_is_404(database: Database) -> None:
    await apply_program(database)
    with pytest.raises(PatronError) as missing:
        async with database.read() as session:
            await service.get_ticket(session, ticket_id=42, now=T0)
    assert (missing.value.code, missing.value.status) == ("ticket_not_found", 404)
