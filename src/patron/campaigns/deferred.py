"""Deferred effects: what rules and campaigns do after a purchase has committed.

A rule or a purchase campaign may list deferred effects (``deferred:`` in the program file).
The engine collects them when it applies (``Evaluation.deferred``), and the purchase's unit of
work emits ``purchases.effects_due`` naming them (only then: the purchases of a program without
deferred effects cost the dispatcher nothing). This handler applies them after the commit, each
read from the program version the purchase was scored with (a later version that drops an
effect does not take it back). Every way a purchase is recorded one by one (the API's direct
lane, group commit, the fused PostgreSQL statement, batches) goes through
:func:`patron.purchases.earn.record_purchase`, which emits the event; an import of history
(``patron import purchases``) grants nothing after the fact.

:data:`DEFERRED` is the registry, one entry per deferred :class:`EffectType`
(``tests/rules/test_registries.py``):

* ``issue_reward``: a coupon for the reward, without spending points
  (:func:`patron.rewards.grant.grant_reward`, event ``rewards.granted``), keyed
  ``deferred:<purchase>:<rule or campaign:key>:<index>`` so that a run again issues nothing
  twice;
  (an instant prize's coupon is not issued once its purchase was fully returned:
  :mod:`patron.campaigns.prize_returns`);
* ``credit_wallet``: cashback into the member's wallet (:mod:`patron.campaigns.wallet_credit`,
  event ``wallet.credited``), under the same key;
* ``send_message``: a message of the program's ``messages:`` to the member
  (:mod:`patron.campaigns.message_effect`, event ``campaigns.message_due``, which the
  notifications turn into an email with the member's consent), under the same key; applied
  after the list's other effects, so that it can name the coupon they issued.

:func:`apply_effects` applies one rule's or campaign's list; the purchase's handler calls it,
and so do the campaigns of other triggers (:mod:`patron.campaigns.triggers`, in the
trigger's unit of work: a coupon, a wallet credit of an ``amount`` claimed from the money
budget, a message), with keys ``deferred:<member>:<occurrence>:campaign:<key>:<index>``, and
a completed challenge for its coupon (:mod:`patron.challenges.progress`, key
``deferred:<member>:challenge:<period>:<challenge key>:0``).

An anonymous purchase gets no deferred effects, as it earns no points.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.message_effect import deferred_of, send_message
from patron.campaigns.prize_returns import prize_coupon_due
from patron.campaigns.wallet_credit import credit_wallet
from patron.kit.outbox import EventEnvelope, Handler
from patron.programs import service as program_service
from patron.programs.models import ProgramRecord
from patron.programs.schema import Program
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase
from patron.rewards.grant import grant_reward
from patron.rules.campaigns import ROW_PREFIX
from patron.rules.vocabulary import DeferredEffect, EffectType
from patron.rules.vocabulary.effects import Deferred, IssueReward


@dataclass(frozen=True, slots=True)
class Applied:
    """One deferred effect of a rule or campaign that applied to a purchase (or, with
    ``occurrence``, a campaign of another trigger or a completed challenge, ``source``
    ``challenge`` and ``occurrence`` ``challenge:<period>``: ``purchase_id`` is then None)."""

    active: ActiveProgram  # the program version the purchase was scored with
    purchase_id: int | None
    member_id: int
    source: str  # "rule" or "campaign"
    source_id: str  # the rule id or the campaign key
    index: int  # its place in the rule's ``deferred`` list
    occurred_at: Any
    now: Any = None  # when the purchase was recorded (its event's time): entries' created_at
    occurrence: str | None = None  # another trigger's (``signup``, ``event:42``)
    points: int | None = None  # what the campaign gave this time (None: read the purchase)

    def key_at(self, index: int) -> str:
        """The key of effect ``index`` of the same list and application."""
        prefix = ROW_PREFIX if self.source == "campaign" else ""
        where = (
            self.purchase_id if self.occurrence is None else f"{self.member_id}:{self.occurrence}"
        )
        return f"deferred:{where}:{prefix}{self.source_id}:{index}"

    @property
    def key(self) -> str:
        return self.key_at(self.index)


Applier = Callable[[AsyncSession, Applied, DeferredEffect], Awaitable[None]]


async def _issue_reward(session: AsyncSession, applied: Applied, effect: DeferredEffect) -> None:
    if not isinstance(effect, IssueReward):  # pragma: no cover - the registry is keyed by type
        raise TypeError(effect)
    reward = applied.active.program.reward(effect.reward)
    if reward is None:  # pragma: no cover - validation refuses an unknown reward
        return
    if applied.source == "campaign" and applied.purchase_id is not None:
        purchase = await session.get(Purchase, applied.purchase_id)
        if purchase is not None and not prize_coupon_due(
            applied.active.program, purchase, applied.source_id
        ):
            return  # an instant prize's coupon of a purchase fully returned before this run
    await grant_reward(
        session,
        active=applied.active,
        member_id=applied.member_id,
        reward=reward,
        idempotency_key=applied.key,
        source=applied.source,
        source_id=applied.source_id,
        purchase_id=applied.purchase_id,
        now=applied.occurred_at,
    )


DEFERRED: dict[EffectType, Applier | None] = {
    EffectType.ISSUE_REWARD: _issue_reward,
    EffectType.CREDIT_WALLET: credit_wallet,
    EffectType.SEND_MESSAGE: send_message,
}


async def apply_effects(
    session: AsyncSession, applied: Applied, deferred: list[Deferred], only: set[int] | None = None
) -> None:
    """Apply the deferred list of one rule or campaign (those at ``only``, when given) for
    one application: ``applied`` names it (its ``index`` is set for each effect).
    ``send_message`` goes last, so that the coupon of the list is there to be named."""
    items = [(i, item.typed()) for i, item in enumerate(deferred) if only is None or i in only]
    items.sort(key=lambda pair: pair[1].type is EffectType.SEND_MESSAGE)
    for index, effect in items:
        applier = DEFERRED[effect.type]
        if applier is not None:
            await applier(session, replace(applied, index=index), effect)


async def apply_campaign_effects(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    campaign_key: str,
    occurrence: str,
    points: int,
    occurred_at: Any,
    now: Any,
) -> None:
    """Apply the deferred effects of a campaign of another trigger than a purchase, in the
    unit of work that applied it to the member for ``occurrence`` (once: the trigger records
    the occurrence with it), keyed ``deferred:<member>:<occurrence>:campaign:<key>:<i>``."""
    campaign = active.program.campaign(campaign_key)
    if campaign is None or not campaign.deferred:
        return
    applied = Applied(
        active,
        None,
        member_id,
        "campaign",
        campaign_key,
        0,
        occurred_at,
        now,
        occurrence=occurrence,
        points=points,
    )
    await apply_effects(session, applied, list(campaign.deferred))


def not_applied(effect: DeferredEffect) -> bool:
    """Whether a deferred effect of this type is accepted but not applied yet."""
    return DEFERRED[effect.type] is None


def not_applied_warnings(program: Program) -> list[tuple[str, str]]:
    """(path, message) of each deferred effect in ``program`` that is accepted but not applied
    yet: ``patron program validate`` shows them as warnings."""
    found: list[tuple[str, str]] = []
    lists = [(f"earning.rules[{i}]", rule.deferred) for i, rule in enumerate(program.earning.rules)]
    lists += [(f"campaigns[{i}]", c.deferred) for i, c in enumerate(program.campaigns)]
    for base, deferred in lists:
        for index, item in enumerate(deferred):
            effect = item.typed()
            if not_applied(effect):
                found.append(
                    (
                        f"{base}.deferred[{index}].{effect.type.value}",
                        f"{effect.type.value} is accepted but not applied yet: nothing happens "
                        "when the rule applies",
                    )
                )
    return found


def effect_at(program: Program, source_id: str, index: int) -> DeferredEffect | None:
    """Deferred effect ``index`` of the earn rule ``source_id`` or the campaign
    ``campaign:<key>`` in ``program``."""
    source = "campaign" if source_id.startswith(ROW_PREFIX) else "rule"
    deferred = deferred_of(program, source, source_id.removeprefix(ROW_PREFIX))
    return deferred[index].typed() if 0 <= index < len(deferred) else None


async def scored_with(session: AsyncSession, purchase: Purchase) -> ActiveProgram:
    """The program version ``purchase`` was scored with."""
    program = await program_service.program_version(
        session, program_id=purchase.program_id, version=purchase.program_version
    )
    key = await session.scalar(
        select(ProgramRecord.key).where(ProgramRecord.id == purchase.program_id)
    )
    return ActiveProgram(
        program_id=purchase.program_id,
        key=key or "",
        version=purchase.program_version,
        checksum="",
        program=program,
    )


async def apply_deferred(session: AsyncSession, event: EventEnvelope) -> None:
    member_id, purchase_id = event.data.get("member_id"), event.data.get("purchase_id")
    if not isinstance(member_id, int) or not isinstance(purchase_id, int):
        return
    purchase = await session.get(Purchase, purchase_id)
    if purchase is None or purchase.member_id != member_id:
        return
    active = await scored_with(session, purchase)
    program = active.program
    named: dict[str, set[int]] = {}  # source id -> the indexes the event names, in order
    for item in event.data.get("effects", []):
        named.setdefault(str(item["source_id"]), set()).add(int(item["index"]))
    for source_id, indexes in named.items():
        source = "campaign" if source_id.startswith(ROW_PREFIX) else "rule"
        source_id = source_id.removeprefix(ROW_PREFIX)
        applied = Applied(
            active,
            purchase_id,
            member_id,
            source,
            source_id,
            0,
            purchase.occurred_at,
            event.occurred_at,
        )
        await apply_effects(session, applied, deferred_of(program, source, source_id), indexes)


def _has_deferred(event: EventEnvelope) -> bool:
    return isinstance(event.data.get("member_id"), int)


HANDLERS = [
    Handler(
        name="campaigns.apply_deferred",
        events=frozenset({"purchases.effects_due"}),
        handle=apply_deferred,
        applies=_has_deferred,
    )
]
