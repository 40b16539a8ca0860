"""Fixtures of the sctk-crystal tests: a few real SuperCon3D structures, ordered and disordered,
and their graphs with a small cutoff (tiny models, one CPU thread)."""

from __future__ import annotations

import pytest

#: SuperCon3D CIFs: 4 ordered, 4 disordered (mixed sites, and Mo1C0.75 with C vacancies).
CIF_FILES = [
    "671985.cif", "652507.cif", "53035.cif", "104763.cif",
    "82339.cif", "635423.cif", "192781.cif", "671446.cif",
]  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def table(data_dir):
    """The eight SuperCon3D rows of CIF_FILES (columns of the supercon3d loader)."""
    from sc_toolkit.data import load

    supercon3d = load("supercon3d").table.set_index("cif_file")
    return supercon3d.loc[CIF_FILES].reset_index()


@pytest.fixture(scope="session")
def structures(table):
    from sctk_crystal.graphs import structures_of

    return structures_of(table)


@pytest.fixture(scope="session")
def small_encoder():
    from sctk_crystal.graphs import CrystalGraph

    return CrystalGraph(cutoff=5.0, max_neighbors=12, n_basis=8)


@pytest.fixture(scope="session")
def graphs(small_encoder, structures):
    return small_encoder.encode(structures)


@pytest.fixture(scope="session")
def tiny() -> dict:
    """Parameters of a network small enough to train in a second on eight graphs."""
    return {"layers": 2, "scalars": 8, "vectors": 4, "tensors": 2, "heads": 2, "radial_hidden": 16,
            "batch_size": 4, "device": "cpu"}  # fmt: skip
