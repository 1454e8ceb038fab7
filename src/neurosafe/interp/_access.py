"""How an experiment reaches its subject: recorded responses, a Subject's ``respond``, or a differentiable forward.

Three kinds of source are accepted everywhere in ``neurosafe.interp``:

- a **recording**: a response DataArray (stimulus, neuron[, repeat]) whose stimulus coords carry the stimulus
  parameters (e.g. ``orientation``), or a ``Recording`` holding one;
- a **Subject** (``sites`` + ``respond``): the synthetic brain, a ``TorchSubject``, a twin; its units are the
  neurons its ``respond`` returns;
- a plain ``torch.nn.Module`` with a site name from ``named_modules()`` (``None``: the model's output).

Gradient methods (MEIs, gradient RFs) and lesions need a ``DifferentiableSubject`` (``activations(x, sites)``:
a ``TorchSubject``, the synthetic brain, a twin), or a plain module or function, which
``neurosafe.subjects.as_differentiable`` wraps; ``site=None`` is the subject's output (its last site). For those
methods a unit of a site whose activations are (B, C, H, W) is **channel C at the spatial centre**
(H // 2, W // 2), the usual choice for convolutional units (e.g. Walker et al. 2019 read out model neurons at one
position); (B, D) sites are D units; other shapes are flattened.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.hooks import eval_mode
from neurosafe.data.io import Recording
from neurosafe.data.recording import make_responses, validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.subjects import DifferentiableSubject, NotDifferentiableError, Subject, as_differentiable, network

__all__ = [
    "InterpError",
    "UnknownSiteError",
    "differentiable_forward",
    "measure",
    "resolve_units",
]

DEFAULT_IMAGE_SIZE = 32


class InterpError(NeurosafeError):
    """Bad input to an in-silico experiment (wrong stimuli, too few stimuli, no differentiable model, ...)."""


class UnknownSiteError(InterpError):
    """A site name that the subject or model does not have."""


def _site_error(site: str, valid: Sequence[str], owner: str) -> UnknownSiteError:
    close = difflib.get_close_matches(str(site), [str(v) for v in valid], n=5, cutoff=0.4)
    hint = f"close matches: {close}" if close else f"valid sites: {list(valid)[:15]}"
    return UnknownSiteError(f"unknown site {site!r} in {owner}; {hint}")


def is_recording(source) -> bool:
    return isinstance(source, xr.DataArray | Recording)


def check_site(subject, site: str | None, owner=None) -> None:
    """Raise :class:`UnknownSiteError` (with close names) unless ``site`` is None or one of ``subject.sites``."""
    if site is not None and site not in tuple(subject.sites):
        raise _site_error(site, tuple(subject.sites), type(subject if owner is None else owner).__name__)


def run_model(model: Callable[[Tensor], Tensor], x: Tensor, name: str | None = None) -> Tensor:
    """Call ``model(x)``; a shape error from PyTorch becomes an :class:`InterpError` naming the input shape."""
    try:
        return model(x)
    except RuntimeError as err:
        raise InterpError(f"{name or type(model).__name__} failed on input of shape {tuple(x.shape)}: {err}") from err


def unit_view(act: Tensor) -> Tensor:
    """(B, n_units): (B, C, H, W) -> channel at the spatial centre; (B, D) unchanged; else flattened."""
    if act.ndim == 4:
        return act[:, :, act.shape[2] // 2, act.shape[3] // 2]
    return act if act.ndim == 2 else act.flatten(1)


# --------------------------------------------------------------------------------- differentiable models
@dataclass
class Differentiable:
    """A differentiable view of one site: ``forward(x) -> (B, n_units)``, the subject's network (None for a
    subject without one), its device."""

    forward: Callable[[Tensor], Tensor]
    module: nn.Module | None
    site: str
    device: torch.device
    image_size: int | None
    unit_ids: Callable[[int], np.ndarray]


def subject_site(source, site: str | None) -> tuple[DifferentiableSubject, str]:
    """(``source`` as a ``DifferentiableSubject``, the checked site; None: the subject's output, its last site)."""
    try:
        subject = as_differentiable(source)
    except NotDifferentiableError as err:
        raise InterpError(f"a gradient method or lesion needs a differentiable model; {err}") from err
    site = tuple(subject.sites)[-1] if site is None else site
    check_site(subject, site, source)
    return subject, site


def _unit_ids(source, site: str) -> Callable[[int], np.ndarray]:
    """The subject's own neuron ids when it has as many (the synthetic brain), else ``site:index``."""
    own = getattr(source, "neuron_ids", None)

    def ids(n: int) -> np.ndarray:
        if isinstance(own, np.ndarray | list | tuple) and len(own) == n:
            return np.asarray(own, dtype=object)
        return np.array([f"{site}:{i}" for i in range(n)], dtype=object)

    return ids


def differentiable(source, site: str | None = None) -> Differentiable:
    """Resolve ``source`` + ``site`` into a :class:`Differentiable` (see the module docstring for the rules)."""
    subject, site = subject_site(source, site)
    name = type(source).__name__
    forward = lambda x: unit_view(run_model(lambda v: subject.activations(v, [site])[site], x, name))  # noqa: E731
    return Differentiable(forward, network(subject), site, subject.device,
                          getattr(source, "image_size", None), _unit_ids(source, site))


def differentiable_forward(subject, site: str | None = None) -> Callable[[Tensor], Tensor]:
    """A differentiable function images (B, C, H, W) in [0, 1] -> unit responses (B, n_units) of ``site``."""
    return differentiable(subject, site).forward


def input_shape(diff: Differentiable, shape: tuple[int, int, int] | None) -> tuple[int, int, int]:
    """The input shape (C, H, W) for a differentiable subject: given, the brain's, or inferred from the model."""
    if diff.image_size is not None:
        if shape is not None and tuple(shape[1:]) != (diff.image_size, diff.image_size):
            raise InterpError(
                f"this subject sees {diff.image_size}x{diff.image_size} images; got image_shape {tuple(shape)}"
            )
        return shape or (1, diff.image_size, diff.image_size)
    if shape is not None:
        if len(shape) != 3 or min(shape) < 1:
            raise InterpError(f"image_shape must be (channels, height, width); got {shape}")
        return tuple(int(s) for s in shape)  # type: ignore[return-value]
    channels = _first_conv_channels(diff.module)
    if channels is None:
        raise InterpError("cannot infer the input shape of this model; pass image_shape=(channels, height, width)")
    return (channels, DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)


def _first_conv_channels(module: nn.Module | None) -> int | None:
    """Input channels of the first Conv2d of a model (how many colour channels it expects), if any."""
    return None if module is None else next((m.in_channels for m in module.modules() if isinstance(m, nn.Conv2d)),
                                            None)


def resolve_units(units, n_units: int, ids: np.ndarray) -> np.ndarray:
    """Unit indices from None (all), an int, ints or neuron ids; out-of-range or unknown ids raise."""
    if units is None:
        return np.arange(n_units)
    units = [units] if isinstance(units, int | np.integer | str) else list(units)
    if not units:
        raise InterpError("no units given")
    pos = {str(u): i for i, u in enumerate(ids)}
    out = []
    for u in units:
        if isinstance(u, int | np.integer):
            if not 0 <= int(u) < n_units:
                raise InterpError(f"unit index {u} out of range: the site has {n_units} units")
            out.append(int(u))
        elif str(u) in pos:
            out.append(pos[str(u)])
        else:
            close = difflib.get_close_matches(str(u), list(pos), n=3)
            raise InterpError(f"unknown unit {u!r}" + (f"; close matches: {close}" if close else ""))
    return np.asarray(out, dtype=int)


# ------------------------------------------------------------------------------------------ measuring
def _with_metadata(responses: xr.DataArray, stimuli: StimulusSet) -> xr.DataArray:
    """Attach the stimulus metadata columns as stimulus coords (a recording's own coords win)."""
    coords = {c: ("stimulus", stimuli.metadata[c].to_numpy()) for c in stimuli.metadata.columns
              if c not in responses.coords}
    return responses.assign_coords(coords)


class UnitResponder:
    """A Subject view of one differentiable site whose neurons are the units defined in the module docstring
    (so tuning, RFs, MEIs and ablations of a network all index the same units); no gradients."""

    def __init__(self, diff: Differentiable, batch_size: int = 256):
        self.diff, self.batch_size = diff, batch_size
        self.image_size = diff.image_size

    @property
    def sites(self) -> tuple[str, ...]:
        return (str(self.diff.site),)

    @torch.no_grad()
    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray:
        check_site(self, site)
        with eval_mode(self.diff.module):
            out = [self.diff.forward(torch.from_numpy(stimuli.images[i:i + self.batch_size]).to(self.diff.device))
                   .float().cpu().numpy() for i in range(0, len(stimuli), self.batch_size)]
        values = np.concatenate(out).astype(np.float64)
        return make_responses(values, stimuli.ids, self.diff.unit_ids(values.shape[1]), dims=("stimulus", "neuron"),
                              attrs={"site": str(self.diff.site), "units": "activation"})


def measure(source, site: str | None, stimuli: StimulusSet | None) -> xr.DataArray:
    """Responses (stimulus, neuron[, repeat]) of any source, with the stimulus parameters as stimulus coords.

    A recording is returned validated (with ``stimuli``' metadata attached when given); a Subject is shown
    ``stimuli``; a plain module is run with hooks (units as in the module docstring).
    """
    if is_recording(source):
        responses = source.responses if isinstance(source, Recording) else source
        if responses is None:
            raise InterpError("the recording holds no responses")
        responses = validate_responses(responses)
        if stimuli is None and isinstance(source, Recording):
            stimuli = source.stimuli
        return responses if stimuli is None else _with_metadata(responses, stimuli.aligned_to(responses))
    if stimuli is None:
        raise InterpError("stimuli are needed to measure a subject's responses")
    if isinstance(source, Subject):
        check_site(source, site)
        try:
            responses = source.respond(stimuli, site)
        except RuntimeError as err:
            raise InterpError(f"{type(source).__name__} failed on stimuli of shape {stimuli.shape}: {err}") from err
        return _with_metadata(validate_responses(responses), stimuli)
    if isinstance(source, nn.Module):
        return measure(UnitResponder(differentiable(source, site)), None, stimuli)
    raise InterpError(
        "expected a recording (response DataArray or Recording), a Subject (sites + respond) or a torch.nn.Module; "
        f"got {type(source).__name__}"
    )


def stimulus_format(source, size: int | None = None) -> tuple[bool, int]:
    """(colour?, size) of default stimuli for a subject: ``size`` if given, else the subject's ``image_size``, else
    32 px; colour when the model's first convolution takes 3 channels (the synthetic brain takes grey images)."""
    own = getattr(source, "image_size", None)
    if size is not None and own is not None and size != own:
        raise InterpError(f"this subject sees {own}x{own} images; got size={size}")
    return _first_conv_channels(network(source)) == 3, int(size or own or DEFAULT_IMAGE_SIZE)


# ------------------------------------------------------------------------------------------- features
def as_tensor_images(inputs: StimulusSet | Tensor | np.ndarray, device: torch.device) -> Tensor:
    """Images as a float tensor (n, C, H, W) on ``device``."""
    if isinstance(inputs, StimulusSet):
        inputs = inputs.images
    x = torch.as_tensor(inputs, dtype=torch.float32)
    if x.ndim != 4:
        raise InterpError(f"inputs must be images (n, channels, height, width); got shape {tuple(x.shape)}")
    return x.to(device)


@torch.no_grad()
def batched_activations(subject: DifferentiableSubject, site: str, inputs, batch_size: int = 256) -> Tensor:
    """Activations of ``site`` for all ``inputs``, batched, without gradients, in eval mode (any ablation active
    on the subject's network applies; no caching)."""
    x = as_tensor_images(inputs, subject.device)
    name = type(subject).__name__
    with eval_mode(network(subject)):
        return torch.cat([run_model(lambda v: subject.activations(v, [site])[site], x[i:i + batch_size], name)
                          for i in range(0, len(x), batch_size)])


def features(source, site: str | None, inputs, batch_size: int = 256) -> np.ndarray:
    """All activations of ``site`` (flattened, (n, features)) for ``inputs``."""
    subject, site = subject_site(source, site)
    return batched_activations(subject, site, inputs, batch_size).flatten(1).cpu().double().numpy()
