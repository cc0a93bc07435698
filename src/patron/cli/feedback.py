"""``patron feedback``: offline text analysis of customer feedback in Russian, Polish and
English, the analysis of stored answers and reviews, the problem table, survey invitations."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import (
    DbOption,
    JsonOption,
    in_unit_of_work,
    print_json,
    read_text_file,
    run,
)
from patron.feedback import service as feedback_service
from patron.feedback.analysis import AnalysisMode, analyze
from patron.feedback.schemas import AnalysisRun, InvitationBatch, InvitationRequest, ProblemTable
from patron.kit.time import parse_instant, period, utcnow

app = typer.Typer(
    help="Customer feedback: text analysis, problems, survey invitations.", no_args_is_help=True
)


@app.command("classify")
def classify(
    file: Annotated[str, typer.Argument(help="One text per line, or '-' for standard input.")],
    mode: Annotated[
        AnalysisMode,
        typer.Option(help="cascade (fast, then embeddings for unsure texts), accurate or fast."),
    ] = AnalysisMode.CASCADE,
    json_output: JsonOption = False,
) -> None:
    """Language, class (negative, positive, suggestion, neutral) with its probability,
    lemmatised keywords and topic of every line, in order."""
    text = sys.stdin.read() if file == "-" else read_text_file(file)
    lines = text.splitlines()
    results = analyze(lines, mode=mode)
    if json_output:
        print_json({"results": [result.to_json() for result in results]})
        return
    for text, result in zip(lines, results, strict=True):
        typer.echo(
            f"{result.language.value}  {result.label.value:<10} {result.probability:.2f}  "
            f"{result.topic.value:<20} {text[:60]}"
        )


FromOption = Annotated[
    str | None, typer.Option("--from", help="Period start, ISO time (default: 30 days ago).")
]
ToOption = Annotated[str | None, typer.Option("--to", help="Period end, ISO time (default: now).")]
PROBLEM_DAYS = 30


def _period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The ``--from``/``--to`` period, read by the API's own rule (``kit.time.period``)."""
    try:
        since = parse_instant(start) if start else None
        until = parse_instant(end) if end else None
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO 8601 time: {error}") from error
    return period(since, until, now=utcnow(), days=PROBLEM_DAYS)


def _print_table(table: ProblemTable) -> None:
    typer.echo(
        f"{table.start.isoformat()} .. {table.end.isoformat()}: {table.texts} texts, "
        + ", ".join(f"{label} {count}" for label, count in table.labels.items())
    )
    if not table.problems:
        typer.echo("no complaints in this period")
    for row in table.problems:
        change = "new" if row.change is None else f"{row.change:+.0%}"
        typer.echo(
            f"{row.topic:<22} {row.count:>5} {row.share:>6.1%}  severity {row.mean_severity:.2f}"
            f"  score {row.score:>7.2f}  {row.trend:<4} {change}"
        )
        for example in row.examples:
            typer.echo(f"    - {example[:100]}")


@app.command("analyze")
def analyze_stored(
    db: DbOption = None,
    start: FromOption = None,
    end: ToOption = None,
    again: Annotated[bool, typer.Option(help="Analyse already analysed texts again.")] = False,
    mode: Annotated[AnalysisMode, typer.Option(help="cascade, accurate or fast.")] = (
        AnalysisMode.CASCADE
    ),
    json_output: JsonOption = False,
) -> None:
    """Analyse the stored survey answers and reviews of the period that are not analysed yet
    (all of them with --again), then print the label counts and the problem table."""
    since, until = _period(start, end)

    async def work(session: AsyncSession) -> tuple[AnalysisRun, ProblemTable]:
        now = utcnow()
        run_result = await feedback_service.analyse_pending(
            session, now=now, period=(since, until), again=again, mode=mode
        )
        table = await feedback_service.problems(session, start=since, end=until)
        return run_result, table

    analysed, table = run(in_unit_of_work(db, work))
    if json_output:
        print_json(
            {
                "analysed": analysed.model_dump(mode="json"),
                "problems": table.model_dump(mode="json"),
            }
        )
        return
    typer.echo(f"analysed {analysed.analysed} texts")
    _print_table(table)


@app.command("problems")
def problems(
    db: DbOption = None,
    start: FromOption = None,
    end: ToOption = None,
    tier: Annotated[str | None, typer.Option(help="Only members of this tier.")] = None,
    store: Annotated[str | None, typer.Option(help="Only this store.")] = None,
    sku: Annotated[str | None, typer.Option(help="Only reviews of this product.")] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only texts of members of this RFM segment.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """The problem table of the period: complaint topics ranked by count x mean severity,
    with share, trend against the period before and example texts."""
    since, until = _period(start, end)

    async def work(session: AsyncSession) -> ProblemTable:
        return await feedback_service.problems(
            session, start=since, end=until, tier=tier, store=store, sku=sku, segment=segment
        )

    table = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(table.model_dump(mode="json"))
        return
    _print_table(table)


@app.command("invite")
def invite(
    survey: Annotated[str, typer.Argument(help="The survey key.")],
    source_ref: Annotated[str, typer.Option(help="Names this sending; repeats are no-ops.")],
    member: Annotated[
        list[int] | None, typer.Option("--member", help="A member id (repeatable).")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="Every active member of this tier.")] = None,
    segment: Annotated[
        str | None, typer.Option(help="Every active member of this RFM segment.")
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Invite members to a survey: single-use links /s/{token}, printed one per line."""
    try:
        request = InvitationRequest(
            member_ids=member or None, tier=tier, segment=segment, source_ref=source_ref
        )
    except ValidationError as error:
        raise typer.BadParameter(str(error.errors()[0]["msg"])) from error

    async def work(session: AsyncSession) -> InvitationBatch:
        return await feedback_service.invite_members(
            session, survey_key=survey, request=request, now=utcnow()
        )

    batch = run(in_unit_of_work(db, work))
    if json_output:
        print_json(batch.model_dump(mode="json"))
        return
    for item in batch.invitations:
        typer.echo(f"{item.member_id}\t{item.link}\t{item.expires_at.isoformat()}")
    typer.echo(f"{batch.created} invited, {batch.existing} already invited", err=True)
