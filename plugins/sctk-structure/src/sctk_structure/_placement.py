"""Placing a composition on a template: which of its elements take which role, with what occupancy,
and the structure that results.

A composition (atomic fractions ``x``) becomes *host groups*: each element alone, or, for up to
``max_dopants`` minority elements, sharing the role of a host element present in larger amount
(Sr with La in La1.85Sr0.15CuO4). Each group takes one role of the template (a bijection); a
group of total fraction ``s`` on a role of fraction ``f`` fills its sites to occupancy
``c * s / f``, with ``c`` chosen so that the fullest role is fully occupied. The result has
exactly the requested composition; the other roles keep vacancies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations, product

import numpy as np

from ._templates import Template

EXACT_TOLERANCE = 1e-3  # relative spread of s / f below which a placement is exact (occupancies 1)


@dataclass(frozen=True)
class HostGroups:
    """A composition grouped into one member list per role it will take: ((element, fraction), ...)."""

    groups: tuple[tuple[tuple[str, float], ...], ...]

    @property
    def fractions(self) -> np.ndarray:
        """Total fraction of each group."""
        return np.array([sum(x for _, x in g) for g in self.groups])

    @property
    def shared(self) -> bool:
        """True when some role is shared by several elements."""
        return any(len(g) > 1 for g in self.groups)


def host_groups(target: dict[str, float], max_dopants: int) -> list[HostGroups]:
    """Every grouping of ``target`` (element -> fraction): each element alone first, then each way
    of letting up to ``max_dopants`` elements share the role of an element of at least their
    fraction."""
    elements = sorted(target, key=lambda e: (-target[e], e))
    out = [HostGroups(tuple(((e, target[e]),) for e in elements))]
    for n_dopants in range(1, min(max_dopants, len(elements) - 1) + 1):
        for dopants in combinations(elements, n_dopants):
            hosts = [e for e in elements if e not in dopants]
            for chosen in product(hosts, repeat=n_dopants):
                if any(target[d] > target[h] for d, h in zip(dopants, chosen)):
                    continue
                members = {h: [(h, target[h])] for h in hosts}
                for d, h in zip(dopants, chosen):
                    members[h].append((d, target[d]))
                out.append(HostGroups(tuple(tuple(members[h]) for h in hosts)))
    return out


def assignments(groups: np.ndarray, roles: np.ndarray, min_occupancy: float) -> list[tuple[int, ...]]:
    """Every bijection group -> role (``result[g]`` = role of group ``g``) whose occupancies
    ``c * s_g / f_r`` all lie in [min_occupancy, 1]."""
    ratios = groups[:, None] / roles[None, :]
    out: list[tuple[int, ...]] = []

    def extend(chosen: list[int], lo: float, hi: float) -> None:
        g = len(chosen)
        if g == len(groups):
            out.append(tuple(chosen))
            return
        for r in range(len(roles)):
            if r in chosen:
                continue
            new_lo, new_hi = min(lo, ratios[g, r]), max(hi, ratios[g, r])
            if new_lo >= min_occupancy * new_hi * (1 - 1e-9):
                extend([*chosen, r], new_lo, new_hi)

    extend([], np.inf, 0.0)
    return out


def occupancies(groups: np.ndarray, roles: np.ndarray, assignment: tuple[int, ...]) -> np.ndarray:
    """Occupancy of each group's role (the fullest is 1; all are 1 for an exact placement)."""
    ratios = groups / roles[list(assignment)]
    if ratios.max() - ratios.min() <= EXACT_TOLERANCE * ratios.max():
        return np.ones(len(groups))
    return ratios / ratios.max()


def place(template: Template, hosts: HostGroups, assignment: tuple[int, ...], fill: np.ndarray):
    """The template's structure with each role taken over by its group at occupancy ``fill`` (each
    member in proportion to its fraction), its volume scaled by the atomic radii (see
    :func:`scaled_volume`)."""
    from pymatgen.core import Structure

    members: dict[str, list[tuple[str, float]]] = {}
    for g, role in enumerate(assignment):
        total = sum(x for _, x in hosts.groups[g])
        members[template.elements[role]] = [(e, fill[g] * x / total) for e, x in hosts.groups[g]]
    species = []
    for site in template.structure:
        occupied: dict[str, float] = {}
        for element, amount in site.species.element_composition.get_el_amt_dict().items():
            for new, share in members[element]:
                occupied[new] = occupied.get(new, 0.0) + amount * share
        species.append(occupied)
    old = template.structure
    placed = Structure(old.lattice, species, old.frac_coords)
    placed.scale_lattice(scaled_volume(template, placed))
    return placed


def scaled_volume(template: Template, placed) -> float:
    """The template's cell volume times the ratio of the mean atomic volumes (mean r^3 over the
    atoms, pymatgen's atomic radii) of the placed and the template compositions: the reference
    lattice scaling of pymatgen's RLSVolumePredictor with atomic radii. Vacancies leave the cell
    as it is."""
    return template.structure.volume * _mean_r3(placed.composition) / _mean_r3(template.structure.composition)


def _mean_r3(composition) -> float:
    amounts = composition.element_composition.get_el_amt_dict()
    total = sum(amounts.values())
    return sum(x * _radius(e) ** 3 for e, x in amounts.items()) / total


@cache
def _radius(symbol: str) -> float:
    from pymatgen.core import Element

    element = Element(symbol)
    radius = element.atomic_radius or element.atomic_radius_calculated
    return float(radius) if radius else 1.5
