"""Data-parallel training of the structure networks (``processes`` = 2, Gloo on 127.0.0.1) against
one process, on the eight real SuperCon3D structures of conftest.py (``diffcsp``: its 4 ordered ones).

Each process takes its share of every batch's graphs (crystals) and weights its mean loss by its
share of the rows (of the atoms, for diffcsp's coordinates); the gradients are averaged before each
step, so the math is that of one process and only the order of floating-point sums differs. The
batch sizes make unequal parts and an empty one (weight 0): the alpha2f member's bootstrap of 8
rows in batches of 7 and 1, diffcsp's 4 crystals in batches of 3 and 1. The tolerance, 1e-4 of a curve's largest value, is far above float32 rounding and far below the
change of a loss from one epoch to the next (other math, e.g. an unweighted mean of the parts,
would move the curves by about such a change). ``sodnet`` trains its members through the same
loop as ``alpha2f-ensemble`` (``sctk_crystal._nets.train``), so one of the two is tested here: each
started process costs about 10 s.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sctk_crystal.alpha2f import Alpha2FEnsemble  # noqa: E402

TOLERANCE = 1e-4


def assert_same_curves(one: dict, other: dict) -> None:
    assert one["epochs"] == other["epochs"]
    for key in ("train", "valid"):
        a, b = np.array(one[key]), np.array(other[key])
        assert np.abs(a - b).max() <= TOLERANCE * np.abs(a).max(), key
    assert one["train"][0] != one["train"][-1]  # the curves move: the comparison means something


def test_two_processes_train_an_alpha2f_member_to_the_same_loss_curve(graphs, table, tiny):
    params = dict(tiny, batch_size=7, epochs=3, n_models=1, seed=5, loss="log", patience_stages=(5, 5, 5))
    moments = np.column_stack([np.linspace(0.3, 1.5, len(graphs)), np.linspace(150.0, 400.0, len(graphs))])
    one = Alpha2FEnsemble(params).fit(graphs, moments)
    two = Alpha2FEnsemble(params, processes=2).fit(graphs, moments)
    assert_same_curves(one.histories_[0], two.histories_[0])


def test_two_processes_train_diffcsp_to_the_same_loss_curve(structures, table):
    from sctk_structure.diffcsp.model import DiffCSP

    params = dict(hidden=16, layers=2, n_frequencies=4, timesteps=10, epochs=3, batch_size=3, device="cpu", seed=2)
    y = table["tc"].to_numpy()  # 4 of the 8 are ordered: batches of 3 and 1 crystals
    one = DiffCSP(params).fit(structures, y).history_
    two = DiffCSP(params, processes=2).fit(structures, y).history_
    assert [row["epoch"] for row in one] == [row["epoch"] for row in two]
    for key in ("loss_lattice", "loss_coords", "loss_tc"):
        a, b = np.array([row[key] for row in one]), np.array([row[key] for row in two])
        assert np.abs(a - b).max() <= TOLERANCE * np.abs(a).max(), key
