"""Conformal Tc intervals and the applicability domain of the ``supercon_tc`` regressor, measured on
composition-grouped held-out folds: coverage and width overall, per family and in / out of domain.

Rows: SuperCon (``supercon``) with a reported Tc (tc > 0), as the ``tc`` predictor of
recipes/supercon_tc.toml. Features: the registered ``magpie`` encoder (recipe defaults). Model: the
registered ``lightgbm`` predictor, a bootstrap ensemble whose members' spread is ``tc_std``,
random_state ``--seed``. The recipe trains 5 members x 600 rounds at learning rate 0.05; one fold of
that took over 7 minutes here (2 shared cores, load 8-10), so the defaults are smaller: 3 members x
200 rounds at learning rate 0.15 (the same total shrinkage, 600 x 0.05 = 200 x 0.15). Pass
``--n-models 5 --n-estimators 600 --learning-rate 0.05`` for the recipe's model (about 40 minutes here).

Protocol, per fold of a ``GroupKFold`` on ``composition_key`` (no composition on both sides):

- from the fold's training rows, 20 % of the composition groups are held out as the calibration set
  (``group_holdout``, seed ``--seed`` + fold); the model is trained on the other 80 %, as the
  runner's hold-out does;
- ``ConformalInterval.calibrate(level, y_cal, pred_cal, std_cal, families_cal)`` (the recipe: split
  conformal, normalised by the spread plus its median, Mondrian by family cuprate / iron-based /
  other) and ``ApplicabilityDomain.calibrate(X_fit, X_cal)`` (mean distance to the 5 nearest
  training compositions, threshold the 0.95 quantile of the calibration rows' distances);
- the test fold is predicted; predictions and bounds are clipped at 0 (the recipe's ``min_value``).

Printed, pooled over the test folds: coverage and mean width of the recipe's interval, overall, per
family and in / out of domain, beside (a) the pooled (non-Mondrian) normalised interval, (b) plain
(non-normalised) conformal, pooled and per family, and (c) the model's spread read as an interval,
``tc_pred +- 1.645 tc_std`` and ``+- 1 tc_std`` (not calibrated: the spread is not an interval); the
in-domain share of the test folds and the MAE in / out of domain beside the training median.
Target (the "defensible candidates" issue): at 90 % nominal, 88-92 % overall and >= 85 % in every
family.

    uv run python benchmarks/defensible_intervals.py [--folds 5] [--level 0.9] [--n-models 3] [--n-estimators 200] [--learning-rate 0.15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from composition_common import load_average, versions  # noqa: E402
from sc_toolkit import (
    ApplicabilityDomain,
    ConformalInterval,
    group_holdout,
    load_dataset,
    load_registry,
    superconductor_class,
)

FAMILIES = ("cuprate", "iron-based", "other")
CALIBRATION_SHARE = 0.2  # of the training fold's composition groups
Z90 = 1.645  # the normal quantile a +- k std interval would need for 90 %


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--level", type=float, default=0.9, help="nominal coverage of the conformal intervals")
    parser.add_argument("--n-models", type=int, default=3, help="bootstrap members (the recipe: 5)")
    parser.add_argument("--n-estimators", type=int, default=200, help="boosting rounds (the recipe: 600)")
    parser.add_argument("--learning-rate", type=float, default=0.15, help="(the recipe: 0.05)")
    parser.add_argument("--n-jobs", type=int, default=2, help="LightGBM threads (the predictor's default: 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-folds", type=int, default=None, help="stop after this many folds (smoke runs)")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"load average at start: {load_average()}")

    registry = load_registry()
    table = load_dataset(registry.dataset("supercon")).table
    table = table[table["tc"].to_numpy(float) > 0].reset_index(drop=True)
    y = table["tc"].to_numpy(float)
    groups = table["composition_key"].to_numpy(str)
    family = np.asarray(superconductor_class(table, scheme="scgan"), dtype=str)
    t0 = time.perf_counter()
    X = registry.get("encoder", "magpie")().encode(table)
    model_params = {"n_estimators": args.n_estimators, "learning_rate": args.learning_rate,
                    "n_models": args.n_models, "n_jobs": args.n_jobs, "random_state": args.seed}
    print(f"{len(table)} SuperCon rows with Tc > 0, {len(set(groups))} compositions; "
          + ", ".join(f"{f} {np.sum(family == f)}" for f in FAMILIES)
          + f"; {X.shape[1]} magpie features ({time.perf_counter() - t0:.0f} s)")
    print(f"{args.folds}-fold GroupKFold on composition_key; per fold {CALIBRATION_SHARE:.0%} of the training groups "
          f"calibrate (group_holdout, seed {args.seed} + fold); lightgbm {model_params}; level {args.level}")
    print(versions(("sc-toolkit", "crepes", "lightgbm", "scikit-learn", "numpy")))

    n = len(table)
    pred, std, dist, fold_of = (np.full(n, np.nan) for _ in range(4))
    in_dom = np.zeros(n, dtype=bool)
    median_pred = np.full(n, np.nan)
    bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    folds = list(GroupKFold(n_splits=args.folds).split(X, y, groups))[:args.max_folds]
    done = np.zeros(n, dtype=bool)
    for k, (train, test) in enumerate(folds):
        t0 = time.perf_counter()
        cal_mask = group_holdout(groups[train], CALIBRATION_SHARE, args.seed + k)
        fit, cal = train[~cal_mask], train[cal_mask]
        model = registry.get("predictor", "lightgbm")(**model_params).fit(X[fit], y[fit], groups=groups[fit])
        pred_cal, std_cal = model.predict(X[cal], return_std=True)
        pred_test, std_test = model.predict(X[test], return_std=True)
        pred[test], std[test], fold_of[test], done[test] = pred_test, std_test, k, True
        median_pred[test] = np.median(y[fit])
        for name, (lo, hi) in _conformal(args.level, y[cal], pred_cal, std_cal, family[cal], pred_test, std_test,
                                         family[test]).items():
            bounds.setdefault(name, (np.full(n, np.nan), np.full(n, np.nan)))
            bounds[name][0][test], bounds[name][1][test] = lo, hi
        domain = ApplicabilityDomain.calibrate(X[fit], X[cal])
        dist[test] = domain.distance(X[test])
        in_dom[test] = domain.in_domain(dist[test])
        print(f"fold {k}: fit {len(fit)}, calibrate {len(cal)}, test {len(test)} rows; domain threshold "
              f"{domain.threshold:.3f}, in-domain {in_dom[test].mean():.1%}; {time.perf_counter() - t0:.0f} s, "
              f"load {load_average()}", flush=True)

    clipped = np.maximum(pred, 0.0)
    for k_std, name in ((Z90, f"spread: pred +- {Z90} std"), (1.0, "spread: pred +- 1 std")):
        bounds[name] = (clipped - k_std * std, clipped + k_std * std)
    bounds = {name: (np.maximum(lo, 0.0), np.maximum(hi, 0.0)) for name, (lo, hi) in bounds.items()}

    rows = np.flatnonzero(done)
    subsets = {"overall": rows} | {f: rows[family[rows] == f] for f in FAMILIES} | {
        "in domain": rows[in_dom[rows]], "out of domain": rows[~in_dom[rows]]}
    print(f"\nHeld out, pooled over {len(folds)} test folds ({len(rows)} rows). Coverage (width = mean hi - lo, K), "
          f"nominal {args.level:.0%}; target 88-92 % overall, >= 85 % in every family")
    print("n: " + ", ".join(f"{name} {len(idx)}" for name, idx in subsets.items()))
    print(f"{'interval':<40}" + "".join(f"{name:>20}" for name in subsets))
    for name, (lo, hi) in bounds.items():
        covered = (y >= lo) & (y <= hi)
        width = hi - lo
        print(f"{name:<40}" + "".join(f"{covered[idx].mean():>11.1%} ({width[idx].mean():5.1f})" for idx in subsets.values()))
    recipe_lo, recipe_hi = bounds[RECIPE]
    covered = (y >= recipe_lo) & (y <= recipe_hi)
    per_fold = [covered[fold_of == k].mean() for k in range(len(folds))]
    fam_cov = {f: covered[subsets[f]].mean() for f in FAMILIES}
    overall = covered[rows].mean()
    met = (0.88 <= overall <= 0.92) and all(c >= 0.85 for c in fam_cov.values())
    print("recipe interval per fold: " + " ".join(f"{c:.1%}" for c in per_fold)
          + f"; binomial s.e. overall {np.sqrt(overall * (1 - overall) / len(rows)):.1%}, iron-based "
          f"{np.sqrt(fam_cov['iron-based'] * (1 - fam_cov['iron-based']) / max(len(subsets['iron-based']), 1)):.1%}")
    print(f"target {'met' if met else 'not met'}: overall {overall:.1%}, "
          + ", ".join(f"{f} {c:.1%}" for f, c in fam_cov.items()))
    width = recipe_hi - recipe_lo
    print("recipe interval width quartiles (K): " + " / ".join(f"{q:.1f}" for q in np.quantile(width[rows], [0.25, 0.5, 0.75])))
    within = np.abs(y - clipped) <= std
    print(f"share within one tc_std of tc_pred: {within[rows].mean():.1%} (a normal spread would give 68.3 %); "
          f"median tc_std {np.median(std[rows]):.2f} K, median |error| {np.median(np.abs(y - clipped)[rows]):.2f} K")

    error, base = np.abs(y - clipped), np.abs(y - median_pred)
    print(f"\nin-domain share of the test folds: {in_dom[rows].mean():.1%} (by construction ~95 % for rows like the "
          "calibration groups)")
    print(f"{'rows':<16}{'n':>7}{'MAE model':>11}{'MAE median':>12}{'median distance':>17}")
    for name in ("overall", "in domain", "out of domain"):
        idx = subsets[name]
        print(f"{name:<16}{len(idx):>7}{error[idx].mean():>11.2f}{base[idx].mean():>12.2f}{np.median(dist[idx]):>17.2f}")
    print("MAE in / out of domain per family: " + "; ".join(
        f"{f} {error[subsets[f][in_dom[subsets[f]]]].mean():.2f} / "
        f"{error[subsets[f][~in_dom[subsets[f]]]].mean():.2f} K ({np.mean(~in_dom[subsets[f]]):.1%} out)"
        for f in FAMILIES))
    print(f"total {time.perf_counter() - start:.0f} s; load average at end: {load_average()}")


RECIPE = "recipe: normalised, Mondrian by family"


def _conformal(level, y_cal, pred_cal, std_cal, fam_cal, pred_test, std_test, fam_test):
    """(low, high) on the test rows of each conformal variant, calibrated on the calibration rows."""
    variants = {
        RECIPE: (std_cal, fam_cal),
        "(a) normalised, pooled": (std_cal, None),
        "(b) plain, Mondrian by family": (None, fam_cal),
        "(b) plain, pooled": (None, None),
    }
    out = {}
    for name, (s, bins) in variants.items():
        interval = ConformalInterval.calibrate(level, y_cal, pred_cal, s, bins)
        out[name] = interval.predict(pred_test, None if s is None else std_test, None if bins is None else fam_test)
    return out


if __name__ == "__main__":
    main()
