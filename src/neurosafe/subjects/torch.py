"""``TorchSubject``: any ``torch.nn.Module`` as a subject whose sites are its named modules.

Activations are read with forward hooks (removed in a ``finally``, so also when the forward pass raises).
``respond``/``extract`` run batched, without gradients, in eval mode, with a progress bar; wide layers can
be reduced by spatial pooling or a seeded Gaussian random projection (Johnson & Lindenstrauss 1984). Before
extracting, the size of the result is estimated and extraction is refused, with the numbers, when it would
exceed ``max_memory_gb`` unless a ``cache_dir`` is given, in which case activations stream to ``.npy`` files
there and come back memory-mapped. Cached activations are keyed by a hash of the weights, the stimuli, the
site, the transform, the reduction and the package source; an unreadable cache file is recomputed.
``activations`` is the differentiable path used for training: it returns the raw activations with their
original shapes. Besides its named modules, every TorchSubject has the site ``"output"``: what the model
returns (unless a submodule is named so).

:func:`as_differentiable` is the one adapter from what a user passes (a subject, a module, a function) to a
``DifferentiableSubject``; :func:`network` is the module behind one (for hooks and train/eval mode).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from numpy.lib.format import open_memmap
from torch import Tensor, nn

from neurosafe.core import progress as display
from neurosafe.core.checkpoint import read_or_none
from neurosafe.core.devices import resolve_device
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.hashing import data_hash, source_hash, stable_int, state_hash
from neurosafe.core.hooks import SiteError, capture, check_sites, eval_mode, first_tensor
from neurosafe.core.io import CorruptFileError, atomic_path
from neurosafe.data.recording import make_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.subjects.base import DifferentiableSubject

__all__ = ["OUTPUT", "ActivationMemoryError", "NotDifferentiableError", "TorchSubject", "as_differentiable",
           "model_hash", "network"]

OUTPUT = "output"


class ActivationMemoryError(NeurosafeError):
    """Extraction refused because the activations would not fit in the memory budget."""


class NotDifferentiableError(NeurosafeError):
    """An object that cannot be made a DifferentiableSubject (not a module, a function or a subject)."""


def model_hash(model: nn.Module) -> str:
    """Hash of a module's class and every tensor of its state (weights and buffers)."""
    return f"{type(model).__module__}.{type(model).__qualname__}:{state_hash(model.state_dict())}"


def _transform_key(transform: Callable | None) -> str | None:
    """A stable identity of a transform, or None when none can be derived (then nothing is cached)."""
    if transform is None:
        return "none"
    if isinstance(transform, nn.Module):
        return f"{type(transform).__qualname__}:{model_hash(transform)}"
    code = getattr(transform, "__code__", None)
    if code is not None and not getattr(transform, "__closure__", None):
        body = hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()[:12]
        return f"{transform.__module__}.{transform.__qualname__}:{body}"
    text = repr(transform)
    return None if " at 0x" in text else f"{type(transform).__qualname__}:{text}"


