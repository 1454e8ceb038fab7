"""Typed configuration of a digital twin: core, readout, inputs (frozen dataclasses) and training (a frozen
``neurosafe.subjects.TrainConfig`` with the twin's extra options).

A ``TwinConfig`` round-trips through JSON (``to_dict`` / ``from_dict``) so that a saved twin can be rebuilt
without pickling, and so that YAML/JSON files can configure ``neurosafe twin fit``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, Literal

from pydantic import Field

from neurosafe.core.errors import NeurosafeError
from neurosafe.subjects.config import TrainConfig
from neurosafe.twin.errors import TwinConfigError

__all__ = ["FeatureCoreConfig", "ReadoutConfig", "StackedCoreConfig", "TwinConfig", "TwinTrainConfig"]


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise TwinConfigError(f"{name} must be one of {options}; got {value!r}")


def _positive(name: str, value: float, strict: bool = True) -> None:
    if value < 0 or (strict and value == 0):
        raise TwinConfigError(f"{name} must be {'> 0' if strict else '>= 0'}; got {value}")


@dataclass(frozen=True)
class StackedCoreConfig:
    """Stacked 2D convolutional core (conv -> batch norm -> ELU per layer; Lurz et al. 2021).

    ``kernel_sizes`` gives one (odd) kernel size per layer, so ``len(kernel_sizes)`` is the depth;
    ``laplace`` weights the Laplacian smoothness penalty on the first layer's filters;
    ``final_nonlinearity`` applies the ELU after the last layer too.
    """

    channels: int = 16
    kernel_sizes: tuple[int, ...] = (13, 5, 5)
    laplace: float = 1e-4
    final_nonlinearity: bool = True
    kind: str = "stacked"

    def __post_init__(self) -> None:
        _choice("core.kind", self.kind, ("stacked",))
        object.__setattr__(self, "kernel_sizes", tuple(int(k) for k in self.kernel_sizes))
        _positive("core.channels", self.channels)
        if not self.kernel_sizes or any(k < 1 or k % 2 == 0 for k in self.kernel_sizes):
            raise TwinConfigError(f"core.kernel_sizes must be a non-empty list of odd sizes; got {self.kernel_sizes}")
        _positive("core.laplace", self.laplace, strict=False)


@dataclass(frozen=True)
class FeatureCoreConfig:
    """A frozen feature core: the activations of one site of a task-trained network (Cadena et al. 2019).

    The network itself is supplied at fit / load time as a subject with ``activations(x, [site])``;
    ``pool`` average-pools the frozen features by that factor; a batch norm over their channels is
    trained, then optional trainable conv -> batch norm -> ELU layers (``kernel_sizes``, ``channels``
    each, Laplacian penalty ``laplace`` on the first) before the readout. Images reach the subject in
    [0, 1] (no standardisation).
    """

    site: str = ""
    pool: int = 1
    kernel_sizes: tuple[int, ...] = ()
    channels: int = 32
    laplace: float = 0.0
    kind: str = "feature"

    def __post_init__(self) -> None:
        _choice("core.kind", self.kind, ("feature",))
        if not self.site:
            raise TwinConfigError("a feature core needs the name of a site (layer) of the subject")
        object.__setattr__(self, "kernel_sizes", tuple(int(k) for k in self.kernel_sizes))
        _positive("core.pool", self.pool)
        if self.kernel_sizes:
            self.trainable_layers()

    def trainable_layers(self) -> StackedCoreConfig | None:
        """The trainable layers on top of the frozen features, as a stacked-core config (None: none)."""
        if not self.kernel_sizes:
            return None
        return StackedCoreConfig(channels=self.channels, kernel_sizes=self.kernel_sizes, laplace=self.laplace)


@dataclass(frozen=True)
class ReadoutConfig:
    """Per-session readout from the core's feature map.

    ``kind="gaussian"``: a learned receptive-field position and extent sampled with ``grid_sample``
    plus feature weights (Lurz et al. 2021); ``init_sigma`` is the initial extent in grid units ([-1, 1]
    spans the map); ``gauss_type`` "isotropic" (one extent per neuron) or "full" (a learned 2x2
    covariance per neuron, neuralpredictors' ``FullGaussian2d``); ``position_prior`` > 0 adds a learned
    population prior on the positions (a 2-D Gaussian, mean and covariance learned, shared by the
    session's neurons) whose negative log-likelihood of every neuron's position is weighted by it.
    ``kind="factorized"``: a spatial mask times feature weights (Klindt et al. 2017); ``smooth`` weights
    a Laplacian smoothness penalty on the masks. ``kind="linear"``: dense weights on the map
    average-pooled by ``pool`` (the linear probe; fitted by ridge CV on transfer). ``l1`` weights the
    L1 (sparsity) penalty on the feature weights (and, factorized, the mask; linear, the weights).
    ``neurosafe.twin.tune_readout`` picks ``l1`` / ``smooth`` / ``position_prior`` on validation images.
    """

    kind: str = "gaussian"
    l1: float = 1e-5
    init_sigma: float = 0.3
    init_mu_range: float = 0.5
    pool: int = 1
    gauss_type: str = "isotropic"
    position_prior: float = 0.0
    smooth: float = 0.0

    def __post_init__(self) -> None:
        _choice("readout.kind", self.kind, ("gaussian", "factorized", "linear"))
        _positive("readout.pool", self.pool)
        _positive("readout.l1", self.l1, strict=False)
        _positive("readout.init_sigma", self.init_sigma)
        _choice("readout.gauss_type", self.gauss_type, ("isotropic", "full"))
        _positive("readout.position_prior", self.position_prior, strict=False)
        _positive("readout.smooth", self.smooth, strict=False)
        if not 0 <= self.init_mu_range <= 1:
            raise TwinConfigError(f"readout.init_mu_range must lie in [0, 1]; got {self.init_mu_range}")


class TwinTrainConfig(TrainConfig):
    """Training of a twin: ``neurosafe.subjects.TrainConfig`` (Adam; ``epochs`` is the maximum) plus the
    loss, early stopping on validation correlation and learning-rate decay on plateau.

    Training stops after ``patience`` epochs without a better validation correlation, after
    ``max_lr_decays`` decays of the learning rate (by ``lr_decay`` after ``lr_patience`` flat epochs), or
    at ``epochs``; the best state is restored. ``val_fraction`` of the stimuli (seeded) is held out
    for validation. ``normalize`` divides each neuron's loss by its training variance (Gaussian) or mean
    (Poisson): per-session normalisation for a core shared by sessions of different rates.
    ``val_every``: validate every k epochs (and at the first and last); patience counts validations.
    ``augment_shift``: translate each training image by a random integer shift of up to this many pixels
    (of the preprocessed image) and move the Gaussian readout's positions with it (0: off; needs the
    stacked core and the gaussian readout, whose receptive fields can follow the shift).
    ``precision``: "bfloat16" runs the forward pass of each training step under ``torch.autocast`` in
    bfloat16 (mixed precision, Micikevicius et al. 2018: weights, optimizer state, loss, penalties,
    validation and predictions stay float32): about 2x faster convolutions where the hardware has bfloat16
    units (CPUs with AMX or AVX-512 BF16, recent GPUs); on synthetic V1 the test correlation stayed within
    seed-to-seed variation (README, "Digital twins").
    """

    error: ClassVar[type[NeurosafeError]] = TwinConfigError

    lr: float = Field(5e-3, gt=0)
    epochs: int = Field(60, ge=1)
    loss: Literal["poisson", "gaussian"] = "poisson"
    patience: int = Field(6, ge=1)
    lr_decay: float = Field(0.3, gt=0, lt=1)
    lr_patience: int = Field(2, ge=0)
    max_lr_decays: int = Field(3, ge=1)
    val_fraction: float = Field(0.1, gt=0, lt=1)
    normalize: bool = False
    val_every: int = Field(1, ge=1)
    augment_shift: int = Field(0, ge=0)
    precision: Literal["float32", "bfloat16"] = "float32"


_CORES = {"stacked": StackedCoreConfig, "feature": FeatureCoreConfig}


@dataclass(frozen=True)
class TwinConfig:
    """A whole twin: core, readout, output nonlinearity, optional shifter / modulator, inputs, training.

    ``output``: "elu1" (ELU + 1), "softplus" (both positive rates, for counts) or "linear" (signed data
    such as dF/F; needs ``train.loss="gaussian"``). ``shifter``: names of two per-trial coordinates of the
    responses (dims stimulus, repeat) holding eye position, mapped by a small MLP to a shift of every
    receptive field (Sinz et al. 2018). ``modulator``: names of per-trial behaviour coordinates, mapped to
    a multiplicative gain per neuron. ``grey`` converts RGB to luminance; ``image_size`` resizes (area
    averaging) before the core.
    """

    core: StackedCoreConfig | FeatureCoreConfig = field(default_factory=StackedCoreConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    train: TwinTrainConfig = field(default_factory=TwinTrainConfig)
    output: str = "elu1"
    shifter: tuple[str, ...] = ()
    modulator: tuple[str, ...] = ()
    hidden: int = 8
    grey: bool = True
    image_size: int | None = None

    def __post_init__(self) -> None:
        _choice("output", self.output, ("elu1", "softplus", "linear"))
        if self.output == "linear" and self.train.loss == "poisson":
            raise TwinConfigError("output='linear' can predict negative rates: use train.loss='gaussian' with it")
        object.__setattr__(self, "shifter", tuple(self.shifter))
        object.__setattr__(self, "modulator", tuple(self.modulator))
        if self.shifter and len(self.shifter) != 2:
            raise TwinConfigError(f"shifter needs exactly two eye-position coordinates (x, y); got {self.shifter}")
        if self.shifter and self.readout.kind != "gaussian":
            raise TwinConfigError("a shifter moves receptive-field positions: it needs the gaussian readout")
        if self.train.augment_shift and (self.readout.kind != "gaussian" or self.core.kind != "stacked"):
            raise TwinConfigError("train.augment_shift needs the stacked core and the gaussian readout (readout "
                                  f"positions follow the shift); got core {self.core.kind!r}, readout "
                                  f"{self.readout.kind!r}")
        _positive("hidden", self.hidden)
        if self.image_size is not None and self.image_size < 8:
            raise TwinConfigError(f"image_size must be >= 8 pixels; got {self.image_size}")

    @property
    def behaviour_inputs(self) -> tuple[str, ...]:
        """Per-trial coordinates the twin reads (eye position, then behaviour)."""
        return (*self.shifter, *self.modulator)

    def replace(self, **changes: Any) -> TwinConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict; ``from_dict`` inverts it."""
        return asdict(self) | {"train": self.train.model_dump()}

    @classmethod
    def from_dict(cls, data: dict) -> TwinConfig:
        """Build from a (possibly partial) dict, e.g. parsed JSON/YAML; unknown keys raise."""
        if not isinstance(data, dict):
            raise TwinConfigError(f"a twin config must be a mapping; got {type(data).__name__}")
        data = dict(data)
        parts: dict[str, Any] = {}
        core = dict(data.pop("core", {}) or {})
        core_cls = _CORES.get(core.get("kind", "stacked"))
        if core_cls is None:
            raise TwinConfigError(f"core.kind must be one of {tuple(_CORES)}; got {core.get('kind')!r}")
        parts["core"] = _build(core_cls, core, "core")
        for key, sub in (("readout", ReadoutConfig), ("train", TwinTrainConfig)):
            parts[key] = _build(sub, dict(data.pop(key, {}) or {}), key)
        return _build(cls, {**data, **parts}, "twin")


def _build(cls: type, values: dict, where: str) -> Any:
    known = set(cls.model_fields) if issubclass(cls, TrainConfig) else {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TwinConfigError(f"unknown {where} option(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**values)
    except TypeError as err:
        raise TwinConfigError(f"bad {where} option: {err}") from err
