"""Connectome graph: validation, statistics against networkx, random networks."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from neurosafe.connectome import Connectome, random_connectome
from neurosafe.core.errors import DataValidationError


def _tiny(**changes):
    chemical = sp.csr_array(np.array([[0, 2, 0], [1, 0, 3], [0, 0, 0]], float))
    sign = sp.csr_array(np.array([[0, 1, 0], [-1, 0, 1], [0, 0, 0]], float))
    electrical = sp.csr_array(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], float))
    kwargs = dict(
        name="tiny",
        neurons=["a", "b", "c"],
        types=["x", "x", "y"],
        chemical=chemical,
        sign=sign,
        electrical=electrical,
    )
    return Connectome(**{**kwargs, **changes})


def _digraph(c: Connectome) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(c.n_neurons))
    pre, post = c.chemical.nonzero()
    g.add_edges_from((int(i), int(j)) for i, j in zip(pre, post, strict=True) if i != j)
    return g


@pytest.mark.parametrize("connectome", ["varshney", "random1000"])
def test_statistics_equal_networkx(connectome, request):
    c = request.getfixturevalue(connectome)
    g = _digraph(c)
    assert c.reciprocity() == pytest.approx(nx.overall_reciprocity(g))
    assert np.array_equal(c.degrees("in"), [d for _, d in sorted(g.in_degree())])
    assert np.array_equal(c.degrees("out"), [d for _, d in sorted(g.out_degree())])
    assert np.array_equal(c.degree_distribution("in"), np.bincount([d for _, d in g.in_degree()]))
    e = nx.Graph()
    e.add_nodes_from(range(c.n_neurons))
    ei, ej = c.electrical.nonzero()
    e.add_edges_from((int(i), int(j)) for i, j in zip(ei, ej, strict=True) if i != j)
    assert np.array_equal(c.degrees("electrical"), [d for _, d in sorted(e.degree())])
    summary = c.summary()
    assert summary["chemical_edges"] == c.chemical.nnz
    assert summary["in_degree"]["max"] == max(d for _, d in g.in_degree())


def test_tiny_graph_by_hand():
    c = _tiny()
    # edges a->b, b->a, b->c: two of three have a reverse
    assert c.reciprocity() == pytest.approx(2 / 3)
    assert c.summary()["inhibitory_edge_fraction"] == pytest.approx(1 / 3)
    assert c.signed_chemical.toarray().tolist() == [[0, 2, 0], [-1, 0, 3], [0, 0, 0]]
    assert c.type_edges() == [("x", "x"), ("x", "y")]
    assert c.indices(["c", "x"]).tolist() == [2, 0, 1]
    sub = c.subnetwork(["c", "b"])
    assert sub.neurons.tolist() == ["c", "b"] and sub.chemical.toarray().tolist() == [[0, 0], [3, 0]]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"neurons": ["a", "a", "c"]}, "duplicate neuron names"),
        ({"types": ["x", "y"]}, "2 types for 3 neurons"),
        ({"chemical": sp.csr_array(np.array([[0, -2, 0], [1, 0, 3], [0, 0, 0]], float))}, "must be >= 0"),
        ({"chemical": sp.csr_array(np.ones((2, 2)))}, "expected (3, 3)"),
        ({"electrical": sp.csr_array(np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]], float))}, "not symmetric"),
        ({"sign": sp.csr_array(np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 0]], float))}, "`sign` must hold"),
        ({"sign": sp.csr_array(np.array([[0, 2, 0], [-1, 0, 1], [0, 0, 0]], float))}, "`sign` must hold"),
        ({"chemical": sp.csr_array(np.array([[0, np.nan, 0], [1, 0, 3], [0, 0, 0]]))}, "NaN"),
        ({"neurons": []}, "no neurons"),
    ],
)
def test_invalid_connectomes_raise(changes, message):
    with pytest.raises(DataValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _tiny(**changes)


def test_unknown_names_and_degree_kind_raise():
    c = _tiny()
    with pytest.raises(DataValidationError, match="no neuron or cell type named 'zz'"):
        c.indices(["a", "zz"])
    with pytest.raises(DataValidationError, match="degree kind"):
        c.degrees("sideways")


def test_subnetwork_keeps_per_neuron_metadata(cook_herm):
    sub = cook_herm.subnetwork(["AVA", "ALML"])
    assert set(sub.neurons) == {"AVAL", "AVAR", "ALML"} and sub.types.tolist().count("AVA") == 2
    full = dict(zip(cook_herm.neurons, cook_herm.metadata["category"], strict=True))
    assert sub.metadata["category"].tolist() == [full[x] for x in sub.neurons]
    assert (
        sub.chemical.sum()
        == cook_herm.chemical[np.ix_(sub_idx := cook_herm.indices(sub.neurons), sub_idx)].sum()
    )


def test_random_connectome_obeys_dale_and_seed():
    c = random_connectome(300, 0.2, inhibitory_fraction=0.3, gap_prob=0.05, seed=4)
    signed = c.signed_chemical
    for i in range(c.n_neurons):
        row = signed[[i], :].data
        assert (row > 0).all() or (row < 0).all()
        assert (c.types[i] == "inhibitory") == bool(len(row) and row[0] < 0) or len(row) == 0
    assert c.chemical.diagonal().sum() == 0
    assert c.chemical.nnz == pytest.approx(0.2 * 300 * 299, rel=0.05)
    assert (c.electrical != c.electrical.T).nnz == 0 and c.electrical.nnz > 0
    again = random_connectome(300, 0.2, inhibitory_fraction=0.3, gap_prob=0.05, seed=4)
    assert (again.chemical != c.chemical).nnz == 0
    assert (random_connectome(300, 0.2, seed=5).chemical != c.chemical).nnz > 0
    with pytest.raises(DataValidationError, match="random_connectome needs"):
        random_connectome(1, 0.1)
