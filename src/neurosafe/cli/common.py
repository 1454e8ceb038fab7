"""Shared CLI plumbing: JSON output, error reporting, the console. Commands only parse and call library code."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from neurosafe.core.errors import NeurosafeError

console = Console(stderr=True)

JSON_OPTION_HELP = "Print machine-readable JSON on stdout instead of tables."
JsonOpt = typer.Option(False, "--json", help=JSON_OPTION_HELP)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, NaN (-> null) and paths to JSON-safe values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def print_json(payload: dict) -> None:
    sys.stdout.write(json.dumps(to_jsonable(payload), indent=2) + "\n")


def report(payload: dict, json_out: bool, lines: list[str]) -> None:
    """Print ``payload`` as JSON with --json, else the human-readable ``lines``."""
    if json_out:
        print_json(payload)
    else:
        for line in lines:
            console.print(line)


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print a rich table with these column headers and rows of strings."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def handle_errors(func: Callable) -> Callable:
    """Turn neurosafe's own errors into a one-line message and exit code 2 (no traceback)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NeurosafeError as err:
            console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True, highlight=False)
            raise SystemExit(2) from err

    return wrapper
