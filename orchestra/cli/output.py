"""How commands print: a JSON document with ``--json``, else a line for people."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from orchestra.errors import OrchestraError

__all__ = ["JsonOption", "emit", "fail"]

JsonOption = typer.Option(False, "--json", help="Print one JSON document instead of text.")

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print ``data`` as JSON, or ``text`` (rich markup) for a person."""
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True))
    else:
        _out.print(text, soft_wrap=True)


def fail(as_json: bool, error: OrchestraError, code: int = 1) -> NoReturn:
    """Report ``error`` (whose message says what to do next) and exit with ``code``."""
    if as_json:
        typer.echo(json.dumps({"error": str(error), "error_type": type(error).__name__}))
    else:
        _err.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
    raise typer.Exit(code)
