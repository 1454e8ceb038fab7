"""Loaders for published connectomes bundled in PyPI data packages, read as files (no network, no imports).

C. elegans: the ``cect`` package (OpenWorm's C. elegans Connectome Toolbox, Gleeson et al.) ships each dataset
as a cached JSON (``cect/cache/<Reader>.json``: node names and dense ``Generic_CS`` / ``Generic_GJ`` matrices,
``[pre][post]``). We read those files directly, so none of cect's heavy dependencies are needed
(``pip install --no-deps cect``). Cell types come from cect's ``data/all_cell_info.csv`` (Cook et al. 2019
categories); chemical-synapse signs from the WormAtlas neurotransmitter table in cect's
``data/Modified celegans db dump.csv``: synapses made by GABAergic neurons are inhibitory (-1), all others
excitatory (+1). Simplification: glutamatergic and cholinergic synapses can also be inhibitory through
glutamate- or acetylcholine-gated chloride channels; that per-receptor sign is not in these files.

``types`` are neuron classes in the nomenclature of White et al. 1986 (e.g. AVAL, AVAR -> AVA; RMDDL, RMDL,
RMDVR -> RMD; VA1..VA12 -> VA; MDL01..MDL24 -> MDL), derived from the names: the left/right letter is dropped
when the contralateral cell exists, then the dorsal/ventral letter of 4- and 6-fold classes (names of >= 4
characters whose D/V counterpart exists), and the index of upper-case numbered series (ventral-cord motor
neurons, body-wall muscles). The Cook et al. 2019 category of each cell (cect's ``all_cell_info.csv``,
e.g. "Layer 3 interneuron", "Touch") is kept in ``metadata["category"]``.

The fly optic lobe (Lappalainen et al. 2024) is in :mod:`neurosafe.connectome.optic_lobe`.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from neurosafe.connectome.files import package_file, read_csv_rows, read_json
from neurosafe.connectome.graph import Connectome
from neurosafe.core.errors import DataFileError, DataValidationError

__all__ = ["CONNECTOMES", "load_cect", "load_connectome", "neuron_classes"]


_SERIES = re.compile(r"([A-Z]{2,}?)0*\d+")


def neuron_classes(names: list[str], universe: frozenset[str] = frozenset()) -> list[str]:
    """The C. elegans class of each cell name (see module docstring); ``universe`` adds known names for the
    left/right and dorsal/ventral counterpart checks."""
    universe = frozenset(universe) | frozenset(names)
    series = Counter(m.group(1) for x in universe if (m := _SERIES.fullmatch(x)))
    other = {"L": "R", "R": "L", "D": "V", "V": "D"}

    def drop_side(name: str) -> str:
        if (m := _SERIES.fullmatch(name)) and series[m.group(1)] > 1:
            return m.group(1)
        return name[:-1] if name[-1:] in "LR" and name[:-1] + other[name[-1]] in universe else name

    bases = {drop_side(x) for x in universe}
    out = []
    for name in names:
        base = drop_side(name)
        quadrant = len(base) >= 4 and base[-1] in "DV" and base[:-1] + other[base[-1]] in bases
        out.append(base[:-1] if quadrant else base)
    return out


@cache
def _cect_categories() -> dict[str, str]:
    rows = read_csv_rows(package_file("cect", "cect/data/all_cell_info.csv"), ("Cell name", "Type"))
    return {r["Cell name"].strip(): r["Type"].strip() for r in rows}


@cache
def _cect_gabaergic() -> frozenset[str]:
    rows = read_csv_rows(package_file("cect", "cect/data/Modified celegans db dump.csv"),
                         ("Entity1", "Relationship", "Entity2"))
    return frozenset(r["Entity1"].strip() for r in rows
                     if r["Relationship"].strip() == "Neurotransmitter" and r["Entity2"].strip() == "GABA")


def _square_matrix(connections: dict, key: str, n: int, path: Path) -> np.ndarray:
    if key not in connections:
        raise DataFileError(f"{path}: no {key!r} matrix in 'connections' (has {sorted(connections)})")
    try:
        m = np.asarray(connections[key], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataFileError(f"{path}: the {key!r} matrix is not numeric or ragged ({err})") from err
    if m.shape != (n, n):
        raise DataFileError(f"{path}: the {key!r} matrix has shape {m.shape}; expected ({n}, {n}) for {n} nodes")
    if not np.isfinite(m).all() or (m < 0).any():
        raise DataFileError(f"{path}: the {key!r} matrix must hold finite synapse counts >= 0")
    return m


def load_cect(name: str, reader: str, citation: str, path: str | Path | None = None) -> Connectome:
    """A C. elegans connectome from cect's cached JSON for ``reader`` (or from the JSON file at ``path``)."""
    path = Path(path) if path is not None else package_file("cect", f"cect/cache/{reader}.json")
    data = read_json(path)
    nodes, connections = data.get("nodes"), data.get("connections")
    if not isinstance(nodes, list) or not nodes or not all(isinstance(x, str) for x in nodes):
        raise DataFileError(f"{path}: 'nodes' must be a non-empty list of neuron names")
    if not isinstance(connections, dict):
        raise DataFileError(f"{path}: 'connections' must be an object of synapse-class matrices")
    n = len(nodes)
    chemical = sp.csr_array(_square_matrix(connections, "Generic_CS", n, path))
    electrical = sp.csr_array(_square_matrix(connections, "Generic_GJ", n, path))
    categories, gabaergic = _cect_categories(), _cect_gabaergic()
    pre, _ = chemical.nonzero()
    inhibitory = np.isin(np.asarray(nodes, dtype=object)[pre], list(gabaergic))
    sign = sp.csr_array((np.where(inhibitory, -1.0, 1.0), chemical.indices.copy(), chemical.indptr.copy()),
                        shape=chemical.shape)
    try:
        metadata = {"source": f"cect {reader}", "citation": citation, "file": str(path), "species": "C. elegans",
                    "category": np.array([categories.get(x, "unknown") for x in nodes])}
        return Connectome(name=name, neurons=np.asarray(nodes),
                          types=np.array(neuron_classes(nodes, frozenset(categories))), chemical=chemical, sign=sign,
                          electrical=electrical, metadata=metadata)
    except DataValidationError as err:
        raise DataFileError(f"{path}: {err}") from err


