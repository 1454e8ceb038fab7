"""Connectome-constrained rate network in torch (sparse, CPU or GPU, differentiable).

    tau_t(i) dr_i/dt = -r_i + f( sum_j W_ij r_j + gamma sum_j E_ij (r_j - r_i) + b_t(i) + I_i(t) )

with ``W_ij = sign_ji * n_ji * s_{t(j) -> t(i)}``: the connectome fixes which synapses exist, their counts
``n`` and their signs; the free parameters are per-type time constants ``tau`` and biases ``b`` (resting
levels), one positive strength ``s`` per (presynaptic type, postsynaptic type) pair and one gap-junction
conductance ``gamma`` (electrical counts ``E``). This is the parameterisation of the connectome-constrained
optic-lobe model of Lappalainen et al. 2024 (Nature 634:1132-1140), written for rates as in the issue;
simplifications: forward-Euler integration, one shared ``gamma``, and ``tau`` is clamped to >= ``dt`` so the
Euler step stays stable. Positivity of ``tau``, ``s`` and ``gamma`` comes from a log parameterisation, so
gradient descent can never flip a sign or create a synapse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from neurosafe.connectome.graph import Connectome
from neurosafe.connectome.subject import ConnectomeSubject
from neurosafe.core.errors import DataValidationError

__all__ = ["ACTIVATIONS", "RateModel"]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "softplus": F.softplus,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}


def per_type(value: float | Mapping[str, float], types: Sequence[str], what: str) -> np.ndarray:
    """One value per cell type from a scalar or a {type: value} mapping (missing types raise)."""
    if isinstance(value, Mapping):
        missing = [t for t in types if t not in value]
        if missing:
            raise DataValidationError(f"{what} has no value for the cell types {missing[:5]}")
        return np.array([float(value[t]) for t in types])
    return np.full(len(types), float(value))


def _buffer(x: np.ndarray, dtype=None) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype)


class RateModel(ConnectomeSubject, nn.Module):
    """Rate network on a connectome (see module docstring). Times in ms.

    ``forward(currents)`` takes currents ``(batch, n_neurons)`` (constant) or ``(batch, steps, n_neurons)``
    and returns rates ``(batch, steps, n_neurons)``. ``strength=None`` picks ``0.5 / mean input synapses per
    neuron`` for every type pair.
    """

    response_units = "rate (a.u.)"

    def __init__(
        self,
        connectome: Connectome,
        tau: float | Mapping[str, float] = 10.0,
        bias: float | Mapping[str, float] = 0.0,
        strength: float | None = None,
        gap_strength: float = 0.0,
        activation: str = "relu",
        dt: float = 1.0,
        duration: float = 100.0,
        input_neurons: Sequence[str] | None = None,
        input_scale: float = 1.0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        nn.Module.__init__(self)
        if activation not in ACTIVATIONS:
            raise DataValidationError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
        if dt <= 0 or duration < dt or gap_strength < 0 or (strength is not None and strength <= 0):
            raise DataValidationError(f"need dt > 0, duration >= dt, gap_strength >= 0, strength > 0; got {dt}, "
                                      f"{duration}, {gap_strength}, {strength}")
        taus = per_type(tau, connectome.cell_types, "tau")
        if (taus <= 0).any():
            raise DataValidationError("time constants tau must be > 0")
        self.connectome, self.activation, self.dt, self.duration = connectome, activation, float(dt), float(duration)
        self.input_neurons, self.input_scale = input_neurons, float(input_scale)
        if input_neurons is not None:
            connectome.indices(input_neurons)  # unknown names fail here, not at the first respond

        codes = connectome.type_codes()
        # edges sorted by (post, pre), so the [post, pre] weight matrix can be built already coalesced
        chem = connectome.chemical.T.tocsr()  # [post, pre]; sign has exactly chemical's pattern (see Connectome)
        chem.sort_indices()
        post, pre = np.repeat(np.arange(connectome.n_neurons), np.diff(chem.indptr)), chem.indices
        signs = connectome.sign.T.tocsr()
        signs.sort_indices()
        pairs, pair_index = np.unique(np.stack([codes[pre], codes[post]], 1), axis=0, return_inverse=True)
        if strength is None:
            receiving = np.asarray(connectome.chemical.sum(axis=0)).ravel()
            strength = 0.5 / receiving[receiving > 0].mean() if (receiving > 0).any() else 1.0
        self.register_buffer("type_code", _buffer(codes))
        self.register_buffer("edge_index", _buffer(np.stack([post, pre]).astype(np.int64)))
        self.register_buffer("signed_count", _buffer(chem.data * signs.data, dtype))
        self.register_buffer("pair_index", _buffer(pair_index.ravel().astype(np.int64)))
        self.type_pairs = [(connectome.cell_types[a], connectome.cell_types[b]) for a, b in pairs]

        elec = connectome.electrical.tocoo()
        off_diagonal = elec.row != elec.col
        self.register_buffer("gap_index", _buffer(np.stack([elec.row, elec.col])[:, off_diagonal].astype(np.int64)))
        self.register_buffer("gap_count", _buffer(elec.data[off_diagonal], dtype))
        self.use_gaps = gap_strength > 0 and bool(off_diagonal.any())

        self.log_tau = nn.Parameter(_buffer(np.log(taus), dtype))
        self.bias = nn.Parameter(_buffer(per_type(bias, connectome.cell_types, "bias"), dtype))
        self.log_strength = nn.Parameter(torch.full((len(pairs),), float(np.log(strength)), dtype=dtype))
        self.log_gap = nn.Parameter(torch.tensor(float(np.log(gap_strength)) if self.use_gaps else 0.0, dtype=dtype),
                                    requires_grad=self.use_gaps)
        self.to(device)

    # -- parameters -----------------------------------------------------------------------------------
    @property
    def tau(self) -> torch.Tensor:
        """Per-type time constants (ms), clamped to >= dt."""
        return self.log_tau.exp().clamp(min=self.dt)

    def edge_weights(self) -> torch.Tensor:
        """Signed weight of every chemical connection (order of ``pre``/``post``)."""
        return self.signed_count * self.log_strength.exp()[self.pair_index]

    def effective_chemical(self) -> sp.csr_array:
        """The current signed weight matrix ``[pre, post]`` (a scipy copy, for inspection)."""
        w = self.edge_weights().detach().cpu().numpy().astype(np.float64)
        post, pre = self.edge_index.cpu().numpy()
        n = self.connectome.n_neurons
        return sp.csr_array((w, (pre, post)), shape=(n, n))

    def _sparse(self, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        n = self.connectome.n_neurons
        return torch.sparse_coo_tensor(index, values, (n, n), is_coalesced=True, check_invariants=False)

    # -- dynamics -----------------------------------------------------------------------------------------
    def forward(self, currents: torch.Tensor, steps: int | None = None, r0: torch.Tensor | None = None) -> torch.Tensor:
        n = self.connectome.n_neurons
        currents = torch.as_tensor(currents, dtype=self.signed_count.dtype, device=self.signed_count.device)
        if currents.ndim not in (2, 3) or currents.shape[-1] != n:
            raise DataValidationError(f"currents must be (batch, {n}) or (batch, steps, {n}); got shape "
                                      f"{tuple(currents.shape)}")
        steps = currents.shape[1] if currents.ndim == 3 else (steps or round(self.duration / self.dt))
        f = ACTIVATIONS[self.activation]
        # state is kept (neurons, batch) so that the sparse [post, pre] matrices multiply it directly
        leak = (self.dt / self.tau[self.type_code])[:, None]
        bias = self.bias[self.type_code][:, None]
        weights = self._sparse(self.edge_index, self.edge_weights())
        if self.use_gaps:
            gaps = self._sparse(self.gap_index, self.gap_count)
            gap_degree = self.gap_count.new_zeros(n).index_add(0, self.gap_index[0], self.gap_count)[:, None]
        inputs = currents.permute(1, 2, 0) if currents.ndim == 3 else currents.T  # (steps,) neurons, batch
        r = currents.new_zeros(n, currents.shape[0]) if r0 is None else r0.T
        out = []
        for t in range(steps):
            drive = bias + (inputs[t] if currents.ndim == 3 else inputs) + torch.sparse.mm(weights, r)
            if self.use_gaps:
                drive = drive + self.log_gap.exp() * (torch.sparse.mm(gaps, r) - gap_degree * r)
            r = r + leak * (f(drive) - r)
            out.append(r)
        return torch.stack(out).permute(2, 0, 1)

    def _steady(self, currents: torch.Tensor) -> torch.Tensor:
        """Mean rate over the last quarter of ``duration`` with constant currents (differentiable)."""
        rates = self(currents)
        return rates[:, -max(1, rates.shape[1] // 4) :].mean(1)

    @torch.no_grad()
    def steady_response(self, currents: np.ndarray) -> np.ndarray:
        """Mean rate over the last quarter of ``duration`` with constant currents."""
        return self._steady(torch.as_tensor(currents)).double().cpu().numpy()

    # -- DifferentiableSubject -------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.signed_count.device

    def activations(self, x: torch.Tensor, sites: Sequence[str]) -> dict[str, torch.Tensor]:
        """Differentiable steady rates ``(batch, neurons of the site)`` for stimuli ``x`` ``(batch, ...)`` whose
        values are the input currents (as ``respond``; sites ``"all"`` and the cell types)."""
        masks = {site: torch.as_tensor(self.site_mask(site), device=x.device) for site in sites}
        pixels = x.flatten(1).to(self.signed_count.dtype)
        index = torch.as_tensor(self.input_index(pixels.shape[1]), device=x.device)
        currents = pixels.new_zeros(len(x), self.connectome.n_neurons).index_copy(1, index, pixels * self.input_scale)
        rates = self._steady(currents)
        return {site: rates[:, mask] for site, mask in masks.items()}
