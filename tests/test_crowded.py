"""The ranking's diversity walk (`crowded`): the distance to the kept rows, computed only for the kept
rows that can be close, skips exactly the rows that the distance to every kept row skips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sc_toolkit
from sc_toolkit import Compositions
from sc_toolkit.run.tables import crowded


def every_distance(ordered: pd.DataFrame, per_element_set: int | None, min_distance: float | None) -> np.ndarray:
    """The walk with the distance to every kept row (what `crowded` computed before it skipped any)."""
    reasons = np.full(len(ordered), "", dtype=object)
    per_set: dict[tuple, int] = {}
    fractions = Compositions.from_formulas(ordered["formula"].tolist()).fractions
    kept, n_kept = np.empty_like(fractions), 0
    for i, row in enumerate(fractions):
        elements = tuple(np.flatnonzero(row > 0))
        if per_element_set is not None and per_set.get(elements, 0) >= per_element_set:
            reasons[i] = f"rank: more than {per_element_set} per element set"
        elif min_distance is not None and n_kept and np.abs(kept[:n_kept] - row).sum(axis=1).min() < min_distance:
            reasons[i] = f"rank: within {min_distance:g} of a better candidate"
        else:
            kept[n_kept], n_kept = row, n_kept + 1
            per_set[elements] = per_set.get(elements, 0) + 1
    return reasons


@pytest.fixture(scope="module")
def near_duplicates() -> pd.DataFrame:
    """3,000 formulas around 40 compositions of 3-6 of 12 elements: amounts scaled by up to 10 %,
    a third with a trace (0.001-0.05 of an atom) of a 13th element, some rounded coarsely, so that
    many lie within a few hundredths of each other, across element sets as well as within them."""
    rng = np.random.default_rng(0)
    columns = [sc_toolkit.SYMBOLS.index(e) for e in ["Y", "Ba", "Sr", "Ca", "La", "Bi", "Tl", "Hg", "Pb", "Nd", "Cu", "O"]]
    trace = sc_toolkit.SYMBOLS.index("Re")
    bases = np.zeros((40, sc_toolkit.N_ELEMENTS))
    for base in bases:
        chosen = rng.choice(columns, size=rng.integers(3, 7), replace=False)
        base[chosen] = rng.uniform(0.2, 4.0, size=len(chosen))
    amounts = bases[rng.integers(0, 40, size=3000)] * rng.uniform(0.9, 1.1, size=(3000, sc_toolkit.N_ELEMENTS))
    traced = rng.random(3000) < 1 / 3
    amounts[traced, trace] = rng.uniform(0.001, 0.05, size=traced.sum())
    amounts = np.where(rng.random((3000, 1)) < 0.5, np.round(amounts, 1), np.round(amounts, 3))
    return pd.DataFrame({"formula": Compositions.from_matrix(amounts, decimals=3).formulas})


@pytest.mark.parametrize(("per_element_set", "min_distance"), [(None, 0.05), (3, 0.05), (None, 0.02), (2, 0.2)])
def test_the_walk_skips_what_the_distance_to_every_kept_row_skips(near_duplicates, per_element_set, min_distance):
    reasons = crowded(near_duplicates, per_element_set, min_distance)
    expected = every_distance(near_duplicates, per_element_set, min_distance)
    assert (reasons == "").any() and (reasons == f"rank: within {min_distance:g} of a better candidate").any()
    np.testing.assert_array_equal(reasons, expected)


def test_limit_stops_the_walk(near_duplicates):
    reasons = crowded(near_duplicates, 3, 0.05, limit=25)
    expected = every_distance(near_duplicates, 3, 0.05)
    last = np.flatnonzero(expected == "")[24]
    np.testing.assert_array_equal(reasons[: last + 1], expected[: last + 1])
    assert (reasons[last + 1 :] == "rank: below the top 25").all()
