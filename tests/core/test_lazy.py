"""Packages whose public names are imported on first use (issue 18: a cached ``neurosafe run`` in seconds):
every exported name resolves to the object its module defines, a same-named submodule does not shadow a
function, and reading a study's configuration and cache key imports no torch, scipy, sklearn or xarray."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

ALIASES = {"load_twin", "transfer"}  # twin: DigitalTwin.load and transfer_twin (tested below)
LAZY = ["neurosafe.metrics", "neurosafe.subjects", "neurosafe.finetune", "neurosafe.twin", "neurosafe.study"]


@pytest.mark.parametrize("package", LAZY)
def test_every_exported_name_is_its_modules_object(package):
    pkg = importlib.import_module(package)
    where = pkg.__dict__["_lazy_where"]
    # the public list is in the lazy table; anything more there is a submodule (``neurosafe.study.runner``)
    assert set(pkg.__all__) <= set(where)
    assert all(where[name] == f"{package}.{name}" for name in set(where) - set(pkg.__all__))
    for name in set(where) - ALIASES:
        module = importlib.import_module(where[name])
        if hasattr(module, name):
            assert getattr(pkg, name) is getattr(module, name), name
        else:  # the submodule itself
            assert where[name] == f"{package}.{name}" and getattr(pkg, name) is module, name
        assert name in dir(pkg)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        pkg.nothing_here  # noqa: B018


def test_aliases_and_submodules_named_like_functions():
    import neurosafe.metrics
    import neurosafe.metrics.cka as _  # noqa: F401  (binds the submodule on the package: must not shadow)
    import neurosafe.twin
    from neurosafe.metrics import cka
    from neurosafe.metrics.cka import cka as cka_function
    from neurosafe.twin.model import DigitalTwin
    from neurosafe.twin.train import transfer_twin

    assert cka is cka_function and callable(neurosafe.metrics.cka)
    assert neurosafe.twin.load_twin == DigitalTwin.load and neurosafe.twin.transfer is transfer_twin
    from neurosafe.metrics import torch as metrics_torch  # a submodule that is not exported still imports

    assert metrics_torch.__name__ == "neurosafe.metrics.torch"


def test_study_config_and_cache_key_import_no_heavy_library():
    code = ("import sys\n"
            "from neurosafe.study import load_study\n"
            "from neurosafe.study.cache import study_key\n"
            "from neurosafe.metrics import Score\n"
            "cfg = load_study(None)\n"
            "assert len(study_key(cfg)) == 16 and Score(value=1.0).value == 1.0\n"
            "print(sorted(m for m in ('torch', 'scipy', 'sklearn', 'xarray', 'pandas', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
