"""Forward-hook and train/eval-mode helpers: the one way neurosafe reads or edits a module's activations.

Every hook is removed in a ``finally``, so an exception in the forward pass never leaves a hook behind.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from neurosafe.core.errors import NeurosafeError

__all__ = ["SiteError", "capture", "check_sites", "eval_mode", "first_tensor", "hooked", "module_sites"]


class SiteError(NeurosafeError):
    """A site (module name) that the model does not have, or that did not run in the forward pass."""


def first_tensor(output):
    """A module's output as one tensor: the tensor itself or the first tensor of a tuple/list (RNNs)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, list | tuple):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    raise SiteError(f"a hooked module returned {type(output).__name__}, not a tensor")


def module_sites(model) -> tuple[str, ...]:
    """Every named submodule of ``model`` (the sites a hook can attach to), in definition order."""
    return tuple(name for name, _ in model.named_modules() if name)


def check_sites(model, sites: str | Sequence[str]) -> list[str]:
    """``sites`` as a list, every one a named submodule of ``model``; else a SiteError with close matches."""
    sites = [sites] if isinstance(sites, str) else list(sites)
    if not sites:
        raise SiteError("no sites given")
    modules = dict(model.named_modules())
    valid = module_sites(model)
    for site in sites:
        if not site or site not in modules:
            close = difflib.get_close_matches(str(site), valid, n=5, cutoff=0.4)
            hint = f"close matches: {close}" if close else f"valid sites include {list(valid[:12])}"
            raise SiteError(f"unknown site {site!r} in {type(model).__name__}; {hint}")
    return sites


@contextmanager
def eval_mode(model) -> Iterator[None]:
    """Evaluation mode (dropout off, batch-norm statistics frozen) inside the block; the previous mode is
    restored afterwards, also on error. Anything that is not an ``nn.Module`` passes through unchanged."""
    from torch import nn

    if not isinstance(model, nn.Module):
        yield
        return
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@contextmanager
def hooked(model, hooks: dict[str, Callable]) -> Iterator[None]:
    """Forward hooks ``{site: fn(module, inputs, output) -> output | None}`` attached inside the block.

    A hook that returns a value replaces the module's output (lesions, patching); hooks are removed on exit.
    The site ``""`` is the model itself (its output).
    """
    named = [s for s in hooks if s]
    if named or not hooks:
        check_sites(model, named)
    modules = dict(model.named_modules())
    handles = [modules[s].register_forward_hook(fn) for s, fn in hooks.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def capture(model, sites: Sequence[str], transform: Callable | None = None) -> Iterator[dict]:
    """Record the outputs of ``sites`` during forward passes inside the block into the yielded dict
    (``{site: tensor}``, the last pass's output, gradients kept). ``transform`` maps each output first."""
    store: dict = {}

    def keep(site: str) -> Callable:
        def fn(_module, _inputs, output):
            out = first_tensor(output)
            store[site] = out if transform is None else transform(out)
        return fn

    with hooked(model, {s: keep(s) for s in sites}):
        yield store
