"""``chgnet``: relaxation of crystal structures with the CHGNet universal interatomic potential.

Contract (see :class:`sc_toolkit.Relaxer`): ``relax(structures)`` gives one
:class:`sc_toolkit.Relaxation` per pymatgen ``Structure``, in order. An accepted one holds the
relaxed structure, its CHGNet energy per atom (eV/atom, on the MPtrj scale: GGA/GGA+U with
Materials Project 2020 corrections) and the optimiser steps taken. A structure is rejected, with the
reason, instead of relaxed when

- it has a species CHGNet does not embed (atomic number above 94, or a dummy species);
- two atoms (periodic images included) are closer than ``min_distance`` before relaxation, or after it;
- it has partial occupancies and ``disordered="reject"`` (an interatomic potential needs one atom
  per site). With ``disordered="order"`` the smallest supercell along a that makes every occupancy
  whole (at most ``max_ordered_atoms`` atoms) is ordered by pymatgen's
  ``OrderDisorderedStructureTransformation`` with all charges set to 0 (``no_oxi_states``), which
  keeps the first ordering it enumerates: an ordered representative, not the lowest-energy
  ordering. The relaxed structure then carries ``properties["ordered_from_disordered"] = True``;
- the largest force (and, with ``relax_cell``, stress times volume through ASE's
  ``FrechetCellFilter``) is still above ``fmax`` after ``max_steps`` FIRE steps;
- CHGNet or ASE raises (the exception's type and message are the reason; an atom with no neighbour
  within CHGNet's 6 A cutoff is one such error).

The CHGNet model is loaded once per process and device (its weights ship inside the ``chgnet``
wheel; nothing is downloaded), with CHGNet's own printing kept off stdout.
:meth:`CHGNetRelaxer.stability` gives formation energies and hull distances of accepted
relaxations (see :mod:`sctk_structure._stability`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sc_toolkit import Params, Relaxation, Relaxer, resolve_device

#: CHGNet's atom embedding covers atomic numbers 1-94.
MAX_ATOMIC_NUMBER = 94
#: Occupancies within this of a whole number count as whole when ordering a disordered structure.
OCCUPANCY_TOL = 1e-3


class CHGNetParams(Params):
    fmax: float = Field(0.1, gt=0, description="converged when every force is below this (eV/A; cell: stress x volume)")
    max_steps: int = Field(500, ge=1, description="FIRE steps before a structure is rejected as not converged")
    min_distance: float = Field(
        0.5, ge=0, description="reject a structure with two atoms closer than this (A), before or after relaxing"
    )
    relax_cell: bool = Field(True, description="relax the cell too (FrechetCellFilter), not only the positions")
    disordered: Literal["reject", "order"] = Field(
        "reject", description="partial occupancies: reject, or relax an ordered representative of a small supercell"
    )
    max_ordered_atoms: int = Field(64, ge=1, description="largest supercell (atoms) disordered='order' builds")
    model: Literal["0.3.0", "0.2.0"] = Field("0.3.0", description="pretrained CHGNet version (both trained on MPtrj)")
    device: str = Field("auto", description="'auto' (CUDA when available), 'cpu' or 'cuda'")


class CHGNetRelaxer(Relaxer):
    """Relaxes structures (positions and cell) with the pretrained CHGNet potential (FIRE, ASE) and
    reports CHGNet's energy per atom; rejects structures with too-close atoms, partial occupancies,
    uncovered elements or no convergence."""

    name = "chgnet"
    requires = ("chgnet", "ase", "pymatgen")
    Params = CHGNetParams
    quick: ClassVar[dict[str, Any]] = {"max_steps": 50, "fmax": 0.2}

    def citations(self) -> list[str]:
        return [
            "B. Deng et al., CHGNet as a pretrained universal neural network potential for charge-informed "
            "atomistic modelling, Nat. Mach. Intell. 5, 1031 (2023).",
        ]

    def provenance(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {"chgnet": version("chgnet"), "model": self.params.model, "ase": version("ase"),
                "optimizer": "FIRE", "cell_filter": "FrechetCellFilter" if self.params.relax_cell else None,
                "device": resolve_device(self.params.device)}  # fmt: skip

    def relax(self, structures, *, run=None) -> list[Relaxation]:
        """One :class:`~sc_toolkit.Relaxation` per structure (see the module docstring). Progress is
        the caller's to show: the ``[structures]`` step calls this once per composition."""
        return [self.relax_one(structure) for structure in structures]

    def relax_one(self, structure) -> Relaxation:
        """Relax one pymatgen ``Structure``; never raises for a structure it cannot relax."""
        p = self.params
        problem = _species_problem(structure)
        if problem:
            return Relaxation(rejected=problem)
        ordered = False
        if not structure.is_ordered:
            if p.disordered == "reject":
                return Relaxation(
                    rejected="partial occupancies (disordered='order' relaxes an ordered representative)",
                    disordered=True,
                )
            structure, problem = _ordered_representative(structure, p.max_ordered_atoms)
            if problem:
                return Relaxation(rejected=problem)
            ordered = True
        closest = _closest_distance(structure, p.min_distance)
        if closest < p.min_distance:
            return Relaxation(rejected=f"atoms {closest:.2f} A apart before relaxation {_min_distance_note(p)}")
        try:
            relaxed, energy, steps, converged = self._run(structure)
        except Exception as error:  # CHGNet and ASE raise many types; the reason is the outcome
            return Relaxation(rejected=f"CHGNet failed: {type(error).__name__}: {error}")
        if not converged:
            return Relaxation(steps=steps, rejected=f"not converged to fmax {p.fmax} eV/A in {p.max_steps} steps")
        closest = _closest_distance(relaxed, p.min_distance)
        if closest < p.min_distance:
            reason = f"atoms {closest:.2f} A apart after relaxation {_min_distance_note(p)}"
            return Relaxation(steps=steps, rejected=reason)
        if ordered:
            relaxed.properties["ordered_from_disordered"] = True
        return Relaxation(structure=relaxed, energy_per_atom=energy, steps=steps)

    def energy_per_atom(self, structure) -> float:
        """CHGNet's energy per atom (eV/atom) of an ordered structure as it is, without relaxing it."""
        from pymatgen.io.ase import AseAtomsAdaptor

        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = self._calculator()
        with _quiet():
            return float(atoms.get_potential_energy()) / len(atoms)

    def stability(self, relaxations, hull=None):
        """Formation energy per atom and distance to ``hull`` of each accepted relaxation; see
        :func:`sctk_structure._stability.stability_table`."""
        from ._stability import stability_table

        return stability_table(relaxations, self, hull)

    def _run(self, structure):
        """(relaxed structure, energy per atom, steps, converged) from FIRE on CHGNet forces."""
        from ase.filters import FrechetCellFilter
        from ase.optimize import FIRE
        from pymatgen.io.ase import AseAtomsAdaptor

        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = self._calculator()
        target = FrechetCellFilter(atoms) if self.params.relax_cell else atoms
        with _quiet():
            optimizer = FIRE(target, logfile=None)
            converged = bool(optimizer.run(fmax=self.params.fmax, steps=self.params.max_steps))
        energy = float(atoms.get_potential_energy()) / len(atoms)
        return AseAtomsAdaptor.get_structure(atoms), energy, int(optimizer.nsteps), converged

    def _calculator(self):
        return _calculator(self.params.model, resolve_device(self.params.device))


