"""Loaders: counts and synapse sums equal those read independently from the package files."""

import csv
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurosafe
from neurosafe.connectome import CONNECTOMES, MissingDataPackageError, load_connectome
from neurosafe.connectome.files import package_file
from neurosafe.connectome.loaders import neuron_classes
from neurosafe.connectome.optic_lobe import hex_lattice, load_optic_lobe
from neurosafe.core.errors import DataFileError, DataValidationError

CECT_FILES = {
    "varshney2011": "VarshneyDataReader",
    "white1986": "White_whole",
    "cook2019_herm": "Cook2019HermReader",
    "cook2019_male": "Cook2019MaleReader",
    **{f"witvliet2021_{i}": f"WitvlietDataReader{i}" for i in range(1, 9)},
}


def _installed(dist: str, relative: str) -> Path:
    """Independent lookup: the installed package folder next to its dist-info."""
    root = Path(str(importlib.metadata.distribution(dist).locate_file("")))
    return root / relative


@pytest.mark.parametrize("name", list(CECT_FILES))
def test_cect_counts_and_sums_equal_the_files(name):
    data = json.loads(_installed("cect", f"cect/cache/{CECT_FILES[name]}.json").read_text())
    c = load_connectome(name)
    assert c.neurons.tolist() == data["nodes"]
    for key, matrix in (("Generic_CS", c.chemical), ("Generic_GJ", c.electrical)):
        dense = np.array(data["connections"][key])
        assert matrix.sum() == dense.sum() and matrix.nnz == np.count_nonzero(dense)
        # cect's own summary line, written when it built the cache
        line = re.search(
            rf"{key}: \((\d+), \d+\), (\d+) non-zero entries, sum of entries = (\d+)", data["summary"]
        )
        assert (c.n_neurons, matrix.nnz, matrix.sum()) == (int(line[1]), int(line[2]), int(line[3]))
        np.testing.assert_array_equal(matrix.toarray(), dense)


def test_published_sizes(varshney, cook_herm):
    assert varshney.n_neurons == 281 and cook_herm.n_neurons == 473
    assert load_connectome("witvliet2021_8").metadata["citation"].startswith("Witvliet et al. 2021")


def test_signs_follow_the_gabaergic_neurons_of_the_wormatlas_table(cook_herm):
    with open(_installed("cect", "cect/data/Modified celegans db dump.csv"), newline="") as f:
        gaba = {
            r["Entity1"]
            for r in csv.DictReader(f)
            if r["Relationship"] == "Neurotransmitter" and r["Entity2"] == "GABA"
        }
    assert {"DD1", "VD5", "RIS", "AVL", "RMED"} <= gaba
    pre, post = cook_herm.chemical.nonzero()
    signs = np.asarray(cook_herm.sign[pre, post]).ravel()
    expected = np.where(np.isin(cook_herm.neurons[pre], list(gaba)), -1, 1)
    np.testing.assert_array_equal(signs, expected)
    assert (signs < 0).any() and (signs > 0).any()


def test_neuron_classes_follow_white1986_nomenclature(cook_herm):
    names = [
        "AVAL",
        "AVAR",
        "RMDDL",
        "RMDL",
        "RMDVR",
        "RMED",
        "RMEL",
        "VA12",
        "VA1",
        "RID",
        "RIVL",
        "RIVR",
        "SAADL",
        "SAAVR",
        "SABD",
        "SABVL",
        "IL1L",
        "IL1DR",
        "MDL05",
        "MDL06",
        "I3",
        "M1",
        "M4",
        "AVM",
        "ALML",
        "PLMR",
        "DD3",
        "AS11",
    ]
    classes = dict(zip(cook_herm.neurons, cook_herm.types, strict=True))
    assert [classes[x] for x in names] == [
        "AVA",
        "AVA",
        "RMD",
        "RMD",
        "RMD",
        "RME",
        "RME",
        "VA",
        "VA",
        "RID",
        "RIV",
        "RIV",
        "SAA",
        "SAA",
        "SAB",
        "SAB",
        "IL1",
        "IL1",
        "MDL",
        "MDL",
        "I3",
        "M1",
        "M4",
        "AVM",
        "ALM",
        "PLM",
        "DD",
        "AS",
    ]
    # without the contralateral cells in view, a name keeps its side letter
    assert neuron_classes(["RMDDL", "AVAL", "AVAR"]) == ["RMDDL", "AVA", "AVA"]


