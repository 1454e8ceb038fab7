"""Per-thread scratch arrays: reused by name within a thread, never shared across names or threads, never kept
above the size limit."""

import threading

import numpy as np

from neurosafe.core import workspace
from neurosafe.core.workspace import scratch


def test_a_name_reuses_its_memory_and_grows_when_too_small():
    first = scratch("test reuse", (10, 20))
    assert first.shape == (10, 20) and first.dtype == np.float64
    again = scratch("test reuse", 50, np.int32)
    assert again.shape == (50,) and again.dtype == np.int32
    assert np.shares_memory(first, again)
    bigger = scratch("test reuse", (100, 100))
    assert bigger.shape == (100, 100)
    bigger[:] = 1.0  # the whole of the grown buffer is writable
    assert np.shares_memory(bigger, scratch("test reuse", 7))


def test_different_names_never_share_memory():
    a, b = scratch("test a", 1000), scratch("test b", 1000)
    assert not np.shares_memory(a, b)


def test_each_thread_has_its_own_buffers():
    mine = scratch("test thread", 1000)
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(scratch("test thread", 1000)))
    worker.start()
    worker.join()
    assert not np.shares_memory(mine, theirs[0])


def test_requests_over_the_limit_get_a_fresh_array_each_time():
    n = workspace.KEEP_BYTES // 8 + 1
    a, b = scratch("test big", n), scratch("test big", n)
    assert a.shape == (n,) and not np.shares_memory(a, b)
