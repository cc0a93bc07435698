"""The ``patron`` command line. Each command's help text is its docstring."""

from __future__ import annotations

import typer

from patron.cli import (
    analytics,
    db,
    demo,
    feedback,
    imports,
    jobs,
    keys,
    program,
    serve,
    simulate,
    tickets,
)

app = typer.Typer(
    name="patron",
    help="Patron: a self-hosted customer-loyalty platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(program.app, name="program")
app.add_typer(jobs.app, name="jobs")
app.add_typer(imports.app, name="import")
app.add_typer(analytics.app, name="analytics")
app.add_typer(feedback.app, name="feedback")
app.add_typer(tickets.app, name="tickets")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("verify")(jobs.verify)
app.command("simulate")(simulate.simulate)


def main() -> None:
    app()