def test_optic_lobe_matches_the_paper(optic_lobe):
    data = json.loads(_installed("flyvis", "flyvis/connectome/fib25-fib19_v2.2.json").read_text())
    s = optic_lobe.summary()
    assert (s["n_cell_types"], s["n_typed_edges"]) == (len(data["nodes"]), len(data["edges"])) == (65, 605)
    # Lappalainen et al. 2024: 45,669 cells and 1,513,231 connections on 721 columns
    assert (optic_lobe.n_neurons, optic_lobe.chemical.nnz) == (45_669, 1_513_231)
    assert (optic_lobe.types == "T4a").sum() == 721 and len(hex_lattice(15)) == 721
    assert s["n_types"] == 65
    # one typed edge (Lawf1 -> Lawf1 at offset (1, 0)) cannot land on the stride-(3, 2) Lawf1 lattice
    assert s["n_type_edges"] == 604
    assert optic_lobe.electrical.nnz == 0
    assert set(optic_lobe.metadata["input_types"]) == {f"R{i}" for i in range(1, 9)}


def _naive_lattice(data: dict, extent: int) -> tuple[dict, dict]:
    """Cell-by-cell construction with dicts (no hull filling), written independently of the loader."""
    cells = {}
    for node in data["nodes"]:
        su, sv = node["pattern"][1]
        for u in range(-extent, extent + 1):
            for v in range(-extent, extent + 1):
                if abs(u + v) <= extent and u % su == 0 and v % sv == 0:
                    cells[(node["name"], u, v)] = f"{node['name']}[{u},{v}]"
    edges = {}
    for e in data["edges"]:
        for (du, dv), n in e["offsets"]:
            for (t, u, v), name in cells.items():
                target = cells.get((e["tar"], u + du, v + dv)) if t == e["src"] else None
                if target is not None:
                    edges[(name, target)] = (n, e["alpha"])
    return cells, edges


def test_optic_lobe_lattice_equals_a_naive_construction():
    data = json.loads(_installed("flyvis", "flyvis/connectome/fib25-fib19_v2.2.json").read_text())
    cells, edges = _naive_lattice(data, extent=2)
    c = load_optic_lobe(extent=2, fill_gaps=0)
    assert sorted(c.neurons) == sorted(cells.values())
    index = {name: i for i, name in enumerate(c.neurons)}
    pre = np.array([index[a] for a, _ in edges])
    post = np.array([index[b] for _, b in edges])
    assert c.chemical.nnz == len(edges)
    np.testing.assert_allclose(np.asarray(c.chemical[pre, post]).ravel(), [n for n, _ in edges.values()])
    np.testing.assert_array_equal(np.asarray(c.sign[pre, post]).ravel(), [a for _, a in edges.values()])


def test_hull_filling_adds_the_interior_lattice_points(tmp_path):
    # one typed edge measured only at the six corners of a hexagon of radius 2: the 7 lattice points strictly
    # inside (hex distance <= 1) get fill_gaps synapses; nothing outside the hull is added (points on its
    # edges follow matplotlib's point-in-polygon test, as in flyvis)
    corners = [(2, 0), (0, 2), (-2, 2), (-2, 0), (0, -2), (2, -2)]
    spec = {
        "nodes": [{"name": "A", "pattern": ["stride", [1, 1]]}, {"name": "B", "pattern": ["stride", [1, 1]]}],
        "edges": [
            {
                "src": "A",
                "tar": "B",
                "alpha": -1,
                "edge_type": "chem",
                "offsets": [[list(p), 5] for p in corners],
            }
        ],
    }
    path = tmp_path / "hexagon.json"
    path.write_text(json.dumps(spec))
    c = load_optic_lobe(path, extent=6, fill_gaps=0.5)
    row = c.chemical[[list(c.neurons).index("A[0,0]")], :]
    targets = {c.neurons[j]: w for j, w in zip(row.indices, row.data, strict=True)}
    inside = {(u, v) for u in range(-1, 2) for v in range(-1, 2) if abs(u + v) <= 1}
    assert all(targets[f"B[{u},{v}]"] == 0.5 for u, v in inside)
    assert all(targets[f"B[{u},{v}]"] == 5 for u, v in corners)
    assert all(
        max(abs(u), abs(v), abs(u + v)) <= 2 for u, v in (map(int, re.findall(r"-?\d+", t)) for t in targets)
    )
    assert (c.sign.data == -1).all()
    assert load_optic_lobe(path, extent=6, fill_gaps=0).chemical[[0], :].nnz <= len(corners)


