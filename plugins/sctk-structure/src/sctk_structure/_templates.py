"""Known structures as templates: each element of a template is a *role* (the sites it occupies)
that a new composition's elements can take over.

A template's stoichiometry pattern is its sorted atomic fractions (rounded to :data:`DECIMALS`),
so NaCl and MgO share the pattern (0.5, 0.5) whatever their cells; ordered and disordered
structures are read the same way (a site shared by two elements belongs to both roles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DECIMALS = 4


@dataclass
class Template:
    """One known structure, without oxidation states, and what ranking and placement read from it."""

    structure: object  # pymatgen Structure
    elements: tuple[str, ...]  # roles, in decreasing atomic fraction (then alphabetical)
    fractions: np.ndarray  # atomic fraction of each role
    volume_per_atom: float
    _prototype: tuple | None = None
    _role_sites: tuple | None = None

    @property
    def pattern(self) -> tuple[float, ...]:
        """Sorted atomic fractions: the anonymized stoichiometry."""
        return tuple(np.round(self.fractions, DECIMALS))

    def prototype(self, symprec: float) -> tuple:
        """(space group number, sorted (fraction, Wyckoff letters) per role): equal for two
        templates of one structure type, whatever their elements. Computed once, with spglib."""
        if self._prototype is None:
            self._prototype, self._role_sites = _symmetry_keys(self, symprec)
        return self._prototype

    def role_key(self, symprec: float) -> tuple:
        """One (fraction, Wyckoff letters) per role, in role order: where each role sits in the
        prototype (two templates of one type name their roles alike)."""
        self.prototype(symprec)
        return self._role_sites


def as_template(structure) -> Template:
    """A :class:`Template` of a pymatgen ``Structure`` (ordered or with partial occupancies)."""
    structure = structure.copy()
    structure.remove_oxidation_states()
    amounts = structure.composition.element_composition.get_el_amt_dict()
    total = sum(amounts.values())
    order = sorted(amounts, key=lambda e: (-amounts[e], e))
    fractions = np.array([amounts[e] / total for e in order])
    return Template(structure, tuple(order), fractions, structure.volume / total)


def _symmetry_keys(template: Template, symprec: float) -> tuple[tuple, tuple]:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        data = SpacegroupAnalyzer(template.structure, symprec=symprec).get_symmetry_dataset()
        number, wyckoffs, orbits = int(data.number), list(data.wyckoffs), list(data.equivalent_atoms)
    except (TypeError, ValueError, AttributeError):  # spglib found no symmetry: P1, one orbit per site
        number, wyckoffs, orbits = 1, ["a"] * len(template.structure), list(range(len(template.structure)))
    letters = {e: [] for e in template.elements}
    seen = set()
    for site, letter, orbit in zip(template.structure, wyckoffs, orbits):
        if orbit in seen:  # one letter per orbit, so that a conventional and a primitive cell agree
            continue
        seen.add(orbit)
        for element in site.species.element_composition.get_el_amt_dict():
            letters[element].append(letter)
    roles = tuple(
        (round(float(f), DECIMALS), "".join(sorted(letters[e])))
        for e, f in zip(template.elements, template.fractions)
    )
    return (number, tuple(sorted(roles))), roles