_WITVLIET = "Witvliet et al. 2021, Nature 596:257-261 (dataset {i}: {stage})"
_WITVLIET_STAGES = {1: "L1", 2: "L1", 3: "L1", 4: "L1", 5: "L2", 6: "L3", 7: "adult", 8: "adult"}


def _registry() -> dict[str, Callable[..., Connectome]]:
    from neurosafe.connectome.optic_lobe import load_optic_lobe

    reg: dict[str, Callable[..., Connectome]] = {
        "varshney2011": partial(load_cect, "varshney2011", "VarshneyDataReader",
                                "Varshney et al. 2011, PLoS Comput Biol 7:e1001066"),
        "white1986": partial(load_cect, "white1986", "White_whole",
                             "White et al. 1986, Phil Trans R Soc Lond B 314:1-340"),
        "cook2019_herm": partial(load_cect, "cook2019_herm", "Cook2019HermReader",
                                 "Cook et al. 2019, Nature 571:63-71 (hermaphrodite)"),
        "cook2019_male": partial(load_cect, "cook2019_male", "Cook2019MaleReader",
                                 "Cook et al. 2019, Nature 571:63-71 (male)"),
    }
    for i, stage in _WITVLIET_STAGES.items():
        reg[f"witvliet2021_{i}"] = partial(load_cect, f"witvliet2021_{i}", f"WitvlietDataReader{i}",
                                           _WITVLIET.format(i=i, stage=stage))
    reg["flyvis_optic_lobe"] = load_optic_lobe
    return reg


CONNECTOMES: tuple[str, ...] = ("varshney2011", "white1986", "cook2019_herm", "cook2019_male",
                                 *(f"witvliet2021_{i}" for i in _WITVLIET_STAGES), "flyvis_optic_lobe")


def load_connectome(name: str, **options) -> Connectome:
    """Load a published connectome by name (see ``CONNECTOMES``).

    ``options`` go to the loader: ``path`` (read this file instead of the packaged one) for every name;
    ``extent`` and ``fill_gaps`` for ``flyvis_optic_lobe`` (see
    :func:`~neurosafe.connectome.optic_lobe.load_optic_lobe`).
    """
    registry = _registry()
    if name not in registry:
        raise DataValidationError(f"unknown connectome {name!r}; available: {', '.join(CONNECTOMES)}")
    loader = registry[name]
    try:
        inspect.signature(loader).bind(**options)
    except TypeError as err:
        raise DataValidationError(f"bad options for connectome {name!r}: {err}") from err
    return loader(**options)
