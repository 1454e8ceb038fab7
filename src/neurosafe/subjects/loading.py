"""``resolve``: the one grammar for "the model the user named" (every CLI ``--model`` and the study use it).

``spec`` is one of

- a zoo name (:func:`neurosafe.subjects.zoo.list_models`, e.g. ``cnn_small``);
- ``package.module:factory``: ``factory`` of an importable module;
- ``path/to/file.py:factory``: ``factory`` of a Python file, which is executed as a module;
- a stored trained network (``objective:contrastive:seed0``; see :mod:`neurosafe.subjects.store`).

**This imports and runs the user's code**: resolve only specs you trust. The factory is called with the
keyword arguments it accepts, under torch's RNG seeded from ``child_seed(seed, "model")`` inside
``torch.random.fork_rng`` (same seed, same initial weights; the caller's RNG is untouched). It must return a
``torch.nn.Module`` or a ``Subject``; ``weights`` is a state-dict file read with ``weights_only=True``.
Before anything is called, the factory must be a ``torch.nn.Module``/``Subject`` class or a Python function
whose required arguments resolve supplies, outside the standard library: ``os:system`` or ``numpy:zeros``
are refused in one line, never called.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

from torch import nn

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.io import CorruptFileError, load_state
from neurosafe.subjects import store, zoo
from neurosafe.subjects.base import Subject

__all__ = ["ModelSpecError", "resolve"]


class ModelSpecError(NeurosafeError):
    """A model spec that cannot be resolved: unknown name, missing file/module/factory, wrong type, bad weights."""


def _factory(spec: str) -> Callable:
    if ":" not in spec:
        if spec not in zoo.list_models():
            form = "a model file needs a factory name: file.py:factory" if spec.endswith(".py") else \
                f"not a zoo name ({', '.join(zoo.list_models())}), package.module:factory or path/to/file.py:factory"
            raise ModelSpecError(f"unknown model {spec!r}: {form}")
        return zoo.factory(spec)
    where, _, attr = spec.rpartition(":")
    if not where.strip() or not attr.strip():
        raise ModelSpecError(f"model spec {spec!r} names no module or no factory: give package.module:factory "
                             "or path/to/file.py:factory")
    if where.endswith(".py"):
        if not Path(where).is_file():
            raise ModelSpecError(f"model file not found: {where}")
        name = "neurosafe_user_model_" + hashlib.sha256(str(Path(where).resolve()).encode()).hexdigest()[:8]
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, where))
        writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ beside the user's file
        try:
            module.__spec__.loader.exec_module(module)
        finally:
            sys.dont_write_bytecode = writes
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise ModelSpecError(f"cannot import module {where!r} of model {spec!r}: {err}") from err
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ModelSpecError(f"{where} has no callable {attr!r}")
    if not where.endswith(".py") and where.split(".")[0] in sys.stdlib_module_names:
        raise ModelSpecError(f"{spec} is in Python's standard library, not a model factory")
    if inspect.isclass(factory):
        if not issubclass(factory, nn.Module | Subject):
            raise ModelSpecError(f"{spec} is the class {factory.__name__}, not a torch.nn.Module or Subject class")
    elif not inspect.isfunction(factory):  # builtins, ufuncs, bound methods of other objects
        raise ModelSpecError(f"{spec} is a {type(factory).__name__}, not a Python function or class that builds a "
                             "torch.nn.Module")
    return factory


def _check_callable(spec: str, factory: Callable, kwargs: dict) -> None:
    """Refuse, before calling it, a factory that needs arguments resolve does not give (not a model factory)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return
    needed = [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
              and p.name not in kwargs]
    if needed:
        raise ModelSpecError(f"{spec} needs the argument(s) {', '.join(needed)}: a model factory must build its "
                             "network from keyword arguments with defaults (e.g. in_channels, n_classes)")


def resolve(spec: str, weights: str | Path | None = None, seed: int = 0, **kwargs):
    """The ``nn.Module`` or ``Subject`` named by ``spec`` (see the module docstring): this **imports and runs
    the user's code**. ``kwargs`` (e.g. ``in_channels``, ``n_classes``) go to the factory when it accepts them;
    ``weights`` is a state-dict file loaded into a module with ``weights_only=True``."""
    if not isinstance(spec, str) or not spec:
        raise ModelSpecError(f"a model spec must be a non-empty string; got {spec!r}")
    if store.is_stored_name(spec):
        model = store.load_stored(spec, kwargs.get("in_channels"))
    else:
        factory = _factory(spec)
        _check_callable(spec, factory, kwargs)
        model = zoo.seeded_call(factory, seed, kwargs)
    if not isinstance(model, nn.Module | Subject):
        raise ModelSpecError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module or a Subject")
    if weights is not None:
        if not isinstance(model, nn.Module):
            raise ModelSpecError(f"weights need a torch.nn.Module; {spec} returned a {type(model).__name__}")
        try:
            model.load_state_dict(load_state(weights))
        except FileNotFoundError as err:
            raise ModelSpecError(f"weights file not found: {weights}") from err
        except (CorruptFileError, RuntimeError, KeyError, TypeError, AttributeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelSpecError(f"cannot load weights {weights} into {spec}: {first}") from err
    return model
