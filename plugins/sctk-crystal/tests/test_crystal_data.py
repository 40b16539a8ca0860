"""Structure datasets on the real files: CIF text in the tables, splits, joined moments."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.data import load, loaders, locate


@pytest.fixture(autouse=True)
def _real_data(data_dir):
    """Every test here reads the real datasets (skipped without SCTK_DATA_DIR)."""


def test_supercon3d_has_cif_text_and_order_labels():
    table = load("supercon3d").table
    assert len(table) == 1578 and (~table["ordered"]).sum() == 562
    assert table["cif"].str.contains("_atom_site_occupancy").all()
    assert np.allclose(np.exp(table["ln_tc"]), table["tc"])
    row = table.set_index("cif_file").loc["602516.cif"]  # Cs2RbC60: Cs/Rb 0.5/0.5 sites
    assert row["order"] == "disorder" and "Rb+  Rb5  1  0.25000000  0.25000000  0.75000000  0.5" in row["cif"]


def test_jarvis_supercon_structures_split_and_moments():
    loaded = load("jarvis-supercon")
    table = loaded.table
    assert len(table) == 1056 and set(loaded.rejected["value"]) == {"JVASP-18955", "JVASP-69046"}
    assert table["spp_split"].value_counts().to_dict() == {"train": 556, "": 440, "val": 30, "test": 30}
    assert table["lambda"].notna().all() and table["omega_log"].notna().all()
    ta = table.set_index("jid").loc["JVASP-1014"]  # first jarvis_3d row of dft_superconductors.csv
    assert ta["formula"] == "Ta" and ta["lambda"] == pytest.approx(0.7572)
    assert ta["omega_log"] == pytest.approx(164.9922)
    assert table["cif"].str.startswith("data_").all() and "\n" in table["poscar"].iloc[0]


def test_poscar_to_cif_keeps_geometry_of_left_handed_cells():
    from pymatgen.core import Structure
    from pymatgen.io.vasp import Poscar

    poscar = "x\n1.0\n-3.0 0.0 0.0\n0.0 3.2 0.0\n0.1 0.0 4.1\nNb Se\n1 3\ndirect\n"
    poscar += "0 0 0\n0.3 0.1 0.2\n0.7 0.6 0.35\n0.2 0.8 0.6\n"
    original = Poscar.from_str(poscar).structure
    assert np.linalg.det(original.lattice.matrix) < 0
    back = Structure.from_str(loaders.poscar_to_cif(poscar), fmt="cif")
    assert np.allclose(original.distance_matrix, back.distance_matrix, atol=1e-6)

    def handedness(structure):  # sign of the triple product of three shortest bond vectors
        vectors = []
        for i in (1, 2, 3):
            _, image = structure[0].distance_and_image(structure[i])
            shift = structure[i].frac_coords + image - structure[0].frac_coords
            vectors.append(structure.lattice.get_cartesian_coords(shift))
        return np.linalg.det(np.array(vectors))

    assert handedness(original) == pytest.approx(handedness(back), abs=1e-6)


def test_dft_superconductors_moments_table():
    table = loaders.load_dft_superconductors(locate("jarvis-supercon")).table
    assert len(table) == 9612
    counts = table["dataset"].value_counts().to_dict()
    assert counts == {"jarvis_alex": 8253, "jarvis_3d": 1058, "jarvis_2d": 161, "htsc_2025": 140}
    with_moments = table.dropna(subset=["lambda", "omega_log"])
    assert len(with_moments) == 9472 and (table.loc[table["dataset"] == "jarvis_2d", "pressure_gpa"] == 0).all()


def test_bete_net_and_3dsc_have_cif_text():
    bete = load("bete-net")
    assert len(bete.table) == 806 and len(bete.rejected) == 18
    assert bete.table["cif"].str.contains("_atom_site_fract_x").all()
    three_dsc = load("3dsc").table
    assert len(three_dsc) == 10_904 and three_dsc["cif"].str.contains("_cell_length_a").all()
    doped = three_dsc[three_dsc["synth_doped"]].iloc[0]
    assert doped["cif_file"].startswith("cifs/") and "_atom_site_occupancy" in doped["cif"]
