"""``patron feedback``: offline text analysis of customer feedback in Russian, Polish and
English (more commands come with surveys, reviews and tickets)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from patron.cli.options import JsonOption, print_json
from patron.feedback.analysis import AnalysisMode, analyze

app = typer.Typer(help="Customer feedback: text analysis.", no_args_is_help=True)


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
    if file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            typer.echo(f"error: cannot read {file}: {error.strerror}", err=True)
            raise typer.Exit(2) from error
    results = analyze(lines, mode=mode)
    if json_output:
        print_json({"results": [result.to_json() for result in results]})
        return
    for text, result in zip(lines, results, strict=True):
        typer.echo(
            f"{result.language.value}  {result.label.value:<10} {result.probability:.2f}  "
            f"{result.topic.value:<20} {text[:60]}"
        )
