"""The ``chgnet`` relaxer on small known crystals: the relaxer contract, lower energy after relaxing a
perturbed crystal, rejection reasons, disordered input, and CHGNet formation energies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from sc_toolkit.testing import check_relaxer
from sctk_structure.relax import CHGNetRelaxer


def rock_salt_nacl() -> Structure:
    """Conventional rock-salt NaCl (8 atoms, a = 5.64 A)."""
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def bcc_fe() -> Structure:
    return Structure(Lattice.cubic(2.87), ["Fe", "Fe"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def mgb2() -> Structure:
    sites = [[0, 0, 0], [1 / 3, 2 / 3, 0.5], [2 / 3, 1 / 3, 0.5]]
    return Structure(Lattice.hexagonal(3.086, 3.524), ["Mg", "B", "B"], sites)


@pytest.fixture(scope="module")
def relaxer() -> CHGNetRelaxer:
    import torch

    torch.set_num_threads(1)
    return CHGNetRelaxer(max_steps=60, fmax=0.1, device="cpu")


def test_contract_on_small_known_crystals(relaxer):
    outcomes = check_relaxer(relaxer, [bcc_fe(), mgb2()])
    assert all(o.ok and o.steps <= 60 for o in outcomes), [o.rejected for o in outcomes]


def test_relaxing_a_perturbed_crystal_lowers_its_energy(relaxer):
    perturbed = rock_salt_nacl()
    rng = np.random.default_rng(0)
    for i in range(len(perturbed)):
        perturbed.translate_sites([i], rng.normal(size=3) * 0.06, frac_coords=False)  # ~0.1 A displacement
    before = relaxer.energy_per_atom(perturbed)
    [outcome] = relaxer.relax([perturbed])
    assert outcome.ok, outcome.rejected
    assert outcome.steps > 0 and outcome.energy_per_atom < before
    assert outcome.structure.composition == perturbed.composition


def test_too_close_atoms_are_rejected_with_the_distance():
    close = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.05, 0, 0]])
    [outcome] = CHGNetRelaxer(min_distance=0.5).relax([close])
    assert not outcome.ok and "0.20 A apart before relaxation" in outcome.rejected


def test_no_convergence_within_max_steps_is_a_rejection(relaxer):
    squeezed = rock_salt_nacl()
    squeezed.scale_lattice(squeezed.volume * 0.8)
    [outcome] = CHGNetRelaxer(max_steps=2, fmax=0.001, device="cpu").relax([squeezed])
    assert not outcome.ok and "not converged" in outcome.rejected and outcome.steps == 2


def test_disordered_structure_is_rejected_or_ordered_as_asked():
    disordered = Structure(Lattice.cubic(3.0), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]])
    [rejected] = CHGNetRelaxer(device="cpu").relax([disordered])
    assert not rejected.ok and rejected.disordered and "partial occupancies" in rejected.rejected
    [ordered] = CHGNetRelaxer(disordered="order", max_steps=60, device="cpu").relax([disordered])
    assert ordered.ok, ordered.rejected
    assert ordered.structure.is_ordered and ordered.structure.composition.reduced_formula == "CuAu"
    assert ordered.structure.properties["ordered_from_disordered"] is True


def test_uncovered_species_are_rejected():
    from pymatgen.core import DummySpecies

    structure = Structure(Lattice.cubic(3.0), [DummySpecies("X")], [[0, 0, 0]])
    [outcome] = CHGNetRelaxer().relax([structure])
    assert not outcome.ok and "does not cover" in outcome.rejected


@pytest.fixture(scope="module")
def relaxed_nacl(relaxer):
    [outcome] = relaxer.relax([rock_salt_nacl().get_primitive_structure()])
    return outcome


def test_formation_energies_against_chgnet_elemental_references(relaxer, relaxed_nacl):
    [boron] = relaxer.relax([Structure(Lattice.cubic(1.9), ["B"], [[0, 0, 0]])])
    table = relaxer.stability([relaxed_nacl, boron, CHGNetRelaxer(min_distance=9).relax([bcc_fe()])[0]])
    assert list(table.columns) == ["formula", "e_form_chgnet", "e_hull_chgnet", "stability_note"]
    assert table.loc[0, "formula"] == "NaCl" and table.loc[0, "e_form_chgnet"] < 0  # NaCl forms from its elements
    assert math.isnan(table.loc[0, "e_hull_chgnet"])  # no hull given
    assert math.isnan(table.loc[1, "e_form_chgnet"])
    assert "no elemental reference structure for B" in table.loc[1, "stability_note"]
    assert table.loc[2, "stability_note"].startswith("not relaxed: atoms")


def test_hull_distance_subtracts_the_dft_hull_energy(relaxer, relaxed_nacl):
    import pandas as pd

    from sc_toolkit import ReferenceHull
    from sc_toolkit.chem.formula import composition_key

    key = composition_key({"Na": 1, "Cl": 1})
    phases = pd.DataFrame({"formula": ["NaCl"], "composition_key": [key], "e_form": [-1.0], "source": ["test"]})
    table = relaxer.stability([relaxed_nacl], hull=ReferenceHull(phases))
    assert table.loc[0, "e_hull_chgnet"] == pytest.approx(table.loc[0, "e_form_chgnet"] + 1.0)
