"""The connectome as a typed sparse graph: neuron names, cell types, chemical and electrical synapses, signs.

Matrices follow the adjacency convention of the source data (cect, networkx): entry ``[pre, post]`` counts the
synapses from neuron ``pre`` onto neuron ``post``. ``sign`` has the sparsity pattern of ``chemical`` and
holds +1 (excitatory) or -1 (inhibitory) per connection, so a presynaptic cell may make synapses of both signs
(as in the fly optic-lobe model of Lappalainen et al. 2024); ``electrical`` (gap junctions) is symmetric.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurosafe.core.errors import DataValidationError
from neurosafe.data.stimuli import format_ids

__all__ = ["Connectome", "random_connectome"]


def _as_csr(matrix, n: int, what: str) -> sp.csr_array:
    m = sp.csr_array(matrix, dtype=np.float64)
    if m.shape != (n, n):
        raise DataValidationError(f"{what} matrix has shape {m.shape}; expected ({n}, {n}) for {n} neurons")
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    if not np.isfinite(m.data).all():
        raise DataValidationError(f"{what} matrix contains NaN or inf")
    return m


@dataclass(frozen=True, eq=False)
class Connectome:
    """A typed connectome: ``neurons`` (unique names), ``types`` (cell type per neuron), sparse ``chemical``
    synapse counts, signs and symmetric ``electrical`` (gap-junction) counts, plus source ``metadata``."""

    name: str
    neurons: np.ndarray
    types: np.ndarray
    chemical: sp.csr_array
    sign: sp.csr_array
    electrical: sp.csr_array
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        neurons = np.asarray(self.neurons).astype(str).astype(object)
        types = np.asarray(self.types).astype(str).astype(object)
        n = len(neurons)
        if n == 0:
            raise DataValidationError(f"connectome {self.name!r} has no neurons")
        if types.shape != (n,):
            raise DataValidationError(f"connectome {self.name!r}: {types.size} types for {n} neurons")
        names, counts = np.unique(neurons, return_counts=True)
        if (counts > 1).any():
            raise DataValidationError(f"connectome {self.name!r}: duplicate neuron names "
                                      f"{format_ids(names[counts > 1])}")
        chemical = _as_csr(self.chemical, n, "chemical")
        electrical = _as_csr(self.electrical, n, "electrical")
        sign = _as_csr(self.sign, n, "sign")
        for what, m in (("chemical", chemical), ("electrical", electrical)):
            if (m.data < 0).any():
                raise DataValidationError(f"connectome {self.name!r}: {what} synapse counts must be >= 0 "
                                          "(signs go in `sign`)")
        if abs(electrical - electrical.T).max() > 0:
            raise DataValidationError(f"connectome {self.name!r}: the electrical (gap junction) matrix is not "
                                      "symmetric")
        same_pattern = np.array_equal(sign.indptr, chemical.indptr) and np.array_equal(sign.indices, chemical.indices)
        if not same_pattern or not np.isin(sign.data, (-1, 1)).all():
            raise DataValidationError(f"connectome {self.name!r}: `sign` must hold +1 or -1 exactly where `chemical` "
                                      "has synapses")
        for attr, value in (("neurons", neurons), ("types", types), ("chemical", chemical),
                            ("electrical", electrical), ("sign", sign), ("metadata", dict(self.metadata))):
            object.__setattr__(self, attr, value)

    # -- basic views ---------------------------------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return len(self.neurons)

    @property
    def cell_types(self) -> list[str]:
        """Unique cell types, in order of first appearance."""
        return list(dict.fromkeys(self.types))

    @property
    def signed_chemical(self) -> sp.csr_array:
        """Chemical synapse counts times their sign, ``[pre, post]``."""
        return self.chemical.multiply(self.sign).tocsr()

    def indices(self, names: Iterable[str]) -> np.ndarray:
        """Indices of neurons given by name or by cell type (all of its neurons); unknown names raise."""
        names = [str(x) for x in names]
        lookup = {name: i for i, name in enumerate(self.neurons)}
        out: list[int] = []
        unknown = []
        for name in names:
            if name in lookup:
                out.append(lookup[name])
            elif (of_type := np.flatnonzero(self.types == name)).size:
                out.extend(of_type.tolist())
            else:
                unknown.append(name)
        if unknown:
            raise DataValidationError(f"connectome {self.name!r} has no neuron or cell type named "
                                      f"{format_ids(unknown)}")
        return np.asarray(list(dict.fromkeys(out)), dtype=np.int64)

    def type_codes(self) -> np.ndarray:
        """Integer code of each neuron's cell type (index into :attr:`cell_types`)."""
        code = {t: i for i, t in enumerate(self.cell_types)}
        return np.fromiter((code[t] for t in self.types), dtype=np.int64, count=self.n_neurons)

    # -- statistics ----------------------------------------------------------------------------------------
    def degrees(self, kind: str = "in") -> np.ndarray:
        """Number of distinct partners per neuron: ``in``/``out`` chemical degree or ``electrical`` degree
        (self-connections are not counted)."""
        if kind not in ("in", "out", "electrical"):
            raise DataValidationError(f"degree kind must be 'in', 'out' or 'electrical'; got {kind!r}")
        m = (self.electrical if kind == "electrical" else self.chemical).copy()
        m.setdiag(0)
        m.eliminate_zeros()
        pattern = (m != 0).astype(np.int64)
        return np.asarray(pattern.sum(axis=0 if kind == "in" else 1)).ravel()

    def degree_distribution(self, kind: str = "in") -> np.ndarray:
        """Counts of neurons with degree 0, 1, 2, ... (see :meth:`degrees`)."""
        return np.bincount(self.degrees(kind))

    def reciprocity(self) -> float:
        """Fraction of directed chemical connections i->j (i != j) whose reverse j->i also exists."""
        m = (self.chemical != 0).astype(np.int8).tocsr()
        m.setdiag(0)
        m.eliminate_zeros()
        return float(m.multiply(m.T).nnz / m.nnz) if m.nnz else float("nan")

    def type_edges(self) -> list[tuple[str, str]]:
        """Distinct (presynaptic type, postsynaptic type) pairs joined by chemical synapses."""
        codes = self.type_codes()
        pre, post = self.chemical.nonzero()
        pairs = np.unique(np.stack([codes[pre], codes[post]], axis=1), axis=0)
        types = self.cell_types
        return [(types[a], types[b]) for a, b in pairs]

    def summary(self) -> dict:
        """Counts, synapse totals, sign balance, reciprocity and degree statistics. ``n_type_edges``: type
        pairs joined in this network; a lattice connectome also reports its file's ``n_cell_types`` and
        ``n_typed_edges``."""

        def stats(d: np.ndarray) -> dict:
            return {"mean": float(d.mean()), "median": float(np.median(d)), "max": int(d.max())}

        inhibitory = float((self.sign.data < 0).mean()) if self.sign.nnz else 0.0
        return {
            "name": self.name,
            "n_neurons": self.n_neurons,
            "n_types": len(self.cell_types),
            "n_type_edges": len(self.type_edges()),
            "chemical_edges": int(self.chemical.nnz),
            "chemical_synapses": float(self.chemical.sum()),
            "inhibitory_edge_fraction": inhibitory,
            "electrical_edges": int(self.electrical.nnz),
            "electrical_synapses": float(self.electrical.sum()),
            "reciprocity": self.reciprocity(),
            "in_degree": stats(self.degrees("in")),
            "out_degree": stats(self.degrees("out")),
            "electrical_degree": stats(self.degrees("electrical")),
            "source": self.metadata.get("source", ""),
            **{k: self.metadata[k] for k in ("n_cell_types", "n_typed_edges") if k in self.metadata},
        }

    def subnetwork(self, names: Sequence[str]) -> Connectome:
        """The connectome restricted to the given neurons (or cell types), in their order (per-neuron
        arrays in ``metadata`` are restricted too)."""
        idx = self.indices(names)
        take = np.ix_(idx, idx)
        metadata = {k: v[idx] if isinstance(v, np.ndarray) and v.shape[:1] == (self.n_neurons,) else v
                    for k, v in self.metadata.items()}
        return Connectome(name=self.name, neurons=self.neurons[idx], types=self.types[idx],
                          chemical=self.chemical[take], sign=self.sign[take], electrical=self.electrical[take],
                          metadata={**metadata, "subnetwork_of": self.name})


