"""crystal-graph: occupancy-weighted nodes and edges, split-site pruning, neighbours, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sc_toolkit.testing import check_component_class, check_encoder
from sctk_crystal.graphs import CrystalGraph, radial_basis


def _cubic(species_and_coords, a=4.0):
    from pymatgen.core import Lattice, Structure

    species, coords = zip(*species_and_coords, strict=True)
    return Structure(Lattice.cubic(a), list(species), list(coords))


def test_contract_and_labels(table, small_encoder, graphs):
    check_component_class(CrystalGraph)
    assert CrystalGraph.consumes == "structure" and CrystalGraph.produces == "graph"
    assert small_encoder.fit(table) is small_encoder
    assert len(graphs) == len(table) and small_encoder.feature_labels()[:3] == ["H", "He", "Li"]
    again = small_encoder.encode(table)  # from the DataFrame's cif column
    for a, b in zip(graphs, again, strict=True):
        assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.edge_attr, b.edge_attr)


def test_encoder_contract_on_graph_lists(table):
    graphs = check_encoder(CrystalGraph(cutoff=5.0, max_neighbors=12, n_basis=8), table)
    assert len(graphs) == len(table)


def test_save_load_keeps_the_encoding(tmp_path, structures, graphs):
    encoder = CrystalGraph(cutoff=5.0, max_neighbors=12, n_basis=8)
    loaded = CrystalGraph.load(encoder.save(tmp_path / "enc"))
    assert loaded.params == encoder.params
    assert torch.equal(loaded.encode(structures[:1])[0].edge_attr, graphs[0].edge_attr)


def test_real_disordered_sites(table, graphs):
    mo_c = graphs[list(table["cif_file"]).index("192781.cif")]  # Mo1C0.75: C sites 0.746 occupied
    c_column = CrystalGraph().feature_labels().index("C")
    assert torch.allclose(mo_c.x.sum(dim=1), mo_c.occupancy)
    assert set(np.round(mo_c.x[:, c_column].double().numpy(), 4).tolist()) == {0.0, 0.746}
    assert sorted(set(np.round(mo_c.occupancy.double().numpy(), 4).tolist())) == [0.746, 1.0]
    src, dst = mo_c.edge_index
    product = mo_c.occupancy[src] * mo_c.occupancy[dst]
    distance = mo_c.edge_vec.norm(dim=1).double().numpy()
    expected = radial_basis(distance, 5.0, 8) * product.numpy()[:, None]
    assert np.allclose(mo_c.edge_attr.numpy(), expected, atol=1e-5)  # vacancies damp the edges
    mixed = graphs[list(table["cif_file"]).index("635423.cif")]  # V3Ga0.5Si0.5: mixed Ga/Si site
    assert ((mixed.x > 0).sum(dim=1) == 2).any() and torch.allclose(mixed.occupancy, torch.ones(len(mixed.x)))


def test_split_partial_sites_lose_their_overlapping_edge():
    structure = _cubic([({"Cs": 0.5, "Rb": 0.5}, [0, 0, 0]), ({"O": 0.5}, [0.5, 0.5, 0.5]),
                        ({"O": 0.5}, [0.55, 0.5, 0.5]), ("Nb", [0.5, 0.5, 0])])  # fmt: skip
    def pairs(mode):  # (neighbour, centre, distance to 0.01 A) of every edge
        graph = CrystalGraph(cutoff=4.5, drop_overlaps=mode).graph(structure)
        distance = np.round(graph.edge_vec.norm(dim=1).double().numpy(), 2).tolist()
        return set(zip(*graph.edge_index.tolist(), distance, strict=True))

    assert (1, 2, 0.2) in pairs("none") and (1, 2, 0.2) not in pairs("partial")  # both half occupied
    assert (3, 1, 2.0) in pairs("partial")
    assert (3, 1, 2.0) not in pairs("all")  # 2.0 A < r(Nb) + r(O): SODNet's rule drops real bonds too
    graph = CrystalGraph(cutoff=4.5).graph(structure)
    assert graph.x[0, CrystalGraph().feature_labels().index("Rb")] == pytest.approx(0.5)


def test_mass_weighted_nodes_and_neighbour_limit():
    structure = _cubic([("Nb", [0, 0, 0]), ("Se", [0.5, 0.5, 0.5])], a=3.3)
    graph = CrystalGraph(node_features="mass-weighted", max_neighbors=4, cutoff=8.0).graph(structure)
    assert graph.x[0, 40].item() == pytest.approx(92.906, abs=1e-3)  # Nb, Z = 41
    counts = torch.bincount(graph.edge_index[1])
    assert (counts >= 4).all() and (counts <= 8 + 6).all()  # 4 nearest plus ties at the 4th distance
    assert (graph.edge_vec.norm(dim=1) <= 8.0).all()


# -- size limits: checked before the neighbour search ---------------------------------------


@pytest.fixture
def no_neighbour_search(monkeypatch):
    """Fail the test if pymatgen's neighbour search is reached."""
    from pymatgen.core import Structure

    def refuse(self, *args, **kwargs):
        raise AssertionError("the neighbour search ran")

    monkeypatch.setattr(Structure, "get_neighbor_list", refuse)


