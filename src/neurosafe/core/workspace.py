"""Per-thread scratch arrays reused between calls.

A fresh large numpy array costs one page fault per 4 KiB page on first touch (the kernel maps and zeroes
each page): about a thousand faults, 1-2 ms, for every 4 MB buffer, which for a fast kernel can be a
quarter of its time (ranking two 1,000-stimulus RDMs: ~4,000 faults per comparison). A hot loop that needs
the same scratch shapes call after call takes them from here instead; each thread has its own buffers, so
concurrent callers never share one.
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["KEEP_BYTES", "scratch"]

KEEP_BYTES = 2**24  # the largest buffer kept between calls (16 MiB); larger requests get a fresh array
_local = threading.local()


def scratch(name: str, shape: int | tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype`` on this thread's buffer ``name`` (grown when too
    small). The array is overwritten by the next request for ``name`` on this thread: use it only inside one
    call, never return it, and give buffers in use at the same time different names."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > KEEP_BYTES:
        return np.empty(shape, dtype)
    buffers = _local.__dict__
    buf = buffers.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = buffers[name] = np.empty(max(nbytes, 1), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)