def random_connectome(
    n_neurons: int = 1000,
    connection_prob: float = 0.1,
    inhibitory_fraction: float = 0.2,
    max_synapses: int = 5,
    gap_prob: float = 0.0,
    seed: int = 0,
) -> Connectome:
    """A random directed network (Erdos-Renyi, no self-connections) obeying Dale's law: each neuron is
    excitatory or inhibitory, each connection has 1..``max_synapses`` synapses; optional symmetric gap
    junctions."""
    if n_neurons < 2 or not 0 < connection_prob <= 1 or not 0 <= inhibitory_fraction <= 1 or max_synapses < 1:
        raise DataValidationError(
            "random_connectome needs n_neurons >= 2, 0 < connection_prob <= 1, 0 <= inhibitory_fraction <= 1,"
            f" max_synapses >= 1; got {n_neurons}, {connection_prob}, {inhibitory_fraction}, {max_synapses}"
        )
    rng = np.random.default_rng(seed)
    inhibitory = rng.random(n_neurons) < inhibitory_fraction
    mask = rng.random((n_neurons, n_neurons)) < connection_prob
    np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    counts = rng.integers(1, max_synapses + 1, size=pre.size).astype(np.float64)
    shape = (n_neurons, n_neurons)
    chemical = sp.csr_array((counts, (pre, post)), shape=shape)
    sign = sp.csr_array((np.where(inhibitory[pre], -1.0, 1.0), (pre, post)), shape=shape)
    gaps = np.triu(rng.random(shape) < gap_prob, k=1)
    gi, gj = np.nonzero(gaps)
    electrical = sp.csr_array((np.ones(2 * gi.size), (np.r_[gi, gj], np.r_[gj, gi])), shape=shape)
    return Connectome(name=f"random{n_neurons}", neurons=np.array([f"n{i:05d}" for i in range(n_neurons)]),
                      types=np.where(inhibitory, "inhibitory", "excitatory"), chemical=chemical, sign=sign,
                      electrical=electrical,
                      metadata={"source": f"random_connectome(n={n_neurons}, p={connection_prob}, seed={seed})"})
