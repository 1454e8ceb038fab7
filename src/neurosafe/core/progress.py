"""One progress display for every long command: stage name, stage i of n, items done, elapsed time and ETA.

On a terminal it is a tqdm bar on stderr; when stderr is not a terminal (a log file, CI, a pipe) it prints
plain lines (``[2/4] train networks: 3/9 items, 41 s elapsed, ETA 82 s``) at most every ``interval``
seconds and once when a stage ends, so a log shows that the run is alive. ``configure(enabled=False)``
silences it (the CLI does so for ``--json``); stdout is never written.

Library code reports without knowing who listens::

    with stage("train networks", total=len(jobs), step=3, steps=4) as bar:
        for job in jobs:
            ...
            bar.advance()

or ``for job in track(jobs, "train networks")``.

A stage opened inside another one (a network's epochs inside "train networks", a model's activations inside a
scoring stage) is nested: on a terminal its bar disappears when it ends; as plain lines it prints nothing at
start or end, only the periodic line when it runs longer than ``interval`` (then also its end), so a log of
2,400 networks is not 4,800 lines. ``initial`` resumes a stage part-way (a checkpoint); ``advance(info=...)``
sets the status shown with the counts (``loss 0.312``).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TypeVar

__all__ = ["Stage", "configure", "enabled", "format_seconds", "reset", "stage", "switched", "track"]

T = TypeVar("T")


@dataclass
class _Settings:
    enabled: bool = True
    interval: float = 10.0
    stream: IO[str] | None = None  # None: sys.stderr at the time of writing (pytest and CliRunner swap it)
    tty: bool | None = None  # None: ask the stream


_SETTINGS = _Settings()
_OPEN: list[Stage] = []  # the stages open now, outermost first (nested stages report quietly)


def configure(enabled: bool | None = None, interval: float | None = None, stream: IO[str] | None = None,
              tty: bool | None = None) -> None:
    """Switch the display on or off, set the plain-line interval (s), the stream or force (non-)terminal mode."""
    if enabled is not None:
        _SETTINGS.enabled = enabled
    if interval is not None:
        _SETTINGS.interval = interval
    if stream is not None:
        _SETTINGS.stream = stream
    if tty is not None:
        _SETTINGS.tty = tty


def reset() -> None:
    """Back to the defaults: on, 10 s between plain lines, sys.stderr, terminal detected."""
    _SETTINGS.__dict__.update(vars(_Settings()))


def enabled() -> bool:
    return _SETTINGS.enabled


@contextlib.contextmanager
def switched(on: bool | None) -> Iterator[None]:
    """Within the block the display is ``on`` (None: left as configured); restored after."""
    old = _SETTINGS.enabled
    if on is not None:
        _SETTINGS.enabled = on
    try:
        yield
    finally:
        _SETTINGS.enabled = old


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(float(seconds), 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _plural(unit: str, n: int) -> str:
    return unit if n == 1 else unit + "s"


class Stage:
    """A running stage; :meth:`advance` after each item (or set ``total`` later when it becomes known)."""

    def __init__(self, name: str, total: int | None, step: int | None, steps: int | None, initial: int = 0,
                 unit: str = "item", show: bool | None = None):
        self.name, self.total, self.step, self.steps = name, total, step, steps
        self.done = self.initial = initial
        self.unit = unit
        self.info = ""
        self.start = time.perf_counter()
        self._last = self.start
        self.nested = bool(_OPEN)
        self._on = _SETTINGS.enabled and show is not False
        self._wrote = False
        stream = _SETTINGS.stream or sys.stderr
        tty = _SETTINGS.tty if _SETTINGS.tty is not None else bool(getattr(stream, "isatty", lambda: False)())
        self._stream = stream
        self._bar = None
        if self._on and tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=self.label, file=stream, unit=unit,
                             leave=not self.nested)
        elif self._on and not self.nested:
            self._write(f"{self.label}: started" + (f", {total} {_plural(unit, total)}" if total is not None else "")
                        + (f", resumed at {initial}" if initial else ""))

    @property
    def label(self) -> str:
        return f"[{self.step}/{self.steps}] {self.name}" if self.step and self.steps else self.name

    def _write(self, line: str) -> None:
        self._wrote = True
        self._stream.write(line + "\n")
        self._stream.flush()

    def line(self) -> str:
        """The plain status line: items done of total, elapsed and (when known) the ETA (from the items done
        since this stage started, so a resumed stage's ETA is not flattered by its checkpoint)."""
        elapsed = time.perf_counter() - self.start
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        items = f"{count} {_plural(self.unit, self.done if self.total is None else self.total)}"
        eta = ""
        if self.total and self.done > self.initial and self.done < self.total:
            eta = f", ETA {format_seconds(elapsed / (self.done - self.initial) * (self.total - self.done))}"
        info = f", {self.info}" if self.info else ""
        return f"{self.label}: {items}{info}, {format_seconds(elapsed)} elapsed{eta}"

    def advance(self, n: int = 1, info: str | None = None) -> None:
        """Count ``n`` more items done; ``info`` (e.g. ``val r 0.31``) replaces the status shown with them."""
        self.done += n
        if info is not None:
            self.info = info
        if self._bar is not None:
            if info is not None:
                self._bar.set_postfix_str(info, refresh=False)
            self._bar.update(n)
        elif self._on:
            now = time.perf_counter()
            if now - self._last >= _SETTINGS.interval:
                self._last = now
                self._write(self.line())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._on and (not self.nested or self._wrote):
            self._write(f"{self.line()} (done)")


@contextlib.contextmanager
def stage(name: str, total: int | None = None, step: int | None = None, steps: int | None = None,
          initial: int = 0, unit: str = "item", show: bool | None = None) -> Iterator[Stage]:
    """A stage of a long run (``step`` of ``steps``) with ``total`` items (``initial`` of them done already, e.g.
    restored from a checkpoint); closed (and reported) on exit. ``show=False`` silences this stage (a library
    call's ``progress=False``); otherwise it shows as configured (off under ``--json``)."""
    s = Stage(name, total, step, steps, initial=initial, unit=unit, show=show)
    _OPEN.append(s)
    try:
        yield s
    finally:
        _OPEN.remove(s)
        s.close()


def track(items: Iterable[T], name: str, total: int | None = None, step: int | None = None,
          steps: int | None = None, initial: int = 0, unit: str = "item", show: bool | None = None) -> Iterator[T]:
    """Iterate ``items`` inside a :func:`stage`, advancing after each one."""
    if total is None and hasattr(items, "__len__"):
        total = initial + len(items)  # type: ignore[arg-type]
    with stage(name, total, step, steps, initial=initial, unit=unit, show=show) as s:
        for item in items:
            yield item
            s.advance()
