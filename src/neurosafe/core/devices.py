"""Device resolution: ``"auto"`` means the first CUDA GPU when one is present, else the CPU."""

from __future__ import annotations

from neurosafe.core.errors import NeurosafeError

__all__ = ["resolve_device"]


def resolve_device(device=None):
    """A ``torch.device`` for ``device`` (``"auto"``/None, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a device);
    asking for CUDA on a machine without it raises one clear error."""
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise NeurosafeError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise NeurosafeError(f"device {device!r} asked for, but no CUDA GPU is available; use 'auto' or 'cpu'")
    return dev
