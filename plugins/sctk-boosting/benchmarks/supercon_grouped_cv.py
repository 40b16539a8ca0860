"""Grouped K-fold CV of the sctk-boosting predictors on the full Stanev 2018 SuperCon table with
element-fraction features, next to the mean and median baselines.

Folds are grouped by composition key (no composition on both sides of a split). Prints MAE, RMSE
and R2 of Tc (K), the mean predicted std and the share of test rows whose error is within one std,
accuracy of the Tc > 10 K classifiers next to the majority class, and regressor fit times.

    .venv/bin/python plugins/sctk-boosting/benchmarks/supercon_grouped_cv.py --folds 5
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from sc_toolkit import Compositions
from sctk_boosting import KNNPredictor, LightGBMPredictor, XGBoostPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1, help="threads per model (2 is much slower on a loaded 2-core machine)")
    parser.add_argument("--quick", action="store_true", help="use the predictors' quick settings")
    args = parser.parse_args()

    data_dir = Path(os.environ["SCTK_DATA_DIR"])
    table = pd.read_csv(data_dir / "supercon_stanev2018" / "Supercon_data_by_2018_Stanev.csv")
    compositions, rejected = Compositions.parse(table["name"])
    bad = {r.row for r in rejected}
    tc = table["Tc"].to_numpy(dtype=float)[[i not in bad for i in range(len(table))]]
    X, keys = compositions.fractions, compositions.keys()
    print(f"{len(X)} rows ({len(rejected)} unparseable dropped), {len(set(keys))} compositions, {X.shape[1]} features")

    def boosted(cls, **regression_only):
        quick = cls.quick if args.quick else {}
        return lambda task: cls(
            task=task, n_jobs=args.n_jobs, **quick, **(regression_only if task == "regression" else {})
        )

    models = {
        "lightgbm": boosted(LightGBMPredictor),
        "lightgbm log_target": boosted(LightGBMPredictor, log_target=True),
        "xgboost": boosted(XGBoostPredictor),
        "knn (k=5, distance)": lambda task: KNNPredictor(task=task, n_jobs=args.n_jobs),
    }
    rows = []
    for fold, (train, test) in enumerate(GroupKFold(n_splits=args.folds).split(X, groups=keys)):
        y_train, y_test = tc[train], tc[test]
        high_train, high_test = y_train > 10, y_test > 10
        for name, value in {"median": np.median(y_train), "mean": y_train.mean()}.items():
            rows.append({"model": f"{name} baseline", "fold": fold, **_metrics(np.full(len(test), value), y_test)})
        majority = high_test.mean() if high_train.mean() >= 0.5 else 1 - high_test.mean()
        rows[-2]["accuracy"] = majority  # majority-class accuracy sits on the median-baseline row
        for name, make in models.items():
            start = time.perf_counter()
            regressor = make("regression").fit(X[train], y_train)
            fit_s = time.perf_counter() - start
            mean, std = regressor.predict(X[test], return_std=True)
            classifier = make("classification").fit(X[train], high_train)
            accuracy = np.mean(classifier.predict(X[test]) == high_test)
            rows.append({"model": name, "fold": fold, **_metrics(mean, y_test), "accuracy": accuracy,
                         "mean_std": std.mean(), "within_1std": np.mean(np.abs(mean - y_test) <= std),
                         "fit_s": fit_s})
            scores = ", ".join(f"{k} {float(v):.3f}" for k, v in rows[-1].items() if k not in ("model", "fold"))
            print(f"fold {fold} {name}: {scores}", flush=True)
    summary = pd.DataFrame(rows).groupby("model", sort=False).mean(numeric_only=True).drop(columns="fold")
    print(summary.round(3).to_string())


def _metrics(prediction: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    error = prediction - truth
    return {
        "MAE": np.mean(np.abs(error)),
        "RMSE": np.sqrt(np.mean(error**2)),
        "R2": 1 - np.sum(error**2) / np.sum((truth - truth.mean()) ** 2),
    }


if __name__ == "__main__":
    main()
