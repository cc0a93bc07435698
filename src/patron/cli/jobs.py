"""``patron jobs``: the daily jobs, and ``patron verify``: the ledger's invariants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import (
    DbOption,
    JsonOption,
    in_unit_of_work,
    instant,
    print_json,
    run,
)
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.ledger.verify import Breach
from patron.ledger.verify import verify as verify_ledger
from patron.worker.daily import DailyReport, run_daily_jobs

app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
STEP_FAILED_EXIT = 3


@app.command("run")
def run_jobs(
    db: DbOption = None,
    now: Annotated[str | None, typer.Option(help="Run as of this ISO time (default: now).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Activate pending points whose time has come, expire lots, review tiers, record missed
    ticket targets, refresh the segments (RFM, groups, churn risk), invite members to
    after-purchase surveys, analyse new feedback texts (follow-up tickets and invitations after
    resolved tickets are event handlers run by the worker). Idempotent: a
    second run as of the same time changes nothing.

    Each step runs in its own unit of work: a step that fails is reported (on stderr, and in
    `failures` with --json) with its reason, the other steps still run, and the command exits
    3."""
    moment = instant(now)

    async def work() -> DailyReport:
        from patron.migrations import upgrade_schema

        database = Database(db)
        try:
            await upgrade_schema(database.url)
            return await run_daily_jobs(database, now=moment)
        finally:
            await database.dispose()

    report = run(work())
    if json_output:
        print_json(report.to_dict())
    else:
        _print_report(report, moment)
    for failure in report.failures:
        program = f" (program '{failure.program}')" if failure.program else ""
        typer.echo(f"step {failure.step}{program} failed: {failure.error}", err=True)
    if not report.is_ok:
        raise typer.Exit(STEP_FAILED_EXIT)


def _print_campaigns(report: DailyReport) -> None:
    for key, dated in report.date_campaigns.items():
        if dated["applied"] or dated["guarded"]:
            typer.echo(
                f"program '{key}': birthday and anniversary campaigns applied {dated['applied']} "
                f"times ({dated['points']} points), {dated['guarded']} birthdays refused by "
                "the birth-date guard"
            )
    for key, scheduled in report.schedule_campaigns.items():
        if scheduled["applied"]:
            typer.echo(
                f"program '{key}': schedule campaigns applied {scheduled['applied']} times "
                f"({scheduled['points']} points)"
            )


def _print_report(report: DailyReport, moment: datetime) -> None:
    typer.echo(
        f"as of {moment.isoformat()}: {report.lots_activated} lots activated, "
        f"{report.lots_expired} lots expired, {report.survey_invitations} survey invitations, "
        f"{report.feedback_analysed} feedback texts analysed"
    )
    breaches = report.ticket_breaches
    if breaches:
        typer.echo(
            f"tickets: {breaches['first_response']} first-response and "
            f"{breaches['resolution']} resolution breaches recorded"
        )
    for key, announced in report.points_expiring.items():
        if announced:
            typer.echo(f"program '{key}': {announced} points.expiring events")
    for key, review in report.tier_reviews.items():
        if review["ran"]:
            typer.echo(
                f"program '{key}': tiers reviewed for {review['reviewed']} members, "
                f"{review['upgraded']} up, {review['downgraded']} down"
            )
        else:
            typer.echo(f"program '{key}': tier review already ran today (or no tiers)")
    for key, segments in report.segments.items():
        fitted = "" if segments["clv_fitted"] else f" (no CLV: {segments['clv_problem']})"
        typer.echo(
            f"program '{key}': segments refreshed for {segments['members']} members, "
            f"{segments['at_risk']} at risk{fitted}"
        )
    _print_campaigns(report)
    for key, referred in report.referrals.items():
        if referred["qualified"] or referred["rewarded"] or referred.get("clawed_back"):
            typer.echo(
                f"program '{key}': {referred['qualified']} referrals qualified, "
                f"{referred['rewarded']} rewarded, {referred.get('clawed_back', 0)} taken back"
            )


def verify(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Check every ledger invariant over every account (cached balance = sum of entries = sum
    of lots less debt, lot bounds, movements) and every wallet's (balance = sum of entries,
    never negative, what purchases say the wallet paid). Prints each breach; exits 1 if there
    is one."""
    moment = utcnow()

    async def work(session: AsyncSession) -> list[Breach]:
        from patron.purchases.wallet_pay import verify_paid
        from patron.wallet.verify import verify as verify_wallet

        found = await verify_ledger(session, now=moment)
        found.extend(await verify_wallet(session, now=moment))
        found.extend(await verify_paid(session))
        return found

    breaches = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(
            {
                "ok": not breaches,
                "breaches": [
                    {
                        "check": b.check.value,
                        "member_id": b.member_id,
                        "subject": b.subject,
                        "expected": b.expected,
                        "actual": b.actual,
                    }
                    for b in breaches
                ],
            }
        )
    else:
        for b in breaches:
            typer.echo(
                f"BREACH {b.check.value}: member {b.member_id}, {b.subject}: "
                f"expected {b.expected}, found {b.actual}"
            )
        typer.echo("ledger verified: no breach" if not breaches else f"{len(breaches)} breach(es)")
    if breaches:
        raise typer.Exit(1)
