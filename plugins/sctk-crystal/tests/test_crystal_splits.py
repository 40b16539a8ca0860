"""Grouped validation splits: no group on both sides, row-level behaviour without groups, and the
two structure predictors holding out whole composition groups."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import UserError
from sctk_crystal._splits import group_bootstrap, group_holdout, group_ids


def _labels(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([f"C{g}" for g in rng.integers(0, 45, n)])  # ~4-5 rows per group, uneven sizes


@pytest.mark.parametrize("seed", range(5))
def test_holdout_keeps_groups_whole(seed):
    labels = _labels(seed=seed)
    ids = group_ids(labels, len(labels), "test")
    train, valid = group_holdout(ids, 0.1, np.random.default_rng(seed))
    assert sorted(np.concatenate([train, valid])) == list(range(len(labels)))
    assert not set(labels[train]) & set(labels[valid]) and len(valid) > 0 and len(train) > 0
    assert abs(len(valid) - 20) <= np.bincount(ids).max()


@pytest.mark.parametrize("seed", range(5))
def test_bootstrap_over_groups(seed):
    labels = _labels(seed=seed)
    ids = group_ids(labels, len(labels), "test")
    bag, out_of_bag = group_bootstrap(ids, np.random.default_rng(seed))
    assert len(out_of_bag) > 0 and not set(labels[bag]) & set(labels[out_of_bag])
    assert set(np.concatenate([bag, out_of_bag])) == set(range(len(labels)))
    for group in set(labels[bag]):  # a drawn group comes with every one of its rows, once per draw
        counts = np.bincount(bag, minlength=len(labels))[labels == group]
        assert (counts == counts[0]).all() and counts[0] >= 1
    # every group drawn (two groups of one row each, drawn 0 and 1): one is moved out of the bag
    for s in range(20):
        bag, out_of_bag = group_bootstrap(np.array([0, 1]), np.random.default_rng(s))
        assert len(out_of_bag) == 1 and out_of_bag[0] not in bag and len(bag) > 0


def test_without_groups_the_split_is_by_rows():
    ids = group_ids(None, 50, "test")
    train, valid = group_holdout(ids, 0.1, np.random.default_rng(3))
    rows = np.random.default_rng(3).permutation(50)
    assert list(valid) == list(rows[:5]) and list(train) == list(rows[5:])
    bag, _ = group_bootstrap(ids, np.random.default_rng(4))
    assert list(bag) == list(np.random.default_rng(4).integers(0, 50, 50))


def test_bad_groups():
    with pytest.raises(UserError, match="2 groups"):
        group_ids(["a"] * 5, 5, "sodnet")
    with pytest.raises(UserError, match="group labels"):
        group_ids(["a", "b"], 5, "sodnet")


def test_predictors_validate_on_whole_groups(graphs, table, tiny):
    from sctk_crystal.alpha2f import Alpha2FEnsemble
    from sctk_crystal.sodnet import SODNet

    groups = np.array(["A", "A", "B", "B", "B", "C", "D", "D"])
    y = table["tc"].to_numpy()
    sodnet = SODNet(tiny, epochs=1, n_models=3, valid_fraction=0.25, seed=0).fit(graphs, y, groups=groups)
    alpha2f = Alpha2FEnsemble(tiny, epochs=1, n_models=3, patience_stages=(1, 1, 1), seed=0)
    alpha2f.fit(graphs, y, groups=groups)
    for valid in [*sodnet.valid_rows_, *alpha2f.valid_rows_]:
        # the rows validated on are exactly every row of the groups held out, and some group is kept
        assert set(np.flatnonzero(np.isin(groups, groups[valid]))) == set(valid)
        assert 0 < len(set(groups[valid])) < len(set(groups))
