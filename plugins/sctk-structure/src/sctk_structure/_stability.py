"""Structure-level stability from CHGNet energies: formation energy per atom against CHGNet-relaxed
elemental references, and the distance of that energy to a run's hull of DFT phases.

What ships offline. Neither pymatgen nor CHGNet ships elemental ground-state structures or MP's
elemental reference energies. ASE ships ``ase.data.reference_states`` (the experimental crystal
structure type and lattice constants of each element), from which ``ase.build.bulk`` builds the
elements in :data:`SOLID_STRUCTURES` (fcc, bcc, hcp, diamond, simple cubic, body-centred tetragonal,
rhombohedral: 70 elements among H-Pu), and ``ase.build.molecule`` the dimers of :data:`DIMERS`
(H2, N2, O2, F2, Cl2, one molecule in a 15 A box: Materials Project's references for these are
molecular solids, whose GGA energy is close to the isolated molecule's). Each reference is relaxed
once per process with CHGNet (fmax 0.02 eV/A, cell relaxed for solids, positions only for dimers).
Elements with no reference here (B, P, S, Se, Te, Mn, Ga, Br, I, He, U, Np, Pa, Pu, and Pm, At,
Rn, Fr, Ra with no tabulated structure) leave the formation energy NaN, with the reason.

Formation energy: E_CHGNet(structure) - sum_i x_i E_CHGNet(reference_i), eV/atom. CHGNet is trained
on MPtrj energies (GGA/GGA+U with MP2020 corrections), so this figure is on the Materials Project
scale, but it carries CHGNet's own errors in the compound and in each reference, and the references
are the experimental structure types relaxed by CHGNet, not MP's computed ground states (on eight
simple binaries the mean absolute difference from MP's formation energies is 0.073 eV/atom:
docs/benchmarks.md, "CHGNet relaxation").
``e_hull_chgnet`` subtracts the hull of the run's DFT formation energies (:class:`sc_toolkit.ReferenceHull`,
mp-e-form first): two different energy models on one axis, so read it as a screen (a structure
0.2 eV/atom above the known hull is unlikely to be made), never as a claim of stability.
"""

from __future__ import annotations

import functools

import numpy as np

#: ASE reference-state symmetries that ``ase.build.bulk`` builds as the element's real structure.
SOLID_STRUCTURES = ("fcc", "bcc", "hcp", "diamond", "sc", "bct", "rhombohedral")
#: Elements referenced by one molecule in a box (name in ``ase.collections.g2``).
DIMERS = {"H": "H2", "N": "N2", "O": "O2", "F": "F2", "Cl": "Cl2"}
#: Edge of the cubic box around a dimer (A): no image within CHGNet's 6 A cutoff.
BOX = 15.0
#: Force threshold (eV/A) the references are relaxed to.
REFERENCE_FMAX = 0.02

STABILITY_COLUMNS = ("formula", "e_form_chgnet", "e_hull_chgnet", "stability_note")


def stability_table(relaxations, relaxer, hull=None):
    """One row per relaxation: ``formula`` (reduced), ``e_form_chgnet`` (eV/atom, CHGNet formation
    energy against CHGNet-relaxed elemental references), ``e_hull_chgnet`` (eV/atom, that energy
    minus the DFT hull energy of ``hull``, a :class:`sc_toolkit.ReferenceHull`; NaN without one) and
    ``stability_note`` (why a figure is missing, else ''). ``relaxer`` is the
    :class:`~sctk_structure.relax.CHGNetRelaxer` that relaxed them (its model and device)."""
    import pandas as pd

    from sc_toolkit import as_compositions

    rows = []
    for outcome in relaxations:
        if not outcome.ok:
            rows.append({"formula": "", "e_form_chgnet": np.nan, "stability_note": f"not relaxed: {outcome.rejected}"})
            continue
        composition = outcome.structure.composition
        e_form, note = formation_energy(composition, outcome.energy_per_atom, relaxer)
        rows.append({"formula": composition.reduced_formula, "e_form_chgnet": e_form, "stability_note": note})
    table = pd.DataFrame(rows, columns=[c for c in STABILITY_COLUMNS if c != "e_hull_chgnet"])
    table.insert(2, "e_hull_chgnet", np.nan)
    known = (table["formula"] != "").to_numpy()
    if hull is not None and known.any():
        e_form = table.loc[known, "e_form_chgnet"].to_numpy(dtype=float)
        compositions = as_compositions(table.loc[known, "formula"].tolist())
        table.loc[known, "e_hull_chgnet"] = hull.e_above_hull(compositions, e_form)
    return table


def formation_energy(composition, energy_per_atom: float, relaxer) -> tuple[float, str]:
    """(CHGNet formation energy per atom, '') of a pymatgen ``Composition`` with CHGNet energy
    ``energy_per_atom``, or (NaN, reason) when an element has no reference."""
    total = composition.num_atoms
    reference = 0.0
    for element, amount in composition.element_composition.items():
        energy, note = reference_energy(element.symbol, relaxer.params.model, relaxer.params.device)
        if note:
            return float("nan"), note
        reference += amount / total * energy
    return float(energy_per_atom - reference), ""


@functools.cache
def reference_energy(symbol: str, model: str, device: str) -> tuple[float, str]:
    """(CHGNet energy per atom of the relaxed elemental reference of ``symbol``, '') or (NaN, reason);
    computed once per process, model and device."""
    from .relax import CHGNetRelaxer

    structure, relax_cell = reference_structure(symbol)
    if structure is None:
        return float("nan"), f"no elemental reference structure for {symbol} ships offline"
    relaxer = CHGNetRelaxer(fmax=REFERENCE_FMAX, max_steps=2000, relax_cell=relax_cell, model=model, device=device)
    outcome = relaxer.relax_one(structure)
    if not outcome.ok:
        return float("nan"), f"elemental reference of {symbol} not relaxed: {outcome.rejected}"
    return outcome.energy_per_atom, ""


def reference_structure(symbol: str):
    """(pymatgen structure of the elemental reference of ``symbol``, relax the cell?) or (None, False)."""
    from ase.build import bulk, molecule
    from ase.data import atomic_numbers, reference_states
    from pymatgen.io.ase import AseAtomsAdaptor

    if symbol in DIMERS:
        atoms = molecule(DIMERS[symbol])
        atoms.set_cell([BOX, BOX, BOX])
        atoms.center()
        atoms.pbc = True
        return AseAtomsAdaptor.get_structure(atoms), False
    state = reference_states[atomic_numbers.get(symbol, 0)]
    if not state or state.get("symmetry") not in SOLID_STRUCTURES:
        return None, False
    try:
        atoms = bulk(symbol)
    except (KeyError, ValueError):  # the table lacks a parameter the structure type needs (Se, Te: c/a)
        return None, False
    return AseAtomsAdaptor.get_structure(atoms), True