def test_flyvis_and_cect_are_never_imported():
    code = (
        "import sys; from neurosafe.connectome import load_connectome; load_connectome('witvliet2021_1'); "
        "load_connectome('flyvis_optic_lobe', extent=1); "
        "print(any(m.split('.')[0] in ('flyvis', 'cect') for m in sys.modules))"
    )
    src = str(Path(neurosafe.__file__).parents[1])  # this checkout's package, whatever is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


def test_missing_package_and_file_give_clear_errors():
    with pytest.raises(MissingDataPackageError, match=r"pip install --no-deps no-such-connectome-pkg"):
        package_file("no-such-connectome-pkg", "x.json")
    with pytest.raises(MissingDataPackageError, match=r"has no file 'cect/cache/Nope\.json'"):
        package_file("cect", "cect/cache/Nope.json")


def _cect(nodes=("A", "B"), cs=((0, 1), (0, 0)), gj=((0, 0), (0, 0))) -> str:
    return json.dumps({"nodes": list(nodes), "connections": {"Generic_CS": cs, "Generic_GJ": gj}})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_cect()[:-2], "cannot read connectome file"),
        ('["not", "an", "object"]', "must hold a JSON object"),
        ('{"nodes": [], "connections": {}}', "non-empty list of neuron names"),
        ('{"nodes": ["A", "B"], "connections": {"Generic_CS": [[0, 1], [0, 0]]}}', "no 'Generic_GJ' matrix"),
        (_cect(cs=((0, 1),)), r"shape \(1, 2\); expected \(2, 2\)"),
        (_cect(cs=((0, -1), (0, 0))), "finite synapse counts >= 0"),
        (_cect(nodes=("A", "A")), "duplicate neuron names"),
        (_cect(gj=((0, 1), (0, 0))), "not symmetric"),
    ],
)
def test_malformed_cect_files_raise(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataFileError, match=message):
        load_connectome("varshney2011", path=path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["edges"][0].update(tar="Nobody"), "names a cell type that is not in 'nodes'"),
        (lambda d: d["edges"][0].update(alpha=0), "sign alpha"),
        (lambda d: d["edges"][0].update(offsets=[[[0], 3]]), "malformed offsets"),
        (lambda d: d["edges"][0].update(offsets=[[[0, 0], 0]]), "synapse counts > 0"),
        (lambda d: d["edges"].append(dict(d["edges"][0])), "listed twice"),
        (lambda d: d["nodes"][0].update(pattern=["spiral", 3]), "unknown lattice pattern"),
        (lambda d: d.pop("edges"), "'edges' list"),
    ],
)
def test_malformed_flyvis_files_raise(tmp_path, edit, message):
    data = json.loads(_installed("flyvis", "flyvis/connectome/fib25-fib19_v2.2.json").read_text())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=message):
        load_connectome("flyvis_optic_lobe", path=path, extent=1)


def test_unknown_names_and_options_raise():
    with pytest.raises(DataValidationError, match="unknown connectome 'worm'"):
        load_connectome("worm")
    with pytest.raises(DataValidationError, match="bad options"):
        load_connectome("varshney2011", extent=3)
    with pytest.raises(DataValidationError, match="extent must be an integer"):
        load_connectome("flyvis_optic_lobe", extent=-1)
    assert len(CONNECTOMES) == 13
