"""Leave one superconductor class out: train without iron-based compounds (or cuprates) and predict
them, beside the same model's in-distribution figure on the same rows.

In-distribution: K-fold CV grouped by ``composition_key`` over all rows; the metrics are taken on
the out-of-fold predictions of the held-out class's rows only. Out-of-class: the model is trained on
every row not of that class and predicts all rows of the class. Classes are ``class`` of
``sc_toolkit.load_dataset(...)`` (scheme "scgan": cuprate = Cu and O present; iron-based = Fe with a
pnictogen/chalcogen partner; other). Regression of Tc (MAE, RMSE, R2) and the Tc > 10 K classifier
(accuracy, ROC-AUC) use one fixed model, not tuned here: LightGBM from the sctk registry
(num_leaves 63, min_child_samples 5, learning_rate 0.1, colsample 0.5, 400 rounds, n_models 1,
n_jobs 1, seed 0) on Magpie + element-fraction features. Baselines: the training median Tc and the
training majority class.

    .venv/bin/python benchmarks/composition_leave_one_class_out.py [--dataset supercon] [--folds 5] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from composition_common import REGISTRY, features, grouped_folds, load_average, load_table, versions  # noqa: E402
from sc_toolkit import regression_metrics, roc_auc  # noqa: E402

DATASETS = {"supercon": "supercon", "uci": "uci-superconductivity"}
CLASSES = ("iron-based", "cuprate")
MODEL = dict(num_leaves=63, min_child_samples=5, learning_rate=0.1, colsample=0.5, n_estimators=400)
QUICK = dict(num_leaves=31, min_child_samples=10, learning_rate=0.1, colsample=0.5, n_estimators=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="supercon")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 rounds of 31-leaf trees (a smoke run)")
    args = parser.parse_args()

    start = time.perf_counter()
    print(f"load average at start: {load_average()}")
    table = load_table(DATASETS[args.dataset])
    tc = table["tc"].to_numpy(float)
    high = tc > 10.0
    groups = table["composition_key"].to_numpy(str)
    family = table["class"].to_numpy(str)
    X = features(table, "magpie+fractions")
    config = QUICK if args.quick else MODEL
    print(f"{args.dataset}: {len(tc)} rows, {len(set(groups))} compositions; classes "
          + ", ".join(f"{c} {np.sum(family == c)}" for c in np.unique(family))
          + f"; model lightgbm {config}, n_models=1, n_jobs=1, random_state=0; in-distribution: "
          f"{args.folds}-fold GroupKFold on composition_key")
    print(versions())

    def regressor(rows):
        return REGISTRY.get("predictor", "lightgbm")(n_models=1, n_jobs=1, random_state=0, **config).fit(X[rows], tc[rows])

    def classifier(rows):
        return REGISTRY.get("predictor", "lightgbm")(
            task="classification", n_models=1, n_jobs=1, random_state=0, **config
        ).fit(X[rows], high[rows])

    oof_tc, oof_p = np.full(len(tc), np.nan), np.full(len(tc), np.nan)
    for fold, (train, test) in enumerate(grouped_folds(groups, args.folds)):
        oof_tc[test] = regressor(train).predict(X[test])
        oof_p[test] = classifier(train).predict_proba(X[test])[:, 1]
        print(f"in-distribution fold {fold} done ({time.perf_counter() - start:.0f} s, load {load_average()})", flush=True)

    rows = []
    for name in CLASSES:
        member = family == name
        rest = np.flatnonzero(~member)
        out_tc = regressor(rest).predict(X[member])
        out_p = classifier(rest).predict_proba(X[member])[:, 1]
        majority = float(high[rest].mean() >= 0.5)
        median = np.median(tc[rest])
        rows.append((name, "in-distribution (grouped CV, all classes in training)", tc[member], oof_tc[member],
                     high[member], oof_p[member]))
        rows.append((name, "out-of-class (trained without it)", tc[member], out_tc, high[member], out_p))
        rows.append((name, f"baseline: training median {median:.2f} K / majority class", tc[member],
                     np.full(member.sum(), median), high[member], np.full(member.sum(), majority)))
        print(f"{name} held out ({time.perf_counter() - start:.0f} s, load {load_average()})", flush=True)

    print(f"\n{'class':<11} {'setting':<56} {'rows':>6} {'MAE K':>7} {'RMSE K':>7} {'R2':>7} "
          f"{'acc 10K':>8} {'AUC 10K':>8} {'share>10K':>9} {'pred>10K':>9}")
    for name, setting, truth, pred, label, p in rows:
        m = regression_metrics(truth, pred)
        accuracy = np.mean((p >= 0.5) == label)
        print(f"{name:<11} {setting:<56} {len(truth):>6} {m['mae']:>7.2f} {m['rmse']:>7.2f} {m['r2']:>7.3f} "
              f"{accuracy:>8.3f} {roc_auc(label, p):>8.3f} {label.mean():>9.3f} {np.mean(p >= 0.5):>9.3f}")
    print(f"total {time.perf_counter() - start:.0f} s; load average at end: {load_average()}")


if __name__ == "__main__":
    main()
