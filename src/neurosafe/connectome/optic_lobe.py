"""The Drosophila optic-lobe connectome of Lappalainen et al. 2024 (Nature 634:1132-1140), from the JSON
bundled in the ``flyvis`` wheel (``flyvis/connectome/fib25-fib19_v2.2.json``, built from the FIB-25 and
FIB-19 EM reconstructions). The file is read as a file; flyvis is never imported.

The file lists 65 cell types and 605 typed edges (source type, target type, sign, and synapse counts per
column offset ``(du, dv)`` on a hexagonal lattice). As in flyvis, each cell type tiles the hexagonal lattice
of radius ``extent`` columns (``|u|, |v|, |u + v| <= extent``, strided types every ``stride`` columns) and
every typed edge is replicated convolutionally: the cell at ``(u, v)`` connects to the target-type cell at
``(u + du, v + dv)`` with the offset's synapse count. Lattice points inside the convex hull of an edge's
measured offsets (when it has >= 3) but not measured themselves get ``fill_gaps`` synapses, as flyvis's
``n_syn_fill``. With the defaults (extent 15, fill 1) this gives 721 columns, 45,669 cells and 1,513,231
connections, the network of the paper.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from matplotlib.path import Path as Polygon
from scipy.spatial import ConvexHull, QhullError

from neurosafe.connectome.files import package_file, read_json
from neurosafe.connectome.graph import Connectome
from neurosafe.core.errors import DataFileError, DataValidationError

__all__ = ["FLYVIS_FILE", "hex_lattice", "load_optic_lobe"]

FLYVIS_FILE = "flyvis/connectome/fib25-fib19_v2.2.json"
CITATION = "Lappalainen et al. 2024, Nature 634:1132-1140 (flyvis; FIB-25/FIB-19 optic-lobe connectome)"


def hex_lattice(extent: int, stride: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Axial coordinates ``(u, v)`` of the hexagonal lattice of radius ``extent`` (every ``stride`` columns),
    ordered by u then v."""
    su, sv = stride
    return np.array(
        [
            (u, v)
            for u in range(-extent, extent + 1)
            for v in range(max(-extent, -extent - u), min(extent, extent - u) + 1)
            if u % su == 0 and v % sv == 0
        ],
        dtype=np.int64,
    ).reshape(-1, 2)


def _stride(pattern, name: str, path: Path) -> tuple[int, int] | None:
    """The lattice stride of a node pattern (``None``: a single cell at the centre column)."""
    if (
        isinstance(pattern, list)
        and len(pattern) == 2
        and pattern[0] == "stride"
        and isinstance(pattern[1], list)
        and len(pattern[1]) == 2
    ):
        return int(pattern[1][0]), int(pattern[1][1])
    if isinstance(pattern, list) and len(pattern) == 2 and pattern[0] == "tile":
        return int(pattern[1]), int(pattern[1])
    if pattern == ["single"] or pattern == "single":
        return None
    raise DataFileError(f"{path}: cell type {name!r} has an unknown lattice pattern {pattern!r}")


