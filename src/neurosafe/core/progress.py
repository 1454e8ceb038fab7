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


class Stage:
    """A running stage; :meth:`advance` after each item (or set ``total`` later when it becomes known)."""

    def __init__(self, name: str, total: int | None, step: int | None, steps: int | None):
        self.name, self.total, self.step, self.steps = name, total, step, steps
        self.done = 0
        self.info = ""
        self.start = time.perf_counter()
        self._last = self.start
        stream = _SETTINGS.stream or sys.stderr
        tty = _SETTINGS.tty if _SETTINGS.tty is not None else bool(getattr(stream, "isatty", lambda: False)())
        self._stream = stream
        self._bar = None
        if _SETTINGS.enabled and tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.label, file=stream, unit="item", leave=True)
        elif _SETTINGS.enabled:
            self._write(f"{self.label}: started" + (f", {total} items" if total is not None else ""))

    @property
    def label(self) -> str:
        return f"[{self.step}/{self.steps}] {self.name}" if self.step and self.steps else self.name

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def line(self) -> str:
        """The plain status line: items done of total, elapsed and (when known) the ETA."""
        elapsed = time.perf_counter() - self.start
        items = f"{self.done}/{self.total} items" if self.total is not None else f"{self.done} items"
        eta = ""
        if self.total and self.done and self.done < self.total:
            eta = f", ETA {format_seconds(elapsed / self.done * (self.total - self.done))}"
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
        elif _SETTINGS.enabled:
            now = time.perf_counter()
            if now - self._last >= _SETTINGS.interval:
                self._last = now
                self._write(self.line())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif _SETTINGS.enabled:
            self._write(f"{self.line()} (done)")


@contextlib.contextmanager
def stage(name: str, total: int | None = None, step: int | None = None, steps: int | None = None
          ) -> Iterator[Stage]:
    """A stage of a long run (``step`` of ``steps``) with ``total`` items; closed (and reported) on exit."""
    s = Stage(name, total, step, steps)
    try:
        yield s
    finally:
        s.close()


def track(items: Iterable[T], name: str, total: int | None = None, step: int | None = None,
          steps: int | None = None) -> Iterator[T]:
    """Iterate ``items`` inside a :func:`stage`, advancing after each one."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with stage(name, total, step, steps) as s:
        for item in items:
            yield item
            s.advance()
