"""Shared CLI plumbing: JSON output, error reporting, the consoles. Commands only parse and call library code.

The error contract (README): a command that cannot do what it was asked prints ONE line on stderr,
``error: <what is wrong>``, and exits with code 2 (bad input: a NeurosafeError, a usage error, a file that
cannot be read); anything else is a bug and prints ``internal error: ...`` (exit 1). ``neurosafe --debug``
(or NEUROSAFE_DEBUG=1) shows the traceback instead. :class:`NeurosafeGroup`, the root command's class,
applies the contract to every command, including command groups added later.

Results go to stdout (:data:`out`, or JSON with ``--json``); logs and progress to stderr (:data:`console`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from neurosafe.core import progress
from neurosafe.core.errors import NeurosafeError

console = Console(stderr=True)  # logs, progress, errors
out = Console(soft_wrap=True)  # human-readable results

DEBUG = {"on": os.environ.get("NEUROSAFE_DEBUG", "") not in ("", "0")}

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


FigureAlias = typer.Option(None, "--figure", hidden=True,
                           help="Deprecated: the figure's file; use --out DIR (the figure goes there).")


def out_folder(out: Path, option: str = "--out") -> Path:
    """``out`` as an output folder, checked before work starts: it may not exist yet, but may not be a file."""
    if out.exists() and not out.is_dir():
        raise CliInputError(f"{option} {out} is a file; give a folder (it is created when missing)")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CliInputError(f"{option} {out}: {parent} is a file, not a folder")
            break
    return out


_MADE: dict[str, list[Path]] = {}  # folders a running command created (removed again when it fails empty)


def make_out_dir(folder: Path) -> Path:
    """Create the output ``folder`` (and missing parents); a command that then fails removes it if still empty."""
    out_folder(folder)
    if (top := _new_top(folder)) is not None:
        _MADE.setdefault("folders", []).append(top)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _new_top(folder: Path) -> Path | None:
    """The outermost folder that creating ``folder`` would create (None when it exists)."""
    if folder.exists():
        return None
    top = folder
    while top.parent != top and not top.parent.exists():
        top = top.parent
    return top


def figure_path(out: Path, name: str, figure: Path | None = None, json_out: bool = False) -> Path:
    """Where a command's figure goes: ``out/name``; the deprecated ``--figure FILE`` still wins when given."""
    if figure is None:
        return out_folder(out) / name
    if not json_out:
        console.print(f"note: --figure is deprecated; use --out DIR (the figure is written as DIR/{name})",
                      highlight=False)
    if figure.is_dir():
        raise CliInputError(f"--figure {figure} is a folder; give a file name (or use --out {figure})")
    out_folder(figure.parent, "--figure")
    return figure


def print_json(payload: dict) -> None:
    sys.stdout.write(json.dumps(to_jsonable(payload), indent=2) + "\n")


def report(payload: dict, json_out: bool, lines: list[str]) -> None:
    """Print ``payload`` as JSON with --json, else the human-readable ``lines`` (both on stdout)."""
    if json_out:
        print_json(payload)
    else:
        for line in lines:
            out.print(line)


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print a rich table with these column headers and rows of strings."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    out.print(table)


_NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|bool|str)_?\d*\(([^()]*)\)")


def one_line(message: str) -> str:
    """An error message as one clean line: whitespace collapsed, numpy scalar reprs (``np.float64(2.0)``)
    and pydantic's ``Value error, `` prefix removed."""
    text = _NUMPY_REPR.sub(r"\1", str(message))
    text = text.replace("Value error, ", "")
    return " ".join(text.split()) or "failed"


