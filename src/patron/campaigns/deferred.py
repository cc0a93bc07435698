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
* ``send_message``: ``None``, not applied yet (program-defined message templates do not
  exist); ``patron program validate`` warns about it.

The same appliers give a campaign's deferred effects on the other triggers (signup, birthday,
a custom event, ...; :func:`apply_now`, called by :mod:`patron.campaigns.triggers` in the
trigger's unit of work, keyed by the application's ``campaign_awards`` row) and a completed
challenge's coupon (:mod:`patron.challenges.progress`).

An anonymous purchase gets no deferred effects, as it earns no points.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
from patron.rules.vocabulary import Deferred, DeferredEffect, EffectType
from patron.rules.vocabulary.effects import IssueReward


@dataclass(frozen=True, slots=True)
class Applied:
    """One deferred effect of a rule or campaign that applied to a purchase, or of what
    applied without one (``purchase_id`` ``None``; ``occurrence`` names it: a campaign's
    application on another trigger, ``award:<campaign_awards id>:campaign:<key>``, or a
    challenge's completion, ``challenge:<key>:<member>:<period>``)."""

    active: ActiveProgram  # the program version the purchase was scored with
    purchase_id: int | None
    member_id: int
    source: str  # "rule", "campaign" or "challenge"
    source_id: str  # the rule id, the campaign key or the challenge key
    index: int  # its place in the rule's ``deferred`` list
    occurred_at: Any
    now: Any = None  # when the purchase was recorded (its event's time): entries' created_at
    occurrence: str | None = None  # without a purchase: what the effect belongs to, once

    @property
    def key(self) -> str:
        if self.occurrence is not None:
            return f"deferred:{self.occurrence}:{self.index}"
        prefix = ROW_PREFIX if self.source == "campaign" else ""
        return f"deferred:{self.purchase_id}:{prefix}{self.source_id}:{self.index}"


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
    EffectType.SEND_MESSAGE: None,  # no program-defined message templates yet
}


async def apply_now(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    source: str,
    source_id: str,
    occurrence: str,
    effects: Sequence[Deferred],
    occurred_at: datetime,
    now: datetime,
) -> None:
    """Apply ``effects`` at once, in the caller's unit of work, to what applied without a
    purchase (a campaign on another trigger, a completed challenge), through the appliers of
    :data:`DEFERRED`, each keyed ``deferred:<occurrence>:<index>``: applied again, an effect
    finds its coupon or wallet entry and gives nothing twice."""
    for index, item in enumerate(effects):
        effect = item.typed()
        applier = DEFERRED[effect.type]
        if applier is None:
            continue
        applied = Applied(
            active, None, member_id, source, source_id, index, occurred_at, now, occurrence
        )
        await applier(session, applied, effect)


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


def _effect(program: Program, source_id: str, index: int) -> DeferredEffect | None:
    """Deferred effect ``index`` of the earn rule ``source_id`` or the campaign
    ``campaign:<key>`` in ``program``."""
    deferred: list[Any] = []
    if source_id.startswith(ROW_PREFIX):
        key = source_id.removeprefix(ROW_PREFIX)
        deferred = next((c.deferred for c in program.campaigns if c.key == key), [])
    else:
        deferred = next((r.deferred for r in program.earning.rules if r.id == source_id), [])
    return deferred[index].typed() if 0 <= index < len(deferred) else None


async def apply_deferred(session: AsyncSession, event: EventEnvelope) -> None:
    member_id, purchase_id = event.data.get("member_id"), event.data.get("purchase_id")
    if not isinstance(member_id, int) or not isinstance(purchase_id, int):
        return
    purchase = await session.get(Purchase, purchase_id)
    if purchase is None or purchase.member_id != member_id:
        return
    program = await program_service.program_version(
        session, program_id=purchase.program_id, version=purchase.program_version
    )
    key = await session.scalar(
        select(ProgramRecord.key).where(ProgramRecord.id == purchase.program_id)
    )
    active = ActiveProgram(
        program_id=purchase.program_id,
        key=key or "",
        version=purchase.program_version,
        checksum="",
        program=program,
    )
    for item in event.data.get("effects", []):
        source_id, index = str(item["source_id"]), int(item["index"])
        effect = _effect(program, source_id, index)
        if effect is None or effect.type.value != item["type"]:
            continue  # pragma: no cover - the event names what the purchase's version holds
        applier = DEFERRED[effect.type]
        if applier is None:
            continue
        campaign = source_id.startswith(ROW_PREFIX)
        applied = Applied(
            active,
            purchase_id,
            member_id,
            "campaign" if campaign else "rule",
            source_id.removeprefix(ROW_PREFIX),
            index,
            purchase.occurred_at,
            event.occurred_at,
        )
        await applier(session, applied, effect)


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