class TorchSubject:
    """A PyTorch network as a ``Subject``: sites are module names from ``named_modules()``.

    Parameters: ``model``; ``transform`` maps a batch of images (B, C, H, W) in [0, 1] to the model's input
    (applied inside ``activations``, so it is part of the differentiable path); ``device`` ("auto": CUDA when
    present); ``batch_size``; ``pool`` None (flatten everything), ``"avg"`` / ``"max"`` (global over spatial
    dims) or an int k (adaptive average pooling to k x k); ``projection`` an int D: flattened sites wider than
    D are projected to D dims with a seeded Gaussian matrix (entries N(0, 1/D)); ``seed`` of the projection;
    ``cache_dir`` where activations are cached and streamed; ``max_memory_gb`` the in-memory budget;
    ``progress`` shows progress (:mod:`neurosafe.core.progress`; False: silent); ``transform_key`` names the
    transform in cache keys when it cannot be derived (closures, lambdas with captured state).

    The model is moved to ``device``. ``respond`` runs in eval mode and restores the model's mode afterwards.
    A module called several times in one forward pass reports its last call.
    """

    def __init__(self, model: nn.Module, transform: Callable[[Tensor], Tensor] | None = None,
                 device: str | torch.device = "auto", batch_size: int = 64, pool: str | int | None = None,
                 projection: int | None = None, seed: int = 0, cache_dir: str | Path | None = None,
                 max_memory_gb: float = 4.0, progress: bool | None = None, transform_key: str | None = None):
        if not isinstance(model, nn.Module):
            raise NeurosafeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if batch_size < 1:
            raise NeurosafeError(f"batch_size must be >= 1; got {batch_size}")
        if not (pool is None or pool in ("avg", "max") or (isinstance(pool, int) and pool >= 1)):
            raise NeurosafeError(f"pool must be None, 'avg', 'max' or a positive int; got {pool!r}")
        if projection is not None and projection < 1:
            raise NeurosafeError(f"projection must be a positive number of dimensions; got {projection}")
        if max_memory_gb <= 0:
            raise NeurosafeError(f"max_memory_gb must be positive; got {max_memory_gb}")
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.transform = transform
        self.batch_size, self.pool, self.projection, self.seed = batch_size, pool, projection, seed
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.max_memory_gb, self.progress = max_memory_gb, progress
        self.transform_key = transform_key or _transform_key(transform)
        self._modules = dict(model.named_modules())
        self._projections: dict[tuple[str, int], Tensor] = {}

    # ------------------------------------------------------------------------------------------- sites
    @property
    def sites(self) -> tuple[str, ...]:
        """Every named module except the root, in registration order, then ``"output"`` (the model's output)."""
        names = tuple(name for name in self._modules if name)
        return names if OUTPUT in names else (*names, OUTPUT)

    @property
    def top_level_sites(self) -> tuple[str, ...]:
        """The model's direct children (a short default list of sites: its blocks or layers)."""
        return tuple(name for name, _ in self.model.named_children())

    @property
    def default_site(self) -> str:
        """The model's output."""
        return self.sites[-1]

    def _is_output(self, site: str) -> bool:
        return site == OUTPUT and OUTPUT not in self._modules

    def check_sites(self, sites: str | Sequence[str]) -> list[str]:
        """Return ``sites`` as a list, or raise a :class:`SiteError` listing close valid names."""
        sites = [sites] if isinstance(sites, str) else list(sites)
        named = [s for s in sites if not self._is_output(s)]
        if named or not sites:
            check_sites(self.model, named)
        return sites

    # ------------------------------------------------------------------------------ differentiable path
    def activations(self, x: Tensor, sites: Sequence[str]) -> dict[str, Tensor]:
        """Differentiable activations of a batch already on the device, with their original shapes.

        The transform is applied first; hooks are removed even when the forward pass raises.
        """
        sites = self.check_sites(sites)
        named = [s for s in sites if not self._is_output(s)]
        with capture(self.model, named) if named else nullcontext({}) as out:
            result = self.model(x if self.transform is None else self.transform(x))
        if len(named) < len(sites):
            out[OUTPUT] = first_tensor(result)
        missing = [s for s in sites if s not in out]
        if missing:
            raise SiteError(f"sites {missing} did not run in the forward pass of {type(self.model).__name__}")
        return {s: out[s] for s in sites}

    # ------------------------------------------------------------------------------------ reductions
    def _pooled(self, act: Tensor) -> Tensor:
        """Spatially pooled and flattened activations (B, F)."""
        if act.ndim >= 3 and self.pool is not None:
            if self.pool == "avg":
                act = act.flatten(2).mean(-1)
            elif self.pool == "max":
                act = act.flatten(2).amax(-1)
            elif act.ndim == 4:
                act = nn.functional.adaptive_avg_pool2d(act, self.pool)
            elif act.ndim == 3:
                act = nn.functional.adaptive_avg_pool1d(act, self.pool)
        return act.flatten(1)

    def _projects(self, width: int) -> bool:
        return self.projection is not None and width > self.projection

    def _reduce(self, site: str, act: Tensor) -> Tensor:
        """Pool, flatten and (for sites wider than ``projection``) project: (B, F)."""
        act = self._pooled(act)
        if self._projects(act.shape[1]):
            act = act @ self._projection(site, act.shape[1]).to(act.dtype)
        return act

    def _projection(self, site: str, width: int) -> Tensor:
        key = (site, width)
        if key not in self._projections:
            gen = torch.Generator().manual_seed(stable_int(self.seed, site, width))
            matrix = torch.randn(width, self.projection, generator=gen) / np.sqrt(self.projection)
            self._projections[key] = matrix.to(self.device)
        return self._projections[key]

    # -------------------------------------------------------------------------------------- caching
    def cache_key(self, stimuli: StimulusSet, site: str) -> str | None:
        """Hash of weights + stimuli + site + transform + reduction + source (None: transform not hashable)."""
        if self.transform_key is None:
            return None
        parts = (model_hash(self.model), data_hash(stimuli.images, stimuli.ids), site, self.transform_key,
                 self.pool, self.projection, self.seed if self.projection else None, source_hash())
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]

    def _cache_file(self, stimuli: StimulusSet, site: str) -> Path | None:
        key = None if self.cache_dir is None else self.cache_key(stimuli, site)
        return None if key is None else self.cache_dir / f"{key}.npy"

    # ------------------------------------------------------------------------------------ extraction
    def _batches(self, stimuli: StimulusSet) -> Iterator[tuple[int, Tensor]]:
        for start in range(0, len(stimuli), self.batch_size):
            yield start, torch.from_numpy(stimuli.images[start:start + self.batch_size]).to(self.device)

    def _widths(self, stimuli: StimulusSet, sites: list[str]) -> dict[str, int]:
        """Width of each site after pooling (before projection), from a forward pass on the first stimulus."""
        acts = self.activations(torch.from_numpy(stimuli.images[:1]).to(self.device), sites)
        return {s: int(self._pooled(a).shape[1]) for s, a in acts.items()}

    def _final(self, width: int) -> int:
        return self.projection if self._projects(width) else width

    def estimate_bytes(self, stimuli: StimulusSet, sites: Sequence[str]) -> int:
        """Bytes the float32 activations of ``sites`` for ``stimuli`` take, plus any projection matrices."""
        sites = self.check_sites(sites)
        with torch.no_grad(), eval_mode(self.model):
            widths = self._widths(stimuli, sites)
        result = len(stimuli) * sum(self._final(w) for w in widths.values())
        matrices = sum(w * self.projection for w in widths.values() if self._projects(w))
        return 4 * (result + matrices)

    def extract(self, stimuli: StimulusSet, sites: Sequence[str] | None = None,
                use_cache: bool = True) -> dict[str, xr.DataArray]:
        """Activations of several sites in one pass over the stimuli: {site: DataArray (stimulus, neuron)}.

        ``use_cache=False`` ignores cached files (they are recomputed and overwritten).
        """
        if not isinstance(stimuli, StimulusSet):
            raise NeurosafeError(f"stimuli must be a StimulusSet; got {type(stimuli).__name__}")
        sites = self.check_sites(self.default_site if sites is None else sites)
        files = {s: self._cache_file(stimuli, s) for s in sites}
        arrays: dict[str, np.ndarray] = {}
        for s in sites:
            if use_cache and files[s] is not None and files[s].exists():
                if (cached := read_or_none(files[s], _load_npy)) is not None:
                    arrays[s] = cached
        todo = [s for s in sites if s not in arrays]
        if todo:
            arrays.update(self._run(stimuli, todo, {s: files[s] for s in todo}))
        return {s: self._to_responses(stimuli, s, arrays[s]) for s in sites}

    def _run(self, stimuli: StimulusSet, sites: list[str], files: dict[str, Path | None]) -> dict[str, np.ndarray]:
        n_bytes = self.estimate_bytes(stimuli, sites)
        stream = n_bytes > self.max_memory_gb * 2**30
        if stream and any(f is None for f in files.values()):
            raise ActivationMemoryError(
                f"activations of {sites} for {len(stimuli)} stimuli need {n_bytes / 2**30:.2f} GiB, over the "
                f"budget of {self.max_memory_gb:g} GiB: give cache_dir to stream them to disk, pool "
                "(pool='avg' or an int) or project (projection=D), or raise max_memory_gb"
            )
        with torch.no_grad(), eval_mode(self.model):
            widths = {s: self._final(w) for s, w in self._widths(stimuli, sites).items()}
            with _Outputs(len(stimuli), widths, files, stream) as outputs:
                total = -(-len(stimuli) // self.batch_size)
                for start, x in display.track(self._batches(stimuli), f"activations ({len(sites)} sites)", total=total,
                                              unit="batch", show=self.progress):
                    for s, act in self.activations(x, sites).items():
                        outputs[s][start:start + len(x)] = self._reduce(s, act).float().cpu().numpy()
                arrays = outputs.finish()
        return arrays

    def _to_responses(self, stimuli: StimulusSet, site: str, values: np.ndarray) -> xr.DataArray:
        ids = [f"{site}:{i}" for i in range(values.shape[1])]
        attrs = {"site": site, "model": type(self.model).__name__, "units": "activation",
                 "pool": str(self.pool), "projection": self.projection or 0}
        return make_responses(values, stimuli.ids, ids, dims=("stimulus", "neuron"), attrs=attrs)

    def respond(self, stimuli: StimulusSet, site: str | None = None) -> xr.DataArray:
        """Flattened (pooled / projected) activations of one site, dims (stimulus, neuron)."""
        site = self.default_site if site is None else site
        return self.extract(stimuli, [site])[site]

    def __repr__(self) -> str:
        return (f"TorchSubject({type(self.model).__name__}, {len(self.sites)} sites, device={self.device}, "
                f"pool={self.pool!r}, projection={self.projection})")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:  # truncated or not an .npy file
        raise CorruptFileError(f"{path}: not a readable .npy file ({err})") from err


class _Outputs:
    """Per-site output arrays: in memory, or ``.npy`` memmaps written atomically to their cache files."""

    def __init__(self, n: int, widths: dict[str, int], files: dict[str, Path | None], stream: bool):
        self.n, self.widths, self.files, self.stream = n, widths, files, stream
        self._contexts: list = []
        self.arrays: dict[str, np.ndarray] = {}

    def __enter__(self) -> dict[str, np.ndarray]:
        for site, width in self.widths.items():
            file = self.files[site]
            if file is None:
                self.arrays[site] = np.empty((self.n, width), np.float32)
                continue
            ctx = atomic_path(file)
            tmp = ctx.__enter__()
            self._contexts.append((site, ctx))
            self.arrays[site] = open_memmap(tmp, mode="w+", dtype=np.float32, shape=(self.n, width))
        return self

    def __getitem__(self, site: str) -> np.ndarray:
        return self.arrays[site]

    def finish(self) -> dict[str, np.ndarray]:
        """Flush memmaps, move them into place and return the arrays (memory-mapped when streaming)."""
        out = {}
        for site, ctx in self._contexts:
            array = self.arrays[site]
            array.flush()
            in_memory = None if self.stream else np.array(array)
            del array, self.arrays[site]
            ctx.__exit__(None, None, None)
            out[site] = in_memory if in_memory is not None else np.load(self.files[site], mmap_mode="r")
        self._contexts = []
        out.update(self.arrays)
        return out

    def __exit__(self, exc_type, exc, tb) -> None:
        for _, ctx in self._contexts:
            ctx.__exit__(exc_type, exc, tb)
        self._contexts = []



class _Function(nn.Module):
    """A plain function images -> outputs as a module without submodules (its one site is the output)."""

    def __init__(self, fn: Callable[[Tensor], Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


def as_differentiable(obj, device: str | torch.device = "auto") -> DifferentiableSubject:
    """``obj`` as a ``DifferentiableSubject``: a DifferentiableSubject as is; an ``nn.Module`` or a function of
    image tensors wrapped in a :class:`TorchSubject` (``"auto"``: the device of the module's parameters, else
    CUDA when present); anything else raises a one-line error naming what it got."""
    if isinstance(obj, DifferentiableSubject):
        return obj
    if not isinstance(obj, nn.Module):
        if not callable(obj):
            raise NotDifferentiableError(
                f"a {type(obj).__name__} is not differentiable: pass a torch.nn.Module, a function of image "
                "tensors, or a subject with activations(x, sites) (TorchSubject, SyntheticBrain, DigitalTwin)"
            )
        obj = _Function(obj)
    if str(device) == "auto":
        device = next((t.device for t in (*obj.parameters(), *obj.buffers())), "auto")
    return TorchSubject(obj, device=device, progress=False)


def network(subject) -> nn.Module | None:
    """The module that computes a differentiable subject's activations, where forward hooks (lesions) attach
    and whose train/eval mode matters: a TorchSubject's model, a subject that is a module itself, else the
    subject's ``module`` (the synthetic brain, a twin); None when there is none."""
    if isinstance(subject, TorchSubject):
        return subject.model
    if isinstance(subject, nn.Module):
        return subject
    inner = getattr(subject, "module", None)
    return inner if isinstance(inner, nn.Module) else None
