"""Screen a feature idea for the UCI Tc regressor: one LightGBM with and without it, on outer folds.

    .venv/bin/python benchmarks/composition_uci_screen.py \\
        --idea system-stats|oxygen-imputation|site-valence [--folds 0,1,2]

A cheap first look before an idea goes into the tuned blend of ``composition_uci_hamidieh.py``:
the same grouped 10-fold split (GroupKFold on ``composition_key``), one LightGBM with fixed
settings (learning rate 0.05, 1,200 rounds, 63 leaves, seed 0) on Magpie + element fractions, fitted
with and without the idea on the training part of each listed fold and scored on its test part.
Printed per fold: RMSE without / with, the 50/50 average of the two beside the 50/50 average of
two LightGBMs without it (seeds 0 and 1: what averaging alone gives), and the RMSE on the 1,909
oxygen-unknown cuprates and on the other rows.

Ideas:
- ``system-stats``: mean and max Tc and log(1 + count) of the training rows with the same set of
  elements (a doping series), for a training row without its own composition's rows, as for a
  test composition under grouped folds.
- ``oxygen-imputation``: the oxygen of the oxygen-unknown cuprates (Hamidieh wrote O1) replaced by
  nominal charge balance of the other elements (oxidation states below; at least 0.5), plus a
  column flagging those rows.
- ``site-valence``: the three columns of the ``site-valence`` encoder (nominal Cu and Fe valence by
  charge balance, Presland's cuprate dome), as ``magpie``'s ``append_site_valence`` adds them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from composition_common import features, grouped_folds, load_average, load_table, versions  # noqa: E402

from sc_toolkit import SYMBOLS, Compositions  # noqa: E402
from sc_toolkit import regression_metrics  # noqa: E402

LIGHTGBM = dict(objective="regression", learning_rate=0.05, num_leaves=63, min_child_samples=5, colsample_bytree=0.5,
                subsample=0.8, subsample_freq=1, n_estimators=1200, verbose=-1, n_jobs=1, random_state=0)


def system_stats(system: np.ndarray, composition: np.ndarray, y: np.ndarray, train: np.ndarray,
                 rows: np.ndarray, own_excluded: bool) -> np.ndarray:
    """(len(rows), 3): mean and max Tc and log(1 + count) of the training rows in each row's element
    system (NaN where there are none); ``own_excluded`` leaves out the row's own composition."""
    d = pd.DataFrame({"s": system[train], "c": composition[train], "y": y[train]})
    by_system = d.groupby("s")["y"].agg(["sum", "count"]).reindex(system[rows]).fillna(0.0)
    by_group = d.groupby(["s", "c"])["y"].agg(["sum", "count", "max"]).reset_index()
    ranked = by_group.sort_values(["s", "max"], ascending=[True, False])
    ranked["rank"] = ranked.groupby("s").cumcount()
    best = ranked[ranked["rank"] == 0].set_index("s").reindex(system[rows])
    second = ranked[ranked["rank"] == 1].set_index("s").reindex(system[rows])
    total, count = by_system["sum"].to_numpy(), by_system["count"].to_numpy()
    top = best["max"].to_numpy()
    if own_excluded:
        own = by_group.set_index(["s", "c"]).reindex(pd.MultiIndex.from_arrays([system[rows], composition[rows]]))
        total = total - np.nan_to_num(own["sum"].to_numpy())
        count = count - np.nan_to_num(own["count"].to_numpy())
        top = np.where(best["c"].to_numpy() == composition[rows], second["max"].to_numpy(), top)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return np.c_[mean, np.where(count > 0, top, np.nan), np.log1p(count)]


def oxygen_imputed(table: pd.DataFrame, unknown: np.ndarray) -> pd.DataFrame:
    """``table`` with the formula of the ``unknown`` rows given oxygen by nominal charge balance: the
    ``site-valence`` encoder's oxidation states, with Cu at +2."""
    from sctk_composition.site_valence import nominal_charges

    amounts = Compositions.from_formulas(table.loc[unknown, "formula"].tolist()).amounts.copy()
    charges = nominal_charges()[: amounts.shape[1]].copy()
    charges[SYMBOLS.index("Cu")] = 2
    oxygen = SYMBOLS.index("O")
    amounts[:, oxygen] = 0.0
    amounts[:, oxygen] = np.maximum((amounts * charges).sum(axis=1) / 2, 0.5)
    out = table.copy()
    out.loc[unknown, "formula"] = Compositions.from_matrix(amounts).formulas
    return out


def main() -> None:
    import lightgbm as lgb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idea", choices=("system-stats", "oxygen-imputation", "site-valence"), required=True)
    parser.add_argument("--folds", default="0,1,2", help="comma-separated outer folds of the 10")
    args = parser.parse_args()
    print(f"load average at start: {load_average()}")
    print(versions())
    table = load_table("uci-superconductivity")
    y = table["tc"].to_numpy(float)
    groups = table["composition_key"].to_numpy(str)
    unknown = table["oxygen_unknown"].to_numpy(bool)
    X = features(table, "magpie+fractions")
    if args.idea == "oxygen-imputation":
        X_idea = np.c_[features(oxygen_imputed(table, unknown), "magpie+fractions"), unknown.astype(float)]
    elif args.idea == "site-valence":
        X_idea = features(table, "magpie+fractions+valence")
    else:
        present = features(table, "fractions") > 0
        system = pd.factorize(pd.Series([row.tobytes() for row in np.packbits(present, axis=1)]))[0]
        composition = pd.factorize(pd.Series(groups))[0]
    print(f"{len(y)} rows; grouped 10-fold on composition_key; one LightGBM {LIGHTGBM}; idea {args.idea}")
    scores = []
    folds = grouped_folds(groups, 10)
    for fold in (int(f) for f in args.folds.split(",")):
        train, test = folds[fold]
        t0 = time.perf_counter()
        if args.idea == "system-stats":
            X_train = np.c_[X[train], system_stats(system, composition, y, train, train, True)]
            X_test = np.c_[X[test], system_stats(system, composition, y, train, test, False)]
        else:
            X_train, X_test = X_idea[train], X_idea[test]
        without = lgb.LGBMRegressor(**LIGHTGBM).fit(X[train], y[train]).predict(X[test])
        with_idea = lgb.LGBMRegressor(**LIGHTGBM).fit(X_train, y[train]).predict(X_test)
        control = lgb.LGBMRegressor(**{**LIGHTGBM, "random_state": 1}).fit(X[train], y[train]).predict(X[test])
        u = unknown[test]

        def rmse(pred, rows=slice(None)):
            return regression_metrics(y[test][rows], pred[rows])["rmse"]

        scores.append((rmse(without), rmse(with_idea), rmse((without + with_idea) / 2), rmse((without + control) / 2)))
        print(f"fold {fold}: RMSE without {scores[-1][0]:.3f}, with {scores[-1][1]:.3f}, 50/50 {scores[-1][2]:.3f} "
              f"(two seeds without: {scores[-1][3]:.3f}) | "
              f"{u.sum()} oxygen-unknown rows {rmse(without, u):.2f} -> {rmse(with_idea, u):.2f}, other rows "
              f"{rmse(without, ~u):.3f} -> {rmse(with_idea, ~u):.3f} | {time.perf_counter() - t0:.0f} s", flush=True)
    mean = np.mean(scores, axis=0)
    print(f"mean over folds: without {mean[0]:.3f}, with {mean[1]:.3f}, 50/50 {mean[2]:.3f}, two seeds without "
          f"{mean[3]:.3f} K; "
          f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
