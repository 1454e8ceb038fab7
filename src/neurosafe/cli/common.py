"""Shared CLI plumbing: JSON output, error reporting, the console. Commands only parse and call library code."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from neurosafe.core.errors import NeurosafeError

console = Console(stderr=True)

JSON_OPTION_HELP = "Print machine-readable JSON on stdout instead of tables."


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
