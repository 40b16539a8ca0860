"""``prototype``: new compositions placed on the sites of known structures of the same stoichiometry."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from sc_toolkit import SYMBOLS, Params, StructureGenerator, UserError, as_compositions

from ._placement import HostGroups, assignments, host_groups, occupancies, place
from ._substitution import log_substitution
from ._templates import DECIMALS, Template, as_template

TEMPLATES_FILE = "templates.json"


@dataclass(frozen=True)
class _Candidate:
    score: float
    template: int
    hosts: HostGroups
    assignment: tuple[int, ...]
    fill: np.ndarray

    def order(self) -> tuple:
        return (-self.score, self.template, self.assignment)


class Prototype(StructureGenerator):
    """Places each composition on the sites of known structures with the same anonymized
    stoichiometry (the crystallographer's first try), elements mapped by chemical similarity.

    ``fit`` indexes the structures (ordered or disordered) as templates. For a composition,
    ``generate`` tries every template whose atomic fractions fit it and every mapping of its
    elements onto the template's elements (*roles*), and ranks the placements by

    ``score = mean over the composition's elements of log pair_corr(element, role's element)
    + frequency_weight * ln(templates of that prototype) - vacancy_weight * vacant fraction``

    where pair_corr is pymatgen's ICSD-derived substitution correlation (SubstitutionProbability,
    best over oxidation states) and a prototype is a space group with the Wyckoff orbits of each
    role (spglib). A composition that fits some template exactly (every site full, one element per
    role) gets only exact placements. Otherwise (a non-stoichiometric composition such as
    La1.85Sr0.15CuO4) up to ``max_dopants`` minority elements share the sites of a host element and
    roles may be partly empty down to ``min_occupancy``, so every structure has exactly the
    requested composition. Placements that give the same prototype with the same elements on the
    same orbits count once (the best-scored template gives the structure; of equal scores, the
    template given first to ``fit``), and StructureMatcher removes equivalent ones that remain. The
    volume is the template's scaled by the mean atomic volume (pymatgen atomic radii).
    Deterministic: ``random_state`` changes nothing.
    """

    name = "prototype"
    requires = ("pymatgen",)

    class Params(Params):
        frequency_weight: float = Field(
            0.0, ge=0, description="weight of ln(number of templates of the prototype) in the score (0: off; "
            "on SuperCon3D val each weight tried, 0.02-0.5, lowered the match rate at 1 sample)",
        )
        vacancy_weight: float = Field(
            5.0, ge=0, description="score lost per unit of vacant site fraction (non-stoichiometric placements)"
        )
        min_occupancy: float = Field(
            0.6, gt=0, le=1, description="lowest occupancy a role's sites may get in a non-stoichiometric placement"
        )
        max_dopants: int = Field(
            2, ge=0, le=4, description="elements that may share the sites of a host element present in larger amount"
        )
        symprec: float = Field(0.1, gt=0, description="spglib tolerance (A) that names a template's prototype")

    def fit(self, structures, y=None, *, run=None) -> Prototype:
        """Index ``structures`` (pymatgen ``Structure``, ordered or disordered) as templates; ``y``
        is not used."""
        from pymatgen.core import Structure

        structures = list(structures)
        for i, structure in enumerate(structures):
            if not isinstance(structure, Structure):
                raise UserError(
                    f"prototype.fit: item {i} is a {type(structure).__name__}, not a pymatgen Structure",
                    hint="parse CIF text with pymatgen.core.Structure.from_str(text, fmt='cif')",
                )
        self._index([as_template(s) for s in structures if len(s) and s.volume > 0])
        return self

    def _index(self, templates: list[Template]) -> None:
        self.templates_ = templates
        self.by_size_: dict[int, list[int]] = {}
        self.by_pattern_: dict[tuple, list[int]] = {}
        for i, t in enumerate(templates):
            self.by_size_.setdefault(len(t.elements), []).append(i)
            self.by_pattern_.setdefault(t.pattern, []).append(i)
        self._counts: dict[tuple, Counter] = {}

    def generate(self, compositions, k: int = 1, *, random_state=None, run=None) -> list[list]:
        """Up to ``k`` distinct structures per composition, best first, each of exactly that
        composition (partial occupancies for non-stoichiometric ones); [] where no template fits."""
        if not hasattr(self, "templates_"):
            raise UserError("prototype.generate before fit", hint="call fit(structures) first")
        wanted = as_compositions(compositions)
        out = []
        for fractions in wanted.fractions:
            target = {SYMBOLS[i]: float(fractions[i]) for i in np.flatnonzero(fractions > 0)}
            out.append(self._distinct(self._ranked(target), k))
        return out

    def _distinct(self, ranked: list[_Candidate], k: int) -> list:
        """The first ``k`` structures of ``ranked`` that pymatgen's StructureMatcher (default
        tolerances) finds distinct from the ones before them of the same prototype (equivalent
        Wyckoff orbits, such as 4a and 4b of rock salt, get different placement keys). Each
        structure's ``properties['template']`` names the known structure it was placed on: its
        reduced formula (amounts to 3 decimals) and space group number, e.g. 'MgB2 (191)'."""
        from pymatgen.analysis.structure_matcher import StructureMatcher

        matcher = StructureMatcher()
        kept: list[tuple[tuple, object]] = []
        for candidate in ranked:
            template = self.templates_[candidate.template]
            prototype = template.prototype(self.params.symprec)
            structure = place(template, candidate.hosts, candidate.assignment, candidate.fill)
            structure.properties["template"] = f"{_formula(template.structure.composition)} ({prototype[0]})"
            if not any(p == prototype and matcher.fit(s, structure) for p, s in kept):
                kept.append((prototype, structure))
                if len(kept) == k:
                    break
        return [s for _, s in kept]

    def _ranked(self, target: dict[str, float]) -> list[_Candidate]:
        """Placements of ``target``, best first, one per placement key: the exact ones when there
        is any, else those with shared or partly empty sites."""
        best: dict[tuple, _Candidate] = {}
        for exact in (True, False):
            for hosts in host_groups(target, 0 if exact else self.params.max_dopants):
                for candidate in self._placements(hosts, exact):
                    key = self._placement_key(candidate)
                    if key not in best or candidate.order() < best[key].order():
                        best[key] = candidate
            if best:
                break
        return sorted(best.values(), key=_Candidate.order)

    def _placements(self, hosts: HostGroups, exact: bool):
        groups = hosts.fractions
        if exact:
            pool = self.by_pattern_.get(tuple(np.round(np.sort(groups)[::-1], DECIMALS)), [])
        else:
            pool = self._near(groups)
        for i in pool:
            template = self.templates_[i]
            for assignment in assignments(groups, template.fractions, self.params.min_occupancy):
                fill = occupancies(groups, template.fractions, assignment)
                is_exact = not hosts.shared and bool(np.all(fill == 1))
                if is_exact != exact:
                    continue
                yield _Candidate(self._score(template, hosts, assignment, fill), i, hosts, assignment, fill)

    def _near(self, groups: np.ndarray) -> list[int]:
        """Templates with as many roles as ``groups`` whose sorted fractions, paired in order, give
        occupancies of at least ``min_occupancy``."""
        pool = self.by_size_.get(len(groups), [])
        if not pool:
            return []
        mine = np.sort(groups)[::-1]
        theirs = np.array([self.templates_[i].fractions for i in pool])
        ratios = mine[None, :] / theirs
        keep = ratios.min(axis=1) >= self.params.min_occupancy * ratios.max(axis=1) * (1 - 1e-9)
        return [i for i, ok in zip(pool, keep) if ok]

    def _score(self, template: Template, hosts: HostGroups, assignment, fill) -> float:
        chemistry = [
            log_substitution(element, template.elements[role])
            for g, role in enumerate(assignment)
            for element, _ in hosts.groups[g]
        ]
        vacant = float(np.sum(template.fractions[list(assignment)] * (1 - fill)))
        score = float(np.mean(chemistry)) - self.params.vacancy_weight * vacant
        if self.params.frequency_weight:
            count = self._prototype_counts(template.pattern)[template.prototype(self.params.symprec)]
            score += self.params.frequency_weight * math.log(count)
        return score

    def _prototype_counts(self, pattern: tuple) -> Counter:
        """How many templates of ``pattern`` have each prototype (computed once per pattern)."""
        if pattern not in self._counts:
            symprec = self.params.symprec
            self._counts[pattern] = Counter(self.templates_[i].prototype(symprec) for i in self.by_pattern_[pattern])
        return self._counts[pattern]

    def _placement_key(self, c: _Candidate) -> tuple:
        """Same prototype, same elements on the same orbits: the same structure up to the cell."""
        template = self.templates_[c.template]
        roles = template.role_key(self.params.symprec)
        placed = sorted(
            (roles[role], tuple(sorted(e for e, _ in c.hosts.groups[g])), round(float(c.fill[g]), 3))
            for g, role in enumerate(c.assignment)
        )
        return (template.prototype(self.params.symprec), tuple(placed))

    def provenance(self) -> dict:
        import pymatgen.core
        import spglib

        return {"pymatgen": pymatgen.core.__version__, "spglib": spglib.__version__, "templates": len(self.templates_)}

    def citations(self) -> list[str]:
        return [
            "G. Hautier, C. Fischer, V. Ehrlacher, A. Jain, G. Ceder, Data mined ionic substitutions for the "
            "discovery of new compounds, Inorg. Chem. 50, 656 (2011).",
        ]

    def _save_state(self, directory: Path) -> None:
        templates = [t.structure.as_dict() for t in self.templates_]
        (directory / TEMPLATES_FILE).write_text(json.dumps(templates))

    def _load_state(self, directory: Path) -> None:
        from pymatgen.core import Structure

        path = directory / TEMPLATES_FILE
        if path.exists():
            self._index([as_template(Structure.from_dict(d)) for d in json.loads(path.read_text())])


def _formula(composition) -> str:
    """The reduced formula of a (possibly partly occupied) composition, amounts to 3 decimals."""
    reduced, _ = composition.get_reduced_composition_and_factor()
    amounts = reduced.get_el_amt_dict().items()
    return "".join(f"{el}{'' if round(n, 3) == 1 else f'{round(n, 3):g}'}" for el, n in amounts)
