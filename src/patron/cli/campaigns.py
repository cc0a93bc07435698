"""``patron campaigns``: the active program's campaigns, one campaign, its figures.

Campaigns are defined in the program file (``patron program apply``); see docs/campaigns.md."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns import editing, raffles, views
from patron.campaigns.schemas import Campaign, CampaignStats, Raffle, RafflePrizeGiven
from patron.cli.options import (
    DbOption,
    JsonOption,
    audited,
    in_unit_of_work,
    print_json,
    run,
)
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.schemas import AppliedProgram
from patron.rules.vocabulary.prizes import MAX_WINNERS

app = typer.Typer(help="Campaigns: list, show, stats, pause, resume, draw.", no_args_is_help=True)

ProgramKey = Annotated[
    str, typer.Option("--program", help="Program key (one database may hold several).")
]
CampaignKey = Annotated[str, typer.Argument(help="The campaign's key.")]


def _budget(campaign: Campaign) -> str:
    if campaign.budget is None:
        return "no budget"
    budget = campaign.budget
    parts = [] if budget.points is None else [f"{budget.left} of {budget.points} points left"]
    if budget.money is not None:
        parts.append(f"{budget.money_left} of {budget.money} left")
    return ", ".join(parts)


@app.command("list")
def list_campaigns(
    db: DbOption = None, json_output: JsonOption = False, program: ProgramKey = "default"
) -> None:
    """Every campaign of the active program with its status now and its budget left."""

    async def work(session: AsyncSession) -> list[Campaign]:
        active = await program_service.get_active_program(session, key=program)
        return await views.list_campaigns(session, active=active, now=utcnow())

    campaigns = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json([c.model_dump(mode="json") for c in campaigns])
        return
    if not campaigns:
        typer.echo("no campaigns in the active program")
    for c in campaigns:
        typer.echo(
            f"{c.key}  {c.status}  {c.window.start} .. {c.window.end}  "
            f"{c.effect.type} {c.effect.value}  {c.stacking}  {c.uses} uses  {_budget(c)}  "
            f"{c.name}"
        )


@app.command("show")
def show(
    key: CampaignKey,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """One campaign: its definition, status now, usage and budget."""

    async def work(session: AsyncSession) -> tuple[Campaign, Raffle | None]:
        active = await program_service.get_active_program(session, key=program)
        now = utcnow()
        found = await views.get_campaign(session, active=active, key=key, now=now)
        if found.raffle is None:
            return found, None
        return found, await raffles.raffle_view(session, active=active, key=key, now=now)

    campaign, raffle = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(campaign.model_dump(mode="json"))
        return
    c = campaign
    limits = "none"
    if c.limits is not None:
        parts = []
        if c.limits.per_member is not None:
            parts.append(f"{c.limits.per_member} per member per {c.limits.period}")
        if c.limits.total is not None:
            parts.append(f"{c.limits.total} in all")
        limits = ", ".join(parts)
    lines = [
        f"{c.key}: {c.name}",
        f"  status     {c.status} (written: {c.written_status})",
        f"  window     {c.window.start} .. {c.window.end} ({c.window.timezone})",
        f"  trigger    {_trigger(c)}",
        f"  audience   {', '.join(c.audience_tiers) if c.audience_tiers else 'every member'}",
        f"  when       {c.conditions or 'always'}",
        f"  effect     {c.effect.type} {c.effect.value}",
        f"  priority   {c.priority}, stacking {c.stacking}",
        f"  limits     {limits}",
        f"  budget     {_budget(c)}",
        f"  uses       {c.uses}",
    ]
    if c.prize is not None or c.raffle is not None:
        drawn = f"prize {_spec(c.prize)}" if c.prize is not None else f"raffle {_spec(c.raffle)}"
        lines.append(f"  draws      {drawn}" + (f", {c.draws} counted" if c.draws else ""))
        lines.append(f"  seed hash  {c.seed_hash or 'not committed yet'}")
        lines.append(f"  seed       {c.seed or 'revealed after the draw or the end'}")
    if raffle is not None and raffle.drawn:
        lines += _drawn_lines(raffle)
    typer.echo("\n".join(lines))


def _given(prize: RafflePrizeGiven | None) -> str:
    """What a winner received, as one phrase."""
    if prize is None:
        return "no prize"
    what = {
        "points": f"{prize.points} points",
        "coupon": f"coupon {prize.coupon_code or ''} ({prize.reward})",
        "wallet": f"{prize.amount} {prize.currency} into the wallet",
    }[prize.kind]
    return what if prize.given else f"nothing: {prize.reason} ({what})".replace(" ()", "")


def _drawn_lines(raffle: Raffle) -> list[str]:
    """The draw as recorded: each winner and their prize, what it counted, and the entries
    stored after it (not counted)."""
    lines = [
        f"  drawn      {raffle.drawn_at}: {len(raffle.winners)} winners from {raffle.entries} "
        f"entries of {raffle.participants} members"
    ]
    lines += [
        f"  {w.rank}. member {w.member_id} ({w.entries} entries): {_given(w.prize)}"
        for w in raffle.winners
    ]
    lines.append(f"  counted    {raffle.counted} purchases, digest {raffle.entries_digest}")
    if raffle.not_counted_purchases:
        lines.append(
            f"  not counted  {raffle.not_counted_entries} entries of "
            f"{raffle.not_counted_purchases} purchases stored after the draw"
        )
    return lines


def _spec(spec: dict[str, object] | None) -> str:
    return ", ".join(f"{name} {value}" for name, value in (spec or {}).items())


def _trigger(c: Campaign) -> str:
    if c.event is not None:
        return f"{c.trigger} {c.event}"
    if c.occasion is not None:
        around = f"{c.trigger} within {c.occasion.get('days', 0)} days"
        guard = c.occasion.get("birth_date_unchanged_days")
        return around if guard is None else f"{around}, birth date unchanged {guard} days"
    return c.trigger


@app.command("stats")
def stats(
    key: CampaignKey,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Participants, applications, points spent, budget left and revenue of one campaign."""

    async def work(session: AsyncSession) -> CampaignStats:
        active = await program_service.get_active_program(session, key=program)
        return await views.campaign_stats(session, active=active, key=key, now=utcnow())

    s = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(s.model_dump(mode="json"))
        return
    budget = "no budget" if s.budget_points is None else f"{s.budget_left} of {s.budget_points}"
    if s.budget_money is not None:
        money = f"{s.budget_money_left} of {s.budget_money} {s.currency}"
        budget = money if s.budget_points is None else f"{budget}; {money}"
    typer.echo(
        f"{s.key} ({s.status})\n"
        f"  participants  {s.participants}\n"
        f"  applications  {s.applications}"
        + (f" of {s.usage_limit}" if s.usage_limit is not None else "")
        + f"\n  points spent  {s.points_spent}\n"
        f"  budget left   {budget}\n"
        f"  money spent   {s.money_spent} {s.currency}\n"
        f"  given back    {s.points_given_back} points, {s.money_given_back} {s.currency}, "
        f"{s.uses_given_back} uses (returns)\n"
        f"  revenue       {s.revenue} {s.currency}"
    )


