"""Seeded validation splits that keep each group (e.g. a composition key) whole on one side.

Used by ``sodnet`` (hold-out per member) and ``alpha2f-ensemble`` (bootstrap + out-of-bag). Without
groups every row is its own group, which gives the plain row-level split. numpy only.
"""

from __future__ import annotations

import numpy as np

import sc_toolkit
from sc_toolkit import UserError


def group_ids(groups, n: int, who: str) -> np.ndarray:
    """Integer group id of each of the ``n`` rows (0 .. n_groups - 1); ``groups=None`` = one group per row."""
    if groups is None:
        return np.arange(n)
    groups = np.asarray(groups, dtype=str).reshape(-1)
    if len(groups) != n:
        raise UserError(f"{who}: {len(groups)} group labels for {n} rows", hint="give one group label per row")
    _, ids = np.unique(groups, return_inverse=True)
    if ids.max() < 1:
        raise UserError(f"{who} holds whole groups out for validation and needs at least 2 groups, got 1",
                        hint="pass groups=None to split by rows")  # fmt: skip
    return ids


def _rows_of(ids: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Rows whose group is in ``chosen`` (group ids), in the order of ``chosen`` (then row order)."""
    order = np.argsort(ids, kind="stable")
    starts = np.searchsorted(ids[order], np.arange(ids.max() + 2))
    return np.concatenate([order[starts[g] : starts[g + 1]] for g in chosen]) if len(chosen) else np.zeros(0, int)


def group_holdout(ids: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of :func:`sc_toolkit.group_holdout`: ``round(fraction n_groups)``
    whole groups, in a seeded random order, held out, and at least one group on each side (an early
    stopping needs a validation set and something to train on). With one group per row this is
    ``rng.permutation(n)`` cut at ``round(fraction n)``."""
    n_groups = int(ids.max()) + 1
    n_held = min(max(round(fraction * n_groups), 1), n_groups - 1)
    return sc_toolkit.group_holdout(ids, n_held / n_groups, rng, as_rows=True)


def group_bootstrap(ids: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(bootstrap rows, out-of-bag rows): n_groups groups drawn with replacement (every row of a
    drawn group enters once per draw), out-of-bag = the rows of the groups never drawn. When every
    group was drawn, one drawn group (all its copies) is moved out of the bag, so the out-of-bag
    set is never empty and never shares a group with the bag. With one group per row this is the
    ordinary row bootstrap ``rng.integers(0, n, n)``."""
    n_groups = int(ids.max()) + 1
    drawn = rng.integers(0, n_groups, n_groups)
    missing = np.setdiff1d(np.arange(n_groups), drawn)
    if len(missing) == 0:
        moved = drawn[rng.integers(0, len(drawn))]
        drawn, missing = drawn[drawn != moved], np.array([moved])
    return _rows_of(ids, drawn), _rows_of(ids, missing)