def fail(err: BaseException, code: int = 2, prefix: str = "error") -> None:
    """Print ``err`` in one line on stderr (the traceback too with --debug) and exit with ``code``."""
    if DEBUG["on"]:
        traceback.print_exception(err, file=sys.stderr)
    message = one_line(str(err) or type(err).__name__)
    console.print(f"[bold red]{prefix}:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise SystemExit(code) from err


def handle_errors(func: Callable) -> Callable:
    """Turn neurosafe's own errors into a one-line message and exit code 2 (no traceback unless --debug).

    :class:`NeurosafeGroup` already does this for every command; the decorator keeps a command's contract
    when it is called on its own (a sub-app in a test)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NeurosafeError as err:
            fail(err)

    return wrapper


def _is_input_error(err: BaseException) -> bool:
    """Errors that mean the input was wrong (not a bug): neurosafe's own, and files that cannot be read."""
    return isinstance(err, NeurosafeError | FileNotFoundError | IsADirectoryError | NotADirectoryError
                      | PermissionError | UnicodeDecodeError)


def _exception_named(err: BaseException, *names: str) -> bool:
    """Click's exceptions by name: typer may vendor click (typer._click) or use the click package."""
    return any(cls.__name__ in names for cls in type(err).__mro__)


class CliInputError(NeurosafeError):
    """A command-line value that no command accepts (e.g. a NaN or infinite number)."""


def _check_finite(callback: Callable) -> Callable:
    """``callback`` refusing NaN and infinite numbers in any of its arguments, before it starts."""

    @wraps(callback)
    def checked(*args, **kwargs):
        for name, value in kwargs.items():
            values = value if isinstance(value, list | tuple) else [value]
            if any(isinstance(v, float) and not math.isfinite(v) for v in values):
                raise CliInputError(f"--{name.replace('_', '-')}: {value} is not a finite number")
            if name.endswith("fraction") and isinstance(value, float) and not 0 < value < 1:
                raise CliInputError(f"--{name.replace('_', '-')} must lie strictly between 0 and 1; got {value:g}")
        out = kwargs.get("out")
        if isinstance(out, Path):  # an output that cannot be written is refused before any work
            if out.suffix and not out.is_dir():
                if out.exists() and not out.is_file():
                    raise CliInputError(f"--out {out} exists and is not a file")
                out_folder(out.parent)
            else:
                out_folder(out)
        for name in ("cache_dir", "checkpoints"):  # output folders besides --out
            if isinstance(kwargs.get(name), Path):
                out_folder(kwargs[name], f"--{name.replace('_', '-')}")
        made = _MADE.setdefault("folders", [])
        start = len(made)
        if isinstance(out, Path) and (top := _new_top(out)) is not None:
            made.append(top)
        try:
            return callback(*args, **kwargs)
        except BaseException:
            for folder in made[start:]:  # a failed command leaves no empty output folder behind
                if folder.is_dir() and not any(p.is_file() for p in folder.rglob("*")):
                    shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            del made[start:]

    checked.neurosafe_checked = True  # type: ignore[attr-defined]
    return checked


def _harden(command) -> None:
    """Every command below ``command``: numbers must be finite; flags show no ``<bool>`` value in --help."""
    for sub in getattr(command, "commands", {}).values():
        _harden(sub)
    callback = getattr(command, "callback", None)
    if callback is not None and not getattr(callback, "neurosafe_checked", False) and not hasattr(command, "commands"):
        command.callback = _check_finite(callback)
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
            param.metavar = ""
    if hasattr(command, "get_help_option") and not getattr(command, "neurosafe_help", False):
        command.get_help_option = _flag_help(command.get_help_option)  # --help is made per context
        command.neurosafe_help = True


def _flag_help(get_help_option: Callable) -> Callable:
    """``get_help_option`` whose ``--help`` flag shows no ``<bool>`` value in the help page."""

    @wraps(get_help_option)
    def wrapped(ctx):
        option = get_help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    return wrapped


class NeurosafeGroup(TyperGroup):
    """The root command: applies the error contract to every command and group below it (commands added
    later included), silences progress with ``--json`` and refuses non-finite numbers."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _harden(self)
        argv = list(sys.argv[1:] if args is None else args)
        with progress.switched(False if "--json" in argv else None):
            if not standalone_mode:
                return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            try:
                rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            except SystemExit:
                raise
            except KeyboardInterrupt:
                console.print("interrupted")
                sys.exit(130)
            except Exception as err:
                sys.exit(_exit_code(err))
        sys.exit(rv if isinstance(rv, int) else 0)


def _exit_code(err: Exception) -> int:
    """Report ``err`` per the contract; the exit code."""
    if _exception_named(err, "NoArgsIsHelpError"):
        console.print(err.format_message(), highlight=False, markup=False)
        return 2
    if _exception_named(err, "Abort"):
        console.print("aborted")
        return 1
    if _exception_named(err, "Exit"):
        return int(getattr(err, "exit_code", 0))
    if _exception_named(err, "ClickException"):  # usage errors: unknown option, bad value, missing argument
        ctx = getattr(err, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        code, message = int(getattr(err, "exit_code", 2)), RuntimeError(err.format_message() + where)
        prefix = "error"
    elif _is_input_error(err):
        code, message, prefix = 2, err, "error"
    else:
        code, prefix = 1, "internal error"
        message = RuntimeError(f"{type(err).__name__}: {err} (a bug: please report it; --debug shows where)")
    try:
        fail(message if not DEBUG["on"] else err, code=code, prefix=prefix)
    except SystemExit as done:
        return int(done.code)
    return code


def debug_callback(debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error.")) -> None:
    """Root options: set per invocation (an in-process caller, e.g. a test runner, invokes the app many times)."""
    DEBUG["on"] = debug or os.environ.get("NEUROSAFE_DEBUG", "") not in ("", "0")