def test_a_huge_cell_is_refused_before_the_neighbour_search(no_neighbour_search):
    import tracemalloc

    import pandas as pd
    from pymatgen.io.cif import CifWriter

    from sc_toolkit.errors import DataError

    rock_salt = _cubic([("Na", [0, 0, 0]), ("Cl", [0.5, 0.5, 0.5])], a=5.64)
    huge = rock_salt.copy()
    huge.scale_lattice(3000.0**3)  # the same two atoms in a 3,000 A cell
    table = pd.DataFrame({"cif_file": ["ok.cif", "huge.cif"], "cif": [str(CifWriter(rock_salt)), str(CifWriter(huge))]})
    tracemalloc.start()
    with pytest.raises(DataError) as info:
        CrystalGraph().encode(table)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    error = info.value
    assert error.where == "row 1 (cif_file huge.cif)"
    assert "cell edges 3000, 3000, 3000 A: longer than 500 A" in error.message
    assert error.exit_code == 2 and "\n" not in error.one_line()
    assert peak < 50 * 2**20


@pytest.mark.parametrize(
    ("make", "cutoff", "reason"),
    [
        (lambda: _cubic([("Cu", [i / 2001, 0, 0]) for i in range(2001)], a=400.0), 8.0, "2001 sites in the cell, more than 2000"),
        (lambda: _cubic([("Cu", [0, 0, 0])], a=100.0), 0.05, "neighbour grid of"),
        (lambda: _cubic([("Cu", [0, 0, 0]), ("O", [0.5, 0.5, 0.5])], a=4.0), 1000.0, "neighbour pairs within 1000 A"),
    ],
    ids=["too-many-sites", "grid-too-fine", "too-many-pairs"],
)
def test_structures_too_large_for_the_graph_are_refused(no_neighbour_search, make, cutoff, reason):
    from sc_toolkit.errors import DataError

    with pytest.raises(DataError, match=reason) as info:
        CrystalGraph(cutoff=cutoff).encode([make()])
    assert info.value.where == "row 0"


class _OneSite:
    """Just what check_size reads: a site count and a lattice (here a flat one)."""

    lattice = type("Flat", (), {"matrix": np.array([[4.0, 0, 0], [8.0, 0, 0], [0, 0, 4.0]]), "abc": (4.0, 8.0, 4.0)})

    def __len__(self):
        return 1


def test_a_degenerate_cell_is_refused():
    from sc_toolkit.errors import DataError
    from sctk_crystal.graphs import check_size

    with pytest.raises(DataError, match=r"degenerate cell \(volume 0 A\^3\)") as info:
        check_size(_OneSite(), 8.0, where="row 3")
    assert info.value.where == "row 3"


def test_the_largest_real_structures_are_within_the_limits(data_dir):
    from sc_toolkit.data import load
    from sctk_crystal.graphs import MAX_SITES, check_size, structures_of

    table = load("supercon3d").table.set_index("cif_file").loc[["84513.cif", "640011.cif"]]
    for structure in structures_of(table):
        check_size(structure, 8.0)
        assert len(structure) <= MAX_SITES
