"""One executor interface for sweeps (scaling laws, seeds, models): in-process by default, Ray optionally.

``get_executor("local")`` runs cells one after the other in this process; ``get_executor("ray")``
spreads them over a Ray cluster (the optional ``ray`` extra; a local instance is started when no
address is given). Results come back in the order of the cells either way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from neurosafe.core.errors import NeurosafeError

__all__ = ["BACKENDS", "Executor", "ExecutorError", "LocalExecutor", "RayExecutor", "get_executor"]

BACKENDS = ("local", "ray")


class ExecutorError(NeurosafeError):
    """An unknown backend, or a backend that is not installed."""


@runtime_checkable
class Executor(Protocol):
    """Maps a function over cells and returns the results in order."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]: ...


class LocalExecutor:
    """Runs every cell here, sequentially (the default: deterministic, no extra dependencies)."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return [fn(item) for item in items]


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


class RayExecutor:
    """Runs cells as Ray tasks. ``address=None`` starts (or joins) a local instance; ``num_cpus`` per task.

    The function (with whatever data it closes over) is put in Ray's object store once, not per cell.
    Workers of a local instance get this process's ``sys.path`` (so they import the same code).
    """

    def __init__(self, address: str | None = None, num_cpus: float = 1, init_kwargs: dict | None = None):
        try:
            import ray
        except ImportError as err:
            raise ExecutorError(
                "backend 'ray' needs the optional extra: pip install 'neurosafe[ray]'"
            ) from err
        self._ray = ray
        self.num_cpus = num_cpus
        if not ray.is_initialized():
            kwargs = dict(init_kwargs or {})
            if address is None:
                kwargs.setdefault(
                    "runtime_env", {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
                )
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **kwargs)
        self._remote = ray.remote(num_cpus=num_cpus)(_apply)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        fn_ref = self._ray.put(fn)
        return self._ray.get([self._remote.remote(fn_ref, item) for item in items])


def get_executor(backend: str = "local", workers: int | None = None, **kwargs: Any) -> Executor:
    """The executor for ``backend`` ("local" or "ray"). ``workers`` caps Ray's parallel tasks (it sizes a local
    instance's CPUs); other keyword arguments go to the executor's constructor."""
    if backend == "local":
        return LocalExecutor(**kwargs)
    if backend == "ray":
        if workers is not None:
            kwargs.setdefault("init_kwargs", {}).setdefault("num_cpus", workers)
        return RayExecutor(**kwargs)
    raise ExecutorError(f"unknown executor backend {backend!r}; choose one of {BACKENDS}")
