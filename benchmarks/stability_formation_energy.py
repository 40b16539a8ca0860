"""Composition formation energy (eV/atom) on the Materials Project table: grouped 5-fold CV.

LightGBM on Magpie features (the registered ``magpie`` encoder, ``append_fractions=True``), beside the
median of the training fold and matbench's Magpie random forest (0.1165 eV/atom). The MP table has
one row per composition (its lowest-energy polymorph), and the folds are grouped by composition key.
Matbench's figure is on a random 5-fold split of all 132,752 entries, polymorphs included: the same
composition can sit in train and test, and a composition model must also predict the polymorphs'
spread, so the two figures are side by side, not equal footing.

Settings are fixed before looking at any test fold. The number of boosting rounds is chosen per fold
by early stopping on 10 % of the training fold's compositions (an inner validation set); the test
fold only scores. ``--extra`` also trains on the JARVIS-DFT and OQMD rows (one per composition,
lowest energy; OQMD |dH| < 5 eV/atom) whose compositions are neither in the test fold nor in the inner
validation set, with the source as a categorical feature, and predicts as MP; run on the first
``--extra-folds`` folds beside the MP-only model on the same folds.

``--save PATH`` writes the out-of-fold predictions (npz: composition_key, formula, y, pred, fold; fold
-1 and pred NaN where no fold was run), after each fold, for ``stability_hull_agreement.py``.
``--max-folds`` runs only the first folds (on a loaded 2-core machine one fold takes ~7 minutes).

    export SCTK_DATA_DIR=/path/to/data
    uv run python benchmarks/stability_formation_energy.py --extra-folds 1 --save /tmp/mp_oof.npz
    uv run python benchmarks/stability_formation_energy.py --max-folds 1 --extra-folds 0 --save /tmp/mp_oof.npz
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import time

import lightgbm
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from sc_toolkit import group_holdout, load_dataset, load_registry

MATBENCH_MAGPIE_RF = 0.1165  # eV/atom, matbench v0.1 leaderboard, mp_e_form, random 5-fold
TARGET = 0.09
SOURCES = {"mp-e-form": "formation_energy", "jarvis-dft-3d": "formation_energy", "oqmd": "formation_enthalpy"}
OQMD_LIMIT = 5.0  # eV/atom; OQMD's formation-enthalpy tables hold outliers up to +43 eV/atom


def params(args) -> dict:
    return {
        "objective": "regression_l1" if args.l1 else "regression",
        "learning_rate": args.learning_rate,
        "num_leaves": args.num_leaves,
        "min_child_samples": 20,
        "feature_fraction": 0.5,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "max_bin": 63,
        "num_threads": args.threads,
        "seed": 0,
        "deterministic": True,
        "verbosity": -1,
    }


def table(registry, name: str) -> pd.DataFrame:
    frame = load_dataset(registry.dataset(name)).table
    out = pd.DataFrame({"formula": frame["reduced_formula"], "composition_key": frame["composition_key"],
                        "y": frame[SOURCES[name]].astype(float), "source": list(SOURCES).index(name)})  # fmt: skip
    out = out.dropna(subset=["y"])
    return out[out["y"].abs() < OQMD_LIMIT] if name == "oqmd" else out


def fit_predict(args, X, y, train, valid, test, categorical=()) -> tuple[np.ndarray, int]:
    data = lightgbm.Dataset(X[train], y[train], categorical_feature=list(categorical) or "auto",
                            params={"max_bin": 63})  # fmt: skip
    check = lightgbm.Dataset(X[valid], y[valid], reference=data)
    booster = lightgbm.train(params(args), data, args.max_rounds, valid_sets=[check],
                             callbacks=[lightgbm.early_stopping(args.patience, verbose=False)])  # fmt: skip
    return booster.predict(X[test], num_iteration=booster.best_iteration), booster.best_iteration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-folds", type=int, help="run only the first folds (the summary says how many)")
    parser.add_argument("--extra-folds", type=int, default=1, help="folds on which --extra is compared (0: none)")
    parser.add_argument("--learning-rate", type=float, default=0.25)
    parser.add_argument("--num-leaves", type=int, default=127)
    parser.add_argument("--max-rounds", type=int, default=300)
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--l1", action="store_true", help="L1 objective instead of L2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", help="write out-of-fold predictions (npz) here")
    args = parser.parse_args()
    start = time.time()
    registry = load_registry()
    encoder = registry.get("encoder", "magpie")(impute_nan=True, append_fractions=True)

    mp = table(registry, "mp-e-form").reset_index(drop=True)
    extra = pd.concat([table(registry, "jarvis-dft-3d"), table(registry, "oqmd")], ignore_index=True)
    X_mp, y_mp = encoder.encode(mp), mp["y"].to_numpy()
    X_extra = encoder.encode(extra) if args.extra_folds else np.zeros((0, X_mp.shape[1]))
    print(f"MP: {len(mp):,} compositions; extra rows: JARVIS {int((extra.source == 1).sum()):,}, "
          f"OQMD {int((extra.source == 2).sum()):,}; features {X_mp.shape[1]}; "
          f"featurised in {time.time() - start:.0f} s", flush=True)  # fmt: skip

    groups = mp["composition_key"].to_numpy()
    folds = list(GroupKFold(n_splits=args.folds).split(X_mp, groups=groups))[: args.max_folds]
    pred, median_pred, fold_of = np.full(len(mp), np.nan), np.full(len(mp), np.nan), np.full(len(mp), -1)
    rows = []
    for k, (train, test) in enumerate(folds):
        t0 = time.time()
        inner = group_holdout(groups[train], 0.1, seed=k)
        fit, valid = train[~inner], train[inner]
        pred[test], rounds = fit_predict(args, X_mp, y_mp, fit, valid, test)
        median_pred[test] = np.median(y_mp[train])
        fold_of[test] = k
        row = {"fold": k, "n_test": len(test), "rounds": rounds, "mae": np.abs(pred[test] - y_mp[test]).mean(),
               "median_mae": np.abs(median_pred[test] - y_mp[test]).mean(), "s": time.time() - t0}  # fmt: skip
        if k < args.extra_folds:
            t1 = time.time()
            held = set(groups[test]) | set(groups[valid])
            use = ~extra["composition_key"].isin(held).to_numpy()
            X = np.vstack([X_mp, X_extra[use]])
            X = np.column_stack([X, np.concatenate([np.zeros(len(mp)), extra["source"].to_numpy()[use]])])
            y = np.concatenate([y_mp, extra["y"].to_numpy()[use]])
            fit_rows = np.concatenate([fit, len(mp) + np.arange(int(use.sum()))])
            extra_pred, extra_rounds = fit_predict(args, X, y, fit_rows, valid, test, categorical=[X.shape[1] - 1])
            row.update(extra_rows=int(use.sum()), extra_rounds=extra_rounds,
                       extra_mae=np.abs(extra_pred - y_mp[test]).mean(), extra_s=time.time() - t1)  # fmt: skip
        rows.append(row)
        print(pd.DataFrame([row]).round(4).to_string(index=False), flush=True)
        if args.save:
            np.savez(args.save, composition_key=groups.astype(str), formula=mp["formula"].to_numpy().astype(str),
                     y=y_mp, pred=pred, fold=fold_of)  # fmt: skip

    result = pd.DataFrame(rows)
    scored = fold_of >= 0
    mae = np.abs(pred - y_mp)[scored].mean()
    print("\nFormation energy, MP table (one row per composition), composition-grouped "
          f"{args.folds}-fold CV ({len(folds)} fold(s) run, {scored.sum():,} compositions scored), MAE eV/atom")  # fmt: skip
    print(f"  LightGBM, Magpie + fractions      {mae:.4f}   (folds {result['mae'].min():.4f}-{result['mae'].max():.4f})")
    print(f"  median of the training fold       {np.abs(median_pred - y_mp)[scored].mean():.4f}")
    print(f"  matbench Magpie RF (random split) {MATBENCH_MAGPIE_RF:.4f}   target <= {TARGET}")
    if args.extra_folds:
        part = result.iloc[: args.extra_folds]
        print(f"  on fold(s) 0-{args.extra_folds - 1}: MP only {part['mae'].mean():.4f}, "
              f"MP + JARVIS + OQMD rows {part['extra_mae'].mean():.4f}")  # fmt: skip
    print(f"\nsettings: {params(args)}, max rounds {args.max_rounds}, early stopping {args.patience} on 10 % of "
          "each training fold's compositions (seed = fold)")  # fmt: skip
    names = ("sc-toolkit", "lightgbm", "scikit-learn", "numpy", "pandas")
    print(f"python {platform.python_version()}, " + ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names))
    print(f"time {time.time() - start:.0f} s, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