@contextlib.contextmanager
def _quiet():
    """CHGNet's and ASE's printing off stdout, and CHGNet's warnings (a tensor-to-scalar
    conversion inside its stress computation) silenced."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@functools.cache
def _model(model: str, device: str):
    """The pretrained CHGNet, loaded once per process and device, its printing kept off stdout."""
    from chgnet.model import CHGNet

    with _quiet():
        return CHGNet.load(model_name=model, use_device=device, verbose=False)


@functools.cache
def _calculator(model: str, device: str):
    """An ASE calculator on the cached model; an atom without neighbours is an error, not a warning."""
    from chgnet.model.dynamics import CHGNetCalculator

    with _quiet():
        return CHGNetCalculator(model=_model(model, device), use_device=device, on_isolated_atoms="error")


def _species_problem(structure) -> str:
    """Why CHGNet cannot take the species of ``structure``, or ''."""
    from pymatgen.core import Element

    unknown = []
    for species in structure.composition.elements:
        element = getattr(species, "element", species)  # Species (with oxidation state) -> Element
        if not isinstance(element, Element) or element.Z > MAX_ATOMIC_NUMBER:
            unknown.append(str(species))
    if unknown:
        return f"species CHGNet does not cover (atomic numbers 1-{MAX_ATOMIC_NUMBER} only): {', '.join(unknown)}"
    return ""


def _min_distance_note(params: CHGNetParams) -> str:
    """The min_distance setting, as rejection reasons name it."""
    return f"(min_distance {params.min_distance} A)"


def _closest_distance(structure, within: float) -> float:
    """Smallest distance (A) between two atoms, periodic images of one atom included; inf when no
    two are closer than ``within``."""
    if within <= 0:
        return float("inf")
    distances = structure.get_neighbor_list(within)[3]
    return float(distances.min()) if len(distances) else float("inf")


def _ordered_representative(structure, max_atoms: int):
    """(ordered supercell, '') of a disordered structure, or (None, reason)."""
    from pymatgen.transformations.standard_transformations import OrderDisorderedStructureTransformation

    occupancies = np.array([amount for site in structure for amount in site.species.values()])
    for n in range(1, max_atoms // len(structure) + 1):
        scaled = occupancies * n
        if np.allclose(scaled, np.round(scaled), atol=OCCUPANCY_TOL * n):
            break
    else:
        return None, f"ordering the partial occupancies needs more than max_ordered_atoms = {max_atoms} atoms"
    try:
        ordered = OrderDisorderedStructureTransformation(no_oxi_states=True).apply_transformation(structure * (n, 1, 1))
    except Exception as error:  # pymatgen raises several types for structures it cannot enumerate
        return None, f"could not order the partial occupancies: {type(error).__name__}: {error}"
    ordered.remove_oxidation_states()
    return ordered, ""
