"""Element-to-element substitution scores from pymatgen's ICSD-derived substitution probabilities.

pymatgen's :class:`~pymatgen.analysis.structure_prediction.substitution_probability.SubstitutionProbability`
(Hautier et al., Inorg. Chem. 50, 656 (2011); data ships inside pymatgen) gives, for two ionic
species, how much more often they replace each other in ICSD structures than chance
(``pair_corr``). :func:`log_substitution` reads it per element: the largest correlation over the
oxidation states of both elements, in natural log. An element is at least as good a substitute
for itself as any other element is. Elements outside the table (90 elements have species there)
get :data:`UNKNOWN` against any other element.
"""

from __future__ import annotations

import math
from functools import cache

#: log score of a pair of which at least one element has no species in pymatgen's table (about the
#: 10th percentile of the known pairs).
UNKNOWN = -2.0
#: log score of an element with itself when it has no species in the table.
UNKNOWN_SELF = 5.0


@cache
def _model():
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

    model = SubstitutionProbability()
    by_element: dict[str, list] = {}
    for species in model.species:
        by_element.setdefault(species.symbol, []).append(species)
    return model, by_element


@cache
def _pair(a: str, b: str) -> float:
    model, by_element = _model()
    if a not in by_element or b not in by_element:
        return UNKNOWN
    best = max(model.pair_corr(x, y) for x in by_element[a] for y in by_element[b])
    return math.log(best) if best > 0 else UNKNOWN


@cache
def log_substitution(a: str, b: str) -> float:
    """How readily element ``a`` replaces element ``b`` in a crystal (symmetric; natural log of
    pymatgen's species pair correlation, the best over oxidation states). Higher is more similar;
    ``log_substitution(a, a)`` is the largest score of ``a`` against any element."""
    if a != b:
        return _pair(*sorted((a, b)))
    _, by_element = _model()
    if a not in by_element:
        return UNKNOWN_SELF
    return max(_pair(*sorted((a, other))) for other in by_element)