def _filled_offsets(offsets: np.ndarray, counts: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Add the lattice points inside the convex hull of the measured offsets, with ``fill`` synapses each."""
    if fill <= 0 or len(offsets) < 3:
        return offsets, counts
    try:
        hull = ConvexHull((1 + 1e-6) * offsets, qhull_options="QJ")
    except QhullError:
        return offsets, counts
    (u0, v0), (u1, v1) = offsets.min(axis=0), offsets.max(axis=0)
    grid = np.stack(np.meshgrid(np.arange(u0, u1 + 1), np.arange(v0, v1 + 1), indexing="ij"), -1).reshape(
        -1, 2
    )
    inside = grid[Polygon(offsets[hull.vertices]).contains_points(grid)]
    known = {tuple(p) for p in offsets.tolist()}
    new = np.array([p for p in inside.tolist() if tuple(p) not in known], dtype=np.int64).reshape(-1, 2)
    return np.concatenate([offsets, new]), np.concatenate([counts, np.full(len(new), float(fill))])


def _parse_edge(e, types: set[str], path: Path) -> tuple[str, str, float, np.ndarray, np.ndarray]:
    if not isinstance(e, dict) or not {"src", "tar", "alpha", "offsets"} <= e.keys():
        raise DataFileError(f"{path}: every edge needs 'src', 'tar', 'alpha' and 'offsets'; got {e!r:.120}")
    src, tar = e["src"], e["tar"]
    if src not in types or tar not in types:
        raise DataFileError(f"{path}: edge {src!r} -> {tar!r} names a cell type that is not in 'nodes'")
    if e["alpha"] not in (-1, 1) or e.get("edge_type", "chem") != "chem":
        raise DataFileError(
            f"{path}: edge {src} -> {tar} needs sign alpha = +1 or -1 and edge_type 'chem'; "
            f"got alpha={e['alpha']!r}, edge_type={e.get('edge_type')!r}"
        )
    try:
        offsets = np.array([o[0] for o in e["offsets"]], dtype=np.int64).reshape(-1, 2)
        counts = np.array([o[1] for o in e["offsets"]], dtype=np.float64)
    except (TypeError, ValueError, IndexError) as err:
        raise DataFileError(
            f"{path}: edge {src} -> {tar} has malformed offsets [[du, dv], n_syn] ({err})"
        ) from err
    if len(offsets) == 0 or not (np.isfinite(counts) & (counts > 0)).all():
        raise DataFileError(f"{path}: edge {src} -> {tar} needs offsets with synapse counts > 0")
    return src, tar, float(e["alpha"]), offsets, counts


def load_optic_lobe(path: str | Path | None = None, extent: int = 15, fill_gaps: float = 1.0) -> Connectome:
    """The optic-lobe network of Lappalainen et al. 2024 on a hexagonal lattice of radius ``extent``.

    Neurons are named ``type[u,v]``; ``metadata`` holds their lattice coordinates ``u``, ``v``, the
    ``input_types`` (photoreceptors R1-R8) and ``output_types`` of the file, and the type-level
    ``n_cell_types`` and ``n_typed_edges`` read from it.
    """
    if int(extent) != extent or extent < 0 or fill_gaps < 0:
        raise DataValidationError(
            f"extent must be an integer >= 0 and fill_gaps >= 0; got {extent}, {fill_gaps}"
        )
    path = Path(path) if path is not None else package_file("flyvis", FLYVIS_FILE)
    data = read_json(path)
    nodes, edges = data.get("nodes"), data.get("edges")
    if not isinstance(nodes, list) or not nodes or not isinstance(edges, list):
        raise DataFileError(f"{path}: needs a non-empty 'nodes' list of cell types and an 'edges' list")
    try:
        strides = {n["name"]: _stride(n["pattern"], n["name"], path) for n in nodes}
    except (TypeError, KeyError) as err:
        raise DataFileError(f"{path}: every node needs a 'name' and a 'pattern' ({err!r})") from err
    if len(strides) != len(nodes):
        raise DataFileError(f"{path}: duplicate cell-type names in 'nodes'")

    # cells: every type on its lattice, in file order; lookup[type][u + extent, v + extent] = cell index
    width = 2 * int(extent) + 1
    coords, names, types, lookup = [], [], [], {}
    for t, stride in strides.items():
        uv = hex_lattice(int(extent), stride) if stride is not None else np.zeros((1, 2), dtype=np.int64)
        grid = np.full((width, width), -1, dtype=np.int64)
        grid[uv[:, 0] + extent, uv[:, 1] + extent] = np.arange(len(uv)) + sum(len(c) for c in coords)
        lookup[t] = grid
        coords.append(uv)
        names.extend(f"{t}[{u},{v}]" for u, v in uv.tolist())
        types.extend([t] * len(uv))
    uv_all = np.concatenate(coords)

    pre, post, count, sign, seen = [], [], [], [], set()
    for e in edges:
        src, tar, alpha, offsets, counts = _parse_edge(e, set(strides), path)
        if (src, tar) in seen:
            raise DataFileError(f"{path}: the typed edge {src} -> {tar} is listed twice")
        seen.add((src, tar))
        offsets, counts = _filled_offsets(offsets, counts, fill_gaps)
        src_cells = np.flatnonzero(lookup[src].ravel() >= 0)
        su, sv = np.unravel_index(src_cells, (width, width))
        tu, tv = su[None, :] + offsets[:, :1], sv[None, :] + offsets[:, 1:]
        ok = (tu >= 0) & (tu < width) & (tv >= 0) & (tv < width)
        target = np.full(ok.shape, -1, dtype=np.int64)
        target[ok] = lookup[tar][tu[ok], tv[ok]]
        hit = target >= 0
        source = np.broadcast_to(lookup[src].ravel()[src_cells][None, :], hit.shape)
        pre.append(source[hit])
        post.append(target[hit])
        count.append(np.broadcast_to(counts[:, None], hit.shape)[hit])
        sign.append(np.full(hit.sum(), alpha))

    n = len(names)
    pre_a, post_a = np.concatenate(pre), np.concatenate(post)
    chemical = sp.csr_array((np.concatenate(count), (pre_a, post_a)), shape=(n, n))
    signs = sp.csr_array((np.concatenate(sign), (pre_a, post_a)), shape=(n, n))
    return Connectome(
        name="flyvis_optic_lobe",
        neurons=np.array(names),
        types=np.array(types),
        chemical=chemical,
        sign=signs,
        electrical=sp.csr_array((n, n)),
        metadata={
            "source": f"flyvis {path.name} (extent {extent}, fill {fill_gaps})",
            "citation": CITATION,
            "file": str(path),
            "species": "D. melanogaster",
            "extent": int(extent),
            "u": uv_all[:, 0],
            "v": uv_all[:, 1],
            "n_cell_types": len(strides),
            "n_typed_edges": len(edges),
            "input_types": list(data.get("input_units", [])),
            "output_types": list(data.get("output_units", [])),
        },
    )