def _set_status(db: str | None, program: str, key: str, status: str, json_output: bool) -> None:
    """Write ``status`` into the campaign: a new program version, as ``program apply``."""

    async def work(session: AsyncSession) -> AppliedProgram:
        applied = await editing.change_campaign(
            session, program_key=program, key=key, patch={"status": status}, created_by="cli"
        )
        await audited(session, action="campaigns.change_campaign", target=f"campaign:{key}")
        return applied

    applied = run(in_unit_of_work(db, work))
    if json_output:
        print_json(applied.model_dump(mode="json"))
        return
    if applied.status.value == "unchanged":
        typer.echo(f"campaign '{key}' is already {status} (version {applied.version})")
        return
    typer.echo(
        f"program '{program}': version {applied.version} replaces {applied.previous_version}"
    )
    for change in applied.changes:
        typer.echo(f"  {change}")


@app.command("pause")
def pause(
    key: CampaignKey,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Pause a campaign: a new program version whose campaign has ``status: paused``."""
    _set_status(db, program, key, "paused", json_output)


@app.command("resume")
def resume(
    key: CampaignKey,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Resume a paused (or draft) campaign: a new program version with ``status: active``; it
    runs inside its window."""
    _set_status(db, program, key, "active", json_output)


Winners = Annotated[
    int | None,
    typer.Option(
        "--winners", min=1, max=MAX_WINNERS, help="Winners to draw (default: the raffle's)."
    ),
]


@app.command("draw")
def draw(
    key: CampaignKey,
    winners: Winners = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Draw a raffle's winners from its committed seed, once its window is over, and record
    them; drawn before, print the recorded winners (docs/campaigns.md, "Raffles")."""

    async def work(session: AsyncSession) -> Raffle:
        active = await program_service.get_active_program(session, key=program)
        raffle = await raffles.draw_raffle(
            session, active=active, key=key, winners=winners, now=utcnow(), drawn_by="cli"
        )
        await audited(session, action="campaigns.draw_raffle", target=f"campaign:{key}")
        return raffle

    raffle = run(in_unit_of_work(db, work))
    if json_output:
        print_json(raffle.model_dump(mode="json"))
        return
    typer.echo(
        f"{raffle.key}: {len(raffle.winners)} winners from {raffle.entries} entries of "
        f"{raffle.participants} members (drawn {raffle.drawn_at})"
    )
    for line in _drawn_lines(raffle)[1:]:
        typer.echo(line)
    typer.echo(f"  seed       {raffle.seed}\n  seed hash  {raffle.seed_hash}")
