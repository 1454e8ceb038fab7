from functools import partial

import numpy as np
import pytest

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.executor import Executor, ExecutorError, LocalExecutor, get_executor


def _weighted(item, weights):
    return float(np.dot(weights, np.arange(len(weights)) * item))


def test_inprocess_executor_maps_in_order():
    ex = get_executor()
    assert isinstance(ex, LocalExecutor) and isinstance(ex, Executor)
    assert ex.map(lambda v: v * v, [3, 1, 2]) == [9, 1, 4]


def test_unknown_backend():
    with pytest.raises(ExecutorError, match="unknown executor backend") as info:
        get_executor("dask")
    assert isinstance(info.value, NeurosafeError)


def test_ray_executor_agrees_with_inprocess():
    """Against a real local Ray instance (the optional extra, installed with the dev tools)."""
    import ray  # installed by the dev extra: a missing Ray fails here instead of skipping
    fn = partial(_weighted, weights=np.linspace(0, 1, 1000))
    items = list(range(7))
    try:
        ex = get_executor("ray", num_cpus=1, init_kwargs={"num_cpus": 2})
        assert isinstance(ex, Executor)
        assert ex.map(fn, items) == LocalExecutor().map(fn, items)
    finally:
        ray.shutdown()
