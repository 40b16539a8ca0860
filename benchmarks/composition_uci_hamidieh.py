"""Hamidieh's UCI table (21,263 rows): Tc regression, K-fold CV grouped by reduced composition.

Prints RMSE, MAE and R2 (pooled over the out-of-fold predictions, and the mean +- std over folds)
of a LightGBM + XGBoost + kNN ensemble whose hyper-parameters (boosting rounds, log target or not,
kNN k, blend weights) are chosen per outer fold on an inner grouped hold-out of the training rows
(see ``composition_common.tuned_ensemble``), beside Hamidieh 2018 (XGBoost, random ungrouped
train/test splits, RMSE ~9.5 K, R2 ~0.92), the median-of-training baseline, and earlier figures measured in this
repository under the same protocol. All 21,263 rows are kept (including the 1,909 oxygen-unknown
cuprates), as in Hamidieh's table; folds are grouped by ``composition_key`` (about 27 % of rows
repeat a composition).

Default grid ``slow`` (LightGBM at learning rate 0.03, up to 2,000 rounds): it beat learning rate
0.1 on inner hold-outs of the training parts of three outer folds (LightGBM RMSE 9.67 vs 9.75 K),
and under the full protocol moved the blend from 9.08 to 9.03 K. Adding Hamidieh's own 81
statistics (``--features magpie+fractions+hamidieh``) did not help on his table (inner hold-outs
9.85 vs 9.75 K; outer folds 0-1 of grid ``small`` 8.70 / 9.67 vs 8.67 / 9.66 K). The best measured
configuration is ``--features magpie+fractions+valence --grid slow+mlp`` (8.93 K, docs/benchmarks.md).

    .venv/bin/python benchmarks/composition_uci_hamidieh.py [--folds 10] [--features magpie+fractions] [--quick]
    .venv/bin/python benchmarks/composition_uci_hamidieh.py --features magpie+fractions+valence --grid slow+mlp \\
        --only-folds 0,1,2,3,4 --save a.npz
    .venv/bin/python benchmarks/composition_uci_hamidieh.py --merge a.npz b.npz   # the table of both parts
    .venv/bin/python benchmarks/composition_uci_hamidieh.py --executor ray --workers 2   # folds as Ray tasks
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from composition_common import (  # noqa: E402
    FEATURE_SETS,
    GRIDS,
    add_executor_arguments,
    features,
    fold_results,
    grid,
    grouped_folds,
    load_average,
    load_parts,
    load_table,
    outer_folds,
    save_part,
    versions,
)
from sc_toolkit import regression_metrics, task_executor  # noqa: E402

REFERENCES = [  # (label, RMSE, MAE, R2); None where not reported
    ("Hamidieh 2018, XGBoost, 81 features, random split", 9.5, None, 0.92),
    ("Hamidieh 2018 on deduplicated data (science.md), 10-fold", 9.34, None, 0.924),
    ("this repo earlier: element fractions + LightGBM, grouped 10-fold", 9.56, None, 0.922),
    ("this repo earlier: Magpie + fractions + LightGBM, grouped 10-fold", 9.07, None, 0.930),
    ("this repo earlier: the same blend with grid small (LightGBM lr 0.1)", 9.076, 5.172, 0.930),
    ("this repo earlier: the blend with grid slow (no mlp member)", 9.025, 5.136, 0.931),
    ("this repo earlier: grid slow+mlp on Magpie + fractions", 8.953, 5.038, 0.932),
    ("this repo earlier: grid slow+mlp with the site valences", 8.929, 5.013, 0.932),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--features", choices=FEATURE_SETS, default="magpie+fractions")
    parser.add_argument("--seed", type=int, default=0, help="inner hold-out and model seed")
    parser.add_argument("--quick", action="store_true", help="same as --grid quick (a smoke run)")
    parser.add_argument("--grid", choices=GRIDS, default="slow", help="search grid (composition_common.grid)")
    parser.add_argument("--save", type=Path, help="write the out-of-fold predictions to this .npz")
    parser.add_argument("--max-folds", type=int, default=None, help="stop after this many outer folds")
    parser.add_argument("--only-folds", default=None,
                        help="comma-separated outer folds to run (e.g. 0,1,2,3,4; merge parts with --save)")
    parser.add_argument("--merge", type=Path, nargs="+", help="print the table of these --save files and stop")
    add_executor_arguments(parser)
    args = parser.parse_args()
    if args.merge:
        merge(args.merge, args.folds)
        return

    start = time.perf_counter()
    print(f"load average at start: {load_average()}")
    table = load_table("uci-superconductivity")
    y = table["tc"].to_numpy(float)
    groups = table["composition_key"].to_numpy(str)
    X = features(table, args.features)
    knn_X = features(table, "fractions")
    search = grid("quick" if args.quick else args.grid, "regression")
    print(f"{len(y)} rows, {len(set(groups))} compositions, {X.shape[1]} features ({args.features}); "
          f"{args.folds}-fold GroupKFold on composition_key; inner hold-out {search.inner_fraction:.0%} of "
          f"the training groups (seed {args.seed}); grid {'quick' if args.quick else args.grid}: {search}")
    print(versions())

    oof = {}
    folds = outer_folds(groups, args.folds, args.max_folds, args.only_folds)
    with task_executor(args.executor, workers=args.workers) as tasks:
        results = fold_results(tasks, folds, X, y, groups, task="regression", search=search, seed=args.seed,
                               knn_X=knn_X)
        t0 = time.perf_counter()
        for (fold, (train, test)), result in zip(folds, results):
            result.predictions["median baseline"] = np.full(len(test), np.median(y[train]))
            names = list(result.predictions)
            for name in names:
                oof.setdefault(name, np.full(len(y), np.nan))[test] = result.predictions[name]
            m = regression_metrics(y[test], result.predictions["ensemble"])
            print(f"fold {fold}: ensemble RMSE {m['rmse']:.3f} MAE {m['mae']:.3f} R2 {m['r2']:.4f} | "
                  + " | ".join(f"{k}: {v}" for k, v in result.chosen.items())
                  + f" | {time.perf_counter() - t0:.0f} s, load {load_average()}", flush=True)
            t0 = time.perf_counter()

    if args.save:
        save_part(args.save, y, groups, oof)
    report(y, oof, [test for _, (_, test) in folds])
    print(f"total {time.perf_counter() - start:.0f} s; load average at end: {load_average()}")


def merge(paths: list[Path], n_folds: int) -> None:
    """Print the pooled table of out-of-fold predictions saved by runs over disjoint folds."""
    y, groups, oof = load_parts(paths)
    done = ~np.isnan(oof["ensemble"])
    report(y, oof, [test for _, test in grouped_folds(groups, n_folds) if done[test].all()])


def report(y: np.ndarray, oof: dict[str, np.ndarray], tests: list[np.ndarray]) -> None:
    """Pooled out-of-fold RMSE, MAE and R2 per model (mean +- std over the folds ``tests``), the
    references, and whether the target is met."""
    done = ~np.isnan(oof["ensemble"])
    print(f"\nOut-of-fold over {done.sum()} rows ({len(tests)} folds), pooled; mean +- std over folds in brackets")
    print(f"{'model':<68} {'RMSE K':>16} {'MAE K':>16} {'R2':>16}")
    for name in oof:
        pooled = regression_metrics(y[done], oof[name][done])
        per_fold = [regression_metrics(y[test], oof[name][test]) for test in tests]
        cells = []
        for key in ("rmse", "mae", "r2"):
            values = np.array([m[key] for m in per_fold])
            cells.append(f"{pooled[key]:.3f} ({values.mean():.2f}+-{values.std():.2f})")
        label = {"ensemble": "ours: tuned blend", "median baseline": "median of training Tc"}
        print(f"{label.get(name, 'ours: tuned ' + name):<68} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")
    for label, rmse, mae, r2 in REFERENCES:
        cell = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        print(f"{label:<68} {cell(rmse, '.2f'):>16} {cell(mae, '.2f'):>16} {cell(r2, '.3f'):>16}")
    reached = regression_metrics(y[done], oof["ensemble"][done])
    met = reached["rmse"] <= 8.5 and reached["r2"] >= 0.94
    print(f"target RMSE <= 8.5 K and R2 >= 0.94: {'met' if met else 'not met'}")


if __name__ == "__main__":
    main()
