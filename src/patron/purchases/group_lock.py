"""A commit group's first statement on PostgreSQL: the active program's reference read and
the accounts of all the group's members locked, in one round trip.

The direct purchase route (:func:`patron.api.routes.purchases.record_purchase_fast`) asks its
commit group (:class:`patron.kit.group_commit.WriteGroups`) for :func:`lock_group` as a
prelude, with the external id of the purchase's member. Without it, each group reads the
program's reference (a round trip) and each purchase locks its member (a round trip); with it
both are one statement a group, and a purchase's only statement of its own is the fused
``WITH`` statement (:mod:`patron.purchases.fused`).

The members are locked in the one lock order of purchases
(:func:`patron.purchases.buyer.lock_order`: external ids in code point order), which is the
order the group's units then run in, so two groups never wait on each other in a cycle.

What the statement read is kept in the group's session: the program
(:func:`program_of_group`) and each member's state as locked. A member's state is taken
(:func:`take_locked`) by the first purchase that names the member, and only by it: a
second purchase of the same member in the group locks again and so reads what the first
wrote. Nothing else in a group of purchases writes to a member's account (each purchase
writes to its own member's only), so a state taken first is the state as it is.

SQLite: nothing (its statements are in-process calls; a write holds the database's lock).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.raw import Sql, raw_of
from patron.ledger.repository import LockedAccount
from patron.members.models import MemberStatus
from patron.members.schemas import MemberState
from patron.programs import service as program_service
from patron.programs.repository import ACTIVE_REFERENCE_QUERY
from patron.programs.schemas import ActiveProgram

_ACTIVE_PROGRAM = "patron.purchases.active_program"  # the group's ActiveProgram
_LOCKED = "patron.purchases.locked"  # external id -> (MemberState, LockedAccount)

# "C": external ids in code point order, the order of buyer.lock_order (the rows are locked
# as the sort hands them over); MATERIALIZED: each part runs once, the lock whole. Each
# member is found by a probe of its own of the (program_id, external_id) key (LATERAL,
# LIMIT 1): before PostgreSQL has statistics of members (a new database, the first minute
# after an enrolment in bulk), ``external_id = ANY($2)`` was planned as a scan of every
# member of the program, filtered (0.56 ms a group of 3 among 2,000 members; 0.04 ms so)
_LOCK_GROUP = Sql(
    f"WITH ref AS MATERIALIZED ({ACTIVE_REFERENCE_QUERY}), "
    "locked AS MATERIALIZED (SELECT m.external_id, m.id AS member_id, m.status, m.tier_id, "
    "a.lifetime_earned, a.id AS account_id, a.debt FROM unnest($2::text[]) AS w (external_id) "
    "CROSS JOIN LATERAL (SELECT x.external_id, x.id, x.status, x.tier_id FROM members x "
    "WHERE x.program_id = (SELECT program_id FROM ref) AND x.external_id = w.external_id "
    "LIMIT 1) AS m JOIN accounts a ON a.member_id = m.id "
    'ORDER BY m.external_id COLLATE "C" FOR UPDATE OF a) '
    "SELECT ref.program_id, ref.version, ref.checksum, locked.* FROM ref "
    "LEFT JOIN locked ON true"
)


async def lock_group(session: AsyncSession, external_ids: list[str]) -> None:
    """The prelude of a group of purchases (see the module docstring): ``external_ids`` are
    those of the members its purchases name (a purchase without a member gives ``""``)."""
    raw = await raw_of(session)
    if raw.is_sqlite:
        return
    wanted = sorted({external_id for external_id in external_ids if external_id})
    rows = await raw.all(_LOCK_GROUP, program_service.DEFAULT_KEY, wanted)
    if not rows:  # no program applied: each purchase reads (and reports) that itself
        return
    program_id, version, digest = rows[0][:3]
    session.info[_ACTIVE_PROGRAM] = await program_service.active_program_of(
        session, key=program_service.DEFAULT_KEY, reference=(program_id, version, digest)
    )
    locked: dict[str, tuple[MemberState, LockedAccount]] = {}
    for row in rows:
        external_id, member_id, status, tier_id, lifetime, account_id, debt = row[3:]
        if external_id is not None:
            locked[external_id] = (
                MemberState(member_id, MemberStatus(status), tier_id),
                LockedAccount(account_id, member_id, debt, lifetime),
            )
    session.info[_LOCKED] = (program_id, locked)


def take_locked(
    session: AsyncSession, program_id: int, external_id: str
) -> tuple[MemberState, LockedAccount] | None:
    """The state of the member ``external_id`` as the group's prelude locked it, once (see
    the module docstring); ``None`` when it was not locked there or was taken already."""
    found: tuple[int, dict[str, tuple[MemberState, LockedAccount]]] | None
    found = session.info.get(_LOCKED)
    if found is None or found[0] != program_id:
        return None
    taken: tuple[MemberState, LockedAccount] | None = found[1].pop(external_id, None)
    return taken


async def program_of_group(session: AsyncSession) -> ActiveProgram:
    """The active program, read once a commit group (by its prelude on PostgreSQL): a
    group's session runs nothing but purchases, which never change the program, all in one
    transaction."""
    active: ActiveProgram | None = session.info.get(_ACTIVE_PROGRAM)
    if active is None:
        active = await program_service.get_active_program(session)
        session.info[_ACTIVE_PROGRAM] = active
    return active
