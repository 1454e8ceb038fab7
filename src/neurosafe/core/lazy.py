"""Packages whose public names are imported on first use (PEP 562 module ``__getattr__``).

``from neurosafe.metrics import Score`` then imports ``neurosafe.metrics.score`` only, not scikit-learn, scipy
and torch with every other metric: what lets a fully cached ``neurosafe run`` start in about a second (issue
18). A package's ``__init__`` names where each public name lives::

    __getattr__, __dir__ = lazy_exports(__name__, {
        "neurosafe.metrics.score": ["Score", "mean_score"],
        "neurosafe.metrics.cka": ["cka", "hsic"],
    })

(the scientific-python ``lazy_loader.attach`` idea, without a dependency). ``"load_twin=DigitalTwin.load"``
exports an attribute path under another name. A name that is also a submodule's name (``metrics.cka`` the
function and ``metrics/cka.py``) stays the function, as with eager imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable

__all__ = ["lazy_exports"]


class _LazyPackage(types.ModuleType):
    """A package module that keeps an exported name bound to the object, not to the same-named submodule the
    import system binds on the package when that submodule is imported."""

    def __setattr__(self, name: str, value: object) -> None:
        exported = self.__dict__.get("_lazy_where", {})
        if (isinstance(value, types.ModuleType) and name in exported and value.__name__ == f"{self.__name__}.{name}"
                and hasattr(value, name)):  # the submodule defines the exported object of the same name
            return  # the exported object is (or will be, by __getattr__) bound under this name
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: dict[str, Iterable[str]]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a module to the names it provides;
    a name that is a module's own last component (``{"neurosafe.subjects.zoo": ["zoo"]}``) is the module."""
    where, path = {}, {}
    for module, names in exports.items():
        for entry in names:
            name, _, attr = entry.partition("=")
            where[name], path[name] = module, (attr or name).split(".")
    mod = sys.modules[package]
    mod.__dict__["_lazy_where"] = where
    mod.__class__ = _LazyPackage

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = importlib.import_module(module)
        if module == f"{package}.{name}" and not hasattr(target, name):
            value = target  # the submodule itself
        else:
            value = target
            for part in path[name]:
                value = getattr(value, part)
        mod.__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(mod.__dict__) | set(where))

    return __getattr__, __dir__
