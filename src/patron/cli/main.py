"""The ``patron`` command line. Each command's help text is its docstring.

The command modules pull in very different dependencies (uvicorn, SciPy, the text models, the
demo data), and importing all of them costs about two seconds before any work starts. So
:func:`main` imports only the module of the command being run; ``patron --help`` (or a name
that is not a command, which Typer then reports) builds the whole tree. ``app`` is the whole
tree too, built on first access, for the tests' ``CliRunner``.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Literal

import typer

# name -> (module, attribute, what it is): a sub-application or a single command.
COMMANDS: dict[str, tuple[str, str, Literal["group", "command"]]] = {
    "db": ("patron.cli.db", "app", "group"),
    "keys": ("patron.cli.keys", "app", "group"),
    "users": ("patron.cli.users", "app", "group"),
    "program": ("patron.cli.program", "app", "group"),
    "jobs": ("patron.cli.jobs", "app", "group"),
    "campaigns": ("patron.cli.campaigns", "app", "group"),
    "referrals": ("patron.cli.referrals", "app", "group"),
    "partners": ("patron.cli.partners", "app", "group"),
    "import": ("patron.cli.imports", "app", "group"),
    "analytics": ("patron.cli.analytics", "app", "group"),
    "feedback": ("patron.cli.feedback", "app", "group"),
    "tickets": ("patron.cli.tickets", "app", "group"),
    "members": ("patron.cli.members", "app", "group"),
    "wallet": ("patron.cli.wallet", "app", "group"),
    "portal": ("patron.cli.portal", "app", "group"),
    "events": ("patron.cli.events", "app", "group"),
    "webhooks": ("patron.cli.webhooks", "app", "group"),
    "messages": ("patron.cli.messages", "app", "group"),
    "audit": ("patron.cli.audit", "audit", "command"),
    "demo": ("patron.cli.demo", "demo", "command"),
    "serve": ("patron.cli.serve", "serve", "command"),
    "worker": ("patron.cli.worker", "worker", "command"),
    "verify": ("patron.cli.jobs", "verify", "command"),
    "backup": ("patron.cli.backup", "backup", "command"),
    "restore": ("patron.cli.backup", "restore", "command"),
    "simulate": ("patron.cli.simulate", "simulate", "command"),
}


def build_app(names: list[str] | None = None) -> typer.Typer:
    """The CLI with the commands ``names`` (all of them, in help order, by default)."""
    app = typer.Typer(
        name="patron",
        help="Patron: a self-hosted customer-loyalty platform.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    # A callback keeps the app a group even with one command registered (Typer would
    # otherwise run a lone command without its name).
    app.callback()(_root)
    for name in names if names is not None else list(COMMANDS):
        module_name, attribute, kind = COMMANDS[name]
        target = getattr(importlib.import_module(module_name), attribute)
        if kind == "group":
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    return app


def _root() -> None:
    """Patron: a self-hosted customer-loyalty platform."""


def _command_name(arguments: list[str]) -> str | None:
    """The command the arguments name, if the first argument is one (options come after it:
    the top-level group takes none of its own besides ``--help`` and completion)."""
    if arguments and arguments[0] in COMMANDS:
        return arguments[0]
    return None


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


def main() -> None:
    name = _command_name(sys.argv[1:])
    app = build_app([name] if name is not None else None)
    # The hundreds of thousands of objects the imports made (modules, classes, SQLAlchemy's
    # tables) live as long as the process: keep the collector from walking them again at
    # every full collection and once more at exit.
    gc.freeze()
    app()
