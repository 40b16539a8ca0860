"""Wide-gap insulators (``wide-gap-insulators``) as negatives of the superconductor classifier:
P(superconductor) on held-out composition groups, with and without them.

Rows: SuperCon (``supercon``; Tc > 0 = superconductor, Tc = 0 "no Tc reported" = negative, as the
``superconductor`` predictor of recipes/supercon_tc.toml: target tc, threshold 0) and the wide-gap
reference set (tc = 0; no composition of it is in SuperCon). One GroupKFold over all rows on
``composition_key``; each variant trains on its share of a training fold, and every variant scores
the same test rows:

- ``supercon``: the SuperCon rows only (the recipe today);
- ``supercon + wide-gap``: SuperCon rows and the wide-gap rows as negatives;
- ``tc>0 + wide-gap``: the no-Tc-reported rows dropped, superconductors against wide-gap rows.

Model: the registry's ``magpie`` encoder (impute_nan) and ``lightgbm`` predictor with
task="classification", n_estimators=600 (the recipe's), n_models=1, n_jobs=1, random_state=0. Printed, pooled
over the held-out folds: the median P on held-out wide-gap compounds, the share of held-out
superconductors with P >= 0.5 (the targets: <= 0.10 and >= 90 %), the share of held-out
no-Tc-reported rows with P >= 0.5, ROC-AUC and accuracy on superconductors against the variant's
own negatives and against the wide-gap rows (common to all variants), beside the majority class of
training; then P for named compounds from each variant trained on all its rows and out of fold.

    uv run python benchmarks/negatives_classifier.py [--folds 5] [--probes KCl CaO LiF NaF BaSO4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from composition_common import REGISTRY, grouped_folds, load_average, load_table, versions  # noqa: E402
from sc_toolkit import composition_key, parse_formula, roc_auc  # noqa: E402

VARIANTS = ("supercon", "supercon + wide-gap", "tc>0 + wide-gap")
PROBES = ("KCl", "CaO", "LiF", "NaF", "BaSO4")
MODEL = {"task": "classification", "n_estimators": 600, "n_models": 1, "n_jobs": 1, "random_state": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--probes", nargs="+", default=list(PROBES), help="formulas to score at the end")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"load average at start: {load_average()}")
    supercon, wide_gap = load_table("supercon"), load_table("wide-gap-insulators")
    rows = pd.concat([supercon.assign(source="supercon"), wide_gap.assign(source="wide-gap")], ignore_index=True)
    label = rows["tc"].to_numpy(float) > 0
    source = rows["source"].to_numpy()
    no_tc = (source == "supercon") & ~label
    in_variant = {
        "supercon": source == "supercon",
        "supercon + wide-gap": np.ones(len(rows), dtype=bool),
        "tc>0 + wide-gap": ~no_tc,
    }
    encoder = REGISTRY.get("encoder", "magpie")(impute_nan=True)
    X = encoder.encode(rows)
    groups = rows["composition_key"].to_numpy(str)
    print(f"{label.sum()} SuperCon rows with Tc > 0, {no_tc.sum()} with no Tc reported, {(source == 'wide-gap').sum()} "
          f"wide-gap rows; {len(set(groups))} compositions; {X.shape[1]} magpie features; {args.folds}-fold "
          f"GroupKFold on composition_key; lightgbm {MODEL}")
    print(versions())

    proba = {name: np.full(len(rows), np.nan) for name in VARIANTS}
    majority = {name: np.full(len(rows), np.nan) for name in VARIANTS}
    for fold, (train, test) in enumerate(grouped_folds(groups, args.folds)):
        t0 = time.perf_counter()
        for name in VARIANTS:
            used = train[in_variant[name][train]]
            proba[name][test] = _positive(_fit(X[used], label[used]), X[test])
            majority[name][test] = float(label[used].mean() >= 0.5)
        print(f"fold {fold}: {time.perf_counter() - t0:.0f} s, load {load_average()}", flush=True)

    superconductor, wide = label, source == "wide-gap"
    print(f"\nHeld out, pooled over {args.folds} folds ({superconductor.sum()} superconductors, {no_tc.sum()} no-Tc-reported, "
          f"{wide.sum()} wide-gap rows); targets: median P(wide-gap) <= 0.10, P >= 0.5 on >= 90 % of superconductors")
    header = (f"{'training rows':<22} {'median P wide-gap':>17} {'Tc>0 with P>=0.5':>16} {'no-Tc with P>=0.5':>17} "
              f"{'AUC own negs':>12} {'acc own negs':>12} {'AUC vs wide-gap':>15} {'acc vs wide-gap':>15} "
              f"{'majority acc own / vs wide-gap':>30}")
    print(header)
    for name in VARIANTS:
        p = proba[name]
        own = in_variant[name]  # superconductors and the negatives this variant trains on
        versus_wide = superconductor | wide
        print(f"{name:<22} {np.median(p[wide]):>17.4f} {np.mean(p[superconductor] >= 0.5):>16.1%} "
              f"{np.mean(p[no_tc] >= 0.5):>17.1%} {roc_auc(label[own], p[own]):>12.4f} "
              f"{_accuracy(label[own], p[own]):>12.4f} {roc_auc(label[versus_wide], p[versus_wide]):>15.4f} "
              f"{_accuracy(label[versus_wide], p[versus_wide]):>15.4f} "
              f"{_accuracy(label[own], majority[name][own]):>14.4f} / {_accuracy(label[versus_wide], majority[name][versus_wide]):.4f}")
        met = np.median(p[wide]) <= 0.10 and np.mean(p[superconductor] >= 0.5) >= 0.90
        print(f"{'':<22} target {'met' if met else 'not met'}; wide-gap P quartiles "
              + " / ".join(f"{q:.3f}" for q in np.quantile(p[wide], [0.25, 0.5, 0.75, 0.9])))

    probes = pd.DataFrame({"formula": args.probes})
    probe_X = encoder.encode(probes)
    print(f"\nP(superconductor) of {' '.join(args.probes)}: trained on all of the variant's rows | out of fold "
          "(the compound's own fold held out; '-' where it is in neither table)")
    for name in VARIANTS:
        everything = np.flatnonzero(in_variant[name])
        p_all = _positive(_fit(X[everything], label[everything]), probe_X)
        out_of_fold = [_out_of_fold(proba[name], groups, composition_key(parse_formula(f))) for f in args.probes]
        print(f"{name:<22} " + "  ".join(f"{f} {a:.3f} | {o}" for f, a, o in zip(args.probes, p_all, out_of_fold, strict=True)))
    print(f"total {time.perf_counter() - start:.0f} s; load average at end: {load_average()}")


def _fit(X: np.ndarray, y: np.ndarray):
    return REGISTRY.get("predictor", "lightgbm")(**MODEL).fit(X, y)


def _positive(model, X: np.ndarray) -> np.ndarray:
    """P(label True) of ``model``'s classes."""
    return model.predict_proba(X)[:, list(model.classes_).index(True)]


def _out_of_fold(p: np.ndarray, groups: np.ndarray, key: str) -> str:
    """Mean held-out P of the rows of composition ``key``, or '-' where no row has it."""
    rows = np.flatnonzero(groups == key)
    return f"{p[rows].mean():.3f}" if len(rows) else "-"


def _accuracy(label: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p >= 0.5) == label))


if __name__ == "__main__":
    main()
