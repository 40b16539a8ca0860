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
