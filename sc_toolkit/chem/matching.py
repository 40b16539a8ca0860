"""Which known compositions a set of generated compositions comes close to (Lim's recovery)."""

from __future__ import annotations

import numpy as np

#: Candidate rows compared against one reference row at a time at most (bounds memory).
_CHUNK = 4_000_000


def near_matched(reference: np.ndarray, candidates: np.ndarray, tolerance: float) -> np.ndarray:
    """For each row of ``reference`` (n, m) atomic fractions, whether some row of ``candidates``
    (k, m) holds exactly the same elements and every atomic fraction within ``tolerance`` of it.

    Rows are compared only within the same set of elements (a dopant generated at 0.3 % is not
    the undoped compound); ``tolerance = 0`` asks for equal fractions. Returns a bool array (n,).
    """
    reference = np.asarray(reference, dtype=float)
    candidates = np.asarray(candidates, dtype=float)
    found = np.zeros(len(reference), dtype=bool)
    if not len(reference) or not len(candidates):
        return found
    ref_sets, cand_sets = _element_sets(reference > 0), _element_sets(candidates > 0)
    by_set: dict[bytes, np.ndarray] = {}
    order = np.argsort(cand_sets, kind="stable")
    sorted_sets = cand_sets[order]
    starts = np.flatnonzero(np.r_[True, sorted_sets[1:] != sorted_sets[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        by_set[sorted_sets[start]] = order[start:stop]
    for element_set in np.unique(ref_sets):
        rows_c = by_set.get(element_set)
        if rows_c is None:
            continue
        rows_r = np.flatnonzero(ref_sets == element_set)
        columns = np.flatnonzero(reference[rows_r[0]] > 0)
        R = reference[np.ix_(rows_r, columns)]
        C = candidates[np.ix_(rows_c, columns)]
        step = max(1, _CHUNK // max(len(C) * len(columns), 1))
        for i in range(0, len(R), step):
            gap = np.abs(R[i : i + step, None, :] - C[None, :, :]).max(axis=2)
            found[rows_r[i : i + step]] = (gap <= tolerance).any(axis=1)
    return found


def _element_sets(present: np.ndarray) -> np.ndarray:
    """One hashable value per row naming its set of present elements."""
    packed = np.ascontiguousarray(np.packbits(present, axis=1))
    return packed.view(f"S{packed.shape[1]}")[:, 0]
