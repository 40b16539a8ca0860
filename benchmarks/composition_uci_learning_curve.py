"""How the UCI Tc regressor's error falls with the number of training compositions (grouped folds).

    .venv/bin/python benchmarks/composition_uci_learning_curve.py \\
        [--folds 0,1,2,3,4,5,6,7,8,9] [--shares 0.125,0.25,0.5,0.75,1]   # the defaults: the documented run

On the training part of each listed outer fold of the grouped 10-fold split (GroupKFold on
``composition_key``, as ``composition_uci_hamidieh.py``), one LightGBM with fixed settings
(``composition_uci_screen.LIGHTGBM``: learning rate 0.05, 1,200 rounds, 63 leaves, seed 0) on
Magpie + element fractions is fitted on a random share of the training *composition groups* (seed
0, nested: each share holds the smaller ones) and scored on the whole test fold. Printed: RMSE per
share and fold, the mean over folds, a power law RMSE(n) = floor + a * n^-b fitted to the means
(n = training compositions), and the compositions that law needs for the 8.5 K target. The
oracle floor (every row predicted by the mean Tc of its own composition) is printed beside it:
no model of composition alone can go below it on these rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from composition_common import features, grouped_folds, load_average, load_table, versions  # noqa: E402
from composition_uci_screen import LIGHTGBM  # noqa: E402

TARGET_RMSE_K = 8.5


def nested_group_shares(groups: np.ndarray, shares: list[float], seed: int) -> dict[float, np.ndarray]:
    """Boolean row masks over ``groups``, one per share: the first ``share`` of the distinct groups
    in one random order, so that a smaller share's groups are inside every larger one's."""
    unique = np.unique(groups)
    order = unique[np.random.default_rng(seed).permutation(len(unique))]
    return {share: np.isin(groups, order[: max(1, round(share * len(unique)))]) for share in shares}


def power_law(n: np.ndarray, rmse: np.ndarray) -> tuple[float, float, float] | None:
    """(floor, a, b) of RMSE = floor + a * n^-b by least squares over a grid of b (None if fewer than
    3 points)."""
    if len(n) < 3:
        return None
    best = None
    for b in np.linspace(0.02, 2.0, 199):
        design = np.c_[np.ones(len(n)), n ** -b]
        coef, *_ = np.linalg.lstsq(design, rmse, rcond=None)
        error = float(np.sum((design @ coef - rmse) ** 2))
        if coef[1] > 0 and (best is None or error < best[0]):
            best = (error, float(coef[0]), float(coef[1]), float(b))
    return None if best is None else best[1:]


def oracle_floor(y: np.ndarray, groups: np.ndarray) -> float:
    """RMSE of predicting every row with the mean target of its own group."""
    _, inverse = np.unique(groups, return_inverse=True)
    means = np.bincount(inverse, y) / np.bincount(inverse)
    return float(np.sqrt(np.mean((y - means[inverse]) ** 2)))


def main() -> None:
    import lightgbm as lgb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="0,1,2,3,4,5,6,7,8,9", help="comma-separated outer folds of the 10")
    parser.add_argument("--shares", default="0.125,0.25,0.5,0.75,1", help="shares of the training composition groups")
    args = parser.parse_args()
    shares = sorted(float(s) for s in args.shares.split(","))
    print(f"load average at start: {load_average()}")
    print(versions())
    table = load_table("uci-superconductivity")
    y = table["tc"].to_numpy(float)
    groups = table["composition_key"].to_numpy(str)
    X = features(table, "magpie+fractions")
    print(f"{len(y)} rows, {len(set(groups))} compositions; grouped 10-fold on composition_key; one LightGBM "
          f"{LIGHTGBM}; shares {shares} of the training groups (seed 0)")
    folds = grouped_folds(groups, 10)
    rmse = {share: [] for share in shares}
    compositions = {share: [] for share in shares}
    for fold in (int(f) for f in args.folds.split(",")):
        train, test = folds[fold]
        masks = nested_group_shares(groups[train], shares, seed=0)
        for share in shares:
            t0 = time.perf_counter()
            rows = train[masks[share]]
            pred = lgb.LGBMRegressor(**LIGHTGBM).fit(X[rows], y[rows]).predict(X[test])
            rmse[share].append(float(np.sqrt(np.mean((pred - y[test]) ** 2))))
            compositions[share].append(len(set(groups[rows])))
            print(f"fold {fold} share {share:g}: {len(rows)} rows, {compositions[share][-1]} compositions, "
                  f"RMSE {rmse[share][-1]:.3f} K | {time.perf_counter() - t0:.0f} s", flush=True)
    n = np.array([np.mean(compositions[s]) for s in shares])
    mean = np.array([np.mean(rmse[s]) for s in shares])
    print("\nshare  compositions  RMSE K (mean over folds)")
    for share, count, value in zip(shares, n, mean):
        print(f"{share:>5g} {count:>13.0f} {value:>9.3f}")
    print(f"oracle floor (own-composition mean Tc, all rows): {oracle_floor(y, groups):.3f} K")
    fit = power_law(n, mean)
    if fit is None:
        print("power law: needs at least 3 shares")
    else:
        floor, a, b = fit
        needed = ((TARGET_RMSE_K - floor) / a) ** (-1 / b) if floor < TARGET_RMSE_K else float("inf")
        print(f"power law: RMSE = {floor:.2f} + {a:.1f} * n^-{b:.2f}; {TARGET_RMSE_K} K needs about "
              f"{needed:,.0f} training compositions ({needed / n[-1]:.1f} x the {n[-1]:,.0f} here)")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
