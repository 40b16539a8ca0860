"""The prototype structure generator: compositions placed on known structures of the same stoichiometry."""

from __future__ import annotations

import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter

from sc_toolkit import UserError, load_dataset
from sc_toolkit.testing import check_structure_generator
from sctk_structure.prototype import Prototype


def rock_salt() -> Structure:
    """NaCl, a = 5.64 A (Fm-3m, 8 atoms in the conventional cell)."""
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def la2cuo4() -> Structure:
    """Tetragonal La2CuO4 (I4/mmm, K2NiF4 type)."""
    sites = [[0, 0, 0.361], [0, 0, 0], [0, 0.5, 0], [0, 0, 0.182]]
    return Structure.from_spacegroup("I4/mmm", Lattice.tetragonal(3.78, 13.2), ["La", "Cu", "O", "O"], sites)


@pytest.fixture(scope="module")
def fitted() -> Prototype:
    return Prototype().fit([rock_salt(), la2cuo4()])


@pytest.fixture(scope="module")
def supercon3d_slice(data_dir) -> list[Structure]:
    """24 ordered and 12 disordered SuperCon3D structures."""
    table = load_dataset("supercon3d").table
    rows = [*table[table["ordered"]]["cif"].head(24), *table[~table["ordered"]]["cif"].head(12)]
    return [Structure.from_str(text, fmt="cif") for text in rows]


def test_contract_on_real_structures(supercon3d_slice):
    formulas = [s.composition.reduced_formula for s in supercon3d_slice[::12]] + ["Nb3Ge", "La1.85Sr0.15CuO4"]
    out = check_structure_generator(Prototype(), supercon3d_slice, formulas, k=2)
    assert all(out[:3]), "a template's own composition gets a structure"


def test_rock_salt_substitution(fitted):
    template = rock_salt()
    kbr, mgo = (found[0] for found in fitted.generate(["KBr", "MgO"], k=1))
    for placed in (kbr, mgo):
        assert placed.is_ordered and len(placed) == 8
        assert placed.get_space_group_info()[1] == 225
        assert StructureMatcher().fit_anonymous(placed, template), "not the rock-salt arrangement"
    assert kbr.composition.reduced_formula == "KBr" and mgo.composition.reduced_formula == "MgO"
    # larger atoms, larger cell; KBr's measured cell is a = 6.60 A (35.9 A^3 per atom)
    assert mgo.volume < template.volume < kbr.volume
    assert kbr.volume / 8 == pytest.approx(35.9, rel=0.25)


def test_doped_cuprate_gets_partial_occupancies_that_survive_cif(fitted):
    (placed,) = fitted.generate(["La1.85Sr0.15CuO4"], k=1)[0]
    assert not placed.is_ordered
    shared = [site.species.get_el_amt_dict() for site in placed if len(site.species) > 1]
    assert shared and all(set(s) == {"La", "Sr"} for s in shared)
    assert shared[0]["La"] / shared[0]["Sr"] == pytest.approx(1.85 / 0.15)
    wanted = {"La": 1.85, "Sr": 0.15, "Cu": 1.0, "O": 4.0}
    for structure in (placed, Structure.from_str(str(CifWriter(placed)), fmt="cif")):
        amounts = structure.composition.get_el_amt_dict()
        scale = amounts["Cu"]
        assert {e: a / scale for e, a in amounts.items()} == pytest.approx(wanted, abs=1e-4)


def test_oxygen_deficient_composition_leaves_vacancies(fitted):
    (placed,) = fitted.generate(["La2CuO3.6"], k=1)[0]
    oxygen = [site.species.get_el_amt_dict()["O"] for site in placed if "O" in site.species.get_el_amt_dict()]
    assert oxygen and all(o == pytest.approx(0.9) for o in oxygen)
    assert placed.composition.reduced_composition.almost_equals(
        Structure.from_str(str(CifWriter(placed)), fmt="cif").composition.reduced_composition
    )


def test_unplaceable_composition_gets_no_structure(fitted):
    assert fitted.generate(["Nb3Sn", "MgB2"], k=5) == [[], []]


def test_fit_rejects_anything_but_structures():
    with pytest.raises(UserError, match="not a pymatgen Structure"):
        Prototype().fit(["NaCl"])
