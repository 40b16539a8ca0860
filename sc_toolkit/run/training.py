"""Train one ``[[predictors]]`` entry: measure it on held-out composition groups beside baselines,
calibrate what it knows about itself on those groups, then fit it on every row.

The hold-out split is by composition group (``composition_key``): no composition is on both sides.
The held-out groups are split once more, half for calibration and half for checking it, so that the
run reports the coverage of its intervals and the in-domain share on groups that calibrated nothing;
the saved calibration then uses all held-out groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..chem import Compositions
from ..metrics import classification_report, group_holdout, regression_report
from ..plan import PredictorPlan
from ..runtime import RunLike
from . import generation_metrics as gm
from .calibration import ApplicabilityDomain, ConformalInterval, families
from .predict import Extras, SavedPredictor, materials_of, subset


@dataclass
class TrainingData:
    """A predictor's training rows: materials for its encoder, targets, truth to score against,
    composition groups, and the source of each row ('data' or the negatives' dataset)."""

    materials: Any
    y: np.ndarray
    truth: np.ndarray | None
    groups: np.ndarray
    source: np.ndarray


def training_data(p: PredictorPlan, table: pd.DataFrame) -> TrainingData:
    """Targets (thresholded for a classifier) and groups of ``table``'s rows."""
    targets = p.section.targets
    scored = p.section.score_on or (targets[0] if len(targets) == 1 else None)
    y = table[targets[0]].to_numpy() if len(targets) == 1 else table[targets].to_numpy()
    truth = None if scored is None else table[scored].to_numpy()
    if p.section.threshold is not None:
        y = truth = (y > p.section.threshold).astype(int)
    source = table["source"].to_numpy(dtype=object) if "source" in table.columns else np.full(len(table), "data", object)
    return TrainingData(materials_of(p.encoder.entry.cls, table), y, truth, table["composition_key"].to_numpy(), source)


def train(p: PredictorPlan, data: TrainingData, seed: int, run: RunLike | None = None) -> tuple[SavedPredictor, dict[str, Any]]:
    """The fitted predictor (encoder, model and its calibrated extras) and its hold-out report."""
    section = p.section
    test = group_holdout(data.groups, section.holdout, seed)
    report: dict[str, Any] = {"n_train": int((~test).sum()), "n_test": int(test.sum()),
                              "split": f"{section.holdout:.0%} of composition groups held out (seed {seed})",
                              "target": section.target, "scored_on": section.score_on or (
                                  section.targets[0] if len(section.targets) == 1 else None)}
    if section.threshold is not None:
        report["label"] = f"{section.target} > {section.threshold}"
    extras = Extras(min_value=section.min_value, expected=section.expected)
    if data.truth is None:
        report["note"] = "no hold-out metric: the target has several columns; set score_on"
    elif test.any() and (~test).any():
        report |= _held_out(p, data, test, seed, extras, run)
    encoder = p.encoder.build().fit(data.materials)
    X = encoder.encode(data.materials)
    model = p.step.build().fit(X, data.y, groups=data.groups, run=run)
    if extras.domain is not None:  # measured against every row the saved model learned from
        extras.domain = extras.domain.with_reference(X)
    return SavedPredictor(section.name, encoder, model, extras), report


def _held_out(p: PredictorPlan, data: TrainingData, test: np.ndarray, seed: int, extras: Extras,
              run: RunLike | None) -> dict[str, Any]:
    """Metrics on the held-out groups beside baselines; calibrates ``extras`` (interval, domain)."""
    section, y, report = p.section, data.y, {}
    train_materials, test_materials = subset(data.materials, ~test), subset(data.materials, test)
    encoder = p.encoder.build().fit(train_materials)
    X_train = encoder.encode(train_materials)
    model = p.step.build().fit(X_train, y[~test], groups=data.groups[~test], run=run)
    X_test = encoder.encode(test_materials)
    if p.task == "classification":
        proba = model.predict_proba(X_test)
        positive = proba[:, -1] if proba.shape[1] == 2 else None
        labels = model.predict(X_test)
        report |= classification_report(y[~test], y[test], labels, positive)
        report["rates"] = gm.classifier_rates(y[test], labels)  # for ScGAN's corrected fraction rho
        if positive is not None:
            report["by_source"] = _by_source(data.source[test], y[test], positive)
    else:
        if model.supports_std:
            predicted, std = model.predict(X_test, return_std=True)
        else:
            predicted, std = model.predict(X_test), None
        clipped = predicted if section.min_value is None else np.maximum(predicted, section.min_value)
        report |= regression_report(data.truth[~test], data.truth[test], clipped)
        if section.interval is not None:
            report["interval"] = _calibrate_interval(section, data, test, predicted, std, seed, extras)
    if section.domain:
        report["domain"] = _calibrate_domain(section, X_train, X_test, data.groups[test], seed, extras)
    return report


def _calibrate_interval(section, data: TrainingData, test: np.ndarray, predicted: np.ndarray,
                        std: np.ndarray | None, seed: int, extras: Extras) -> dict[str, Any]:
    """Calibrate on half of the held-out groups, report coverage on the other half, then keep the
    calibration on all held-out groups."""
    truth = np.asarray(data.truth[test], dtype=float)
    bins = families(subset_compositions(data.materials, test)) if section.interval_by == "family" else None
    check = group_holdout(data.groups[test], 0.5, seed + 1)
    low, high = _bounds(section, truth[~check], predicted, std, bins, ~check, check)
    covered = (truth[check] >= low) & (truth[check] <= high)
    summary: dict[str, Any] = {
        "level": section.interval, "method": "split conformal (crepes ConformalRegressor)"
        + (", normalised by the model's spread" if std is not None else "")
        + (", Mondrian by family" if bins is not None else ""),
        "coverage_check": float(covered.mean()) if len(covered) else None, "n_check": int(check.sum()),
        "mean_width_check": float(np.mean(high - low)) if len(low) else None,
    }
    if bins is not None:
        summary["coverage_check_by_family"] = {str(f): float(covered[bins[check] == f].mean())
                                               for f in np.unique(bins[check])}
    extras.interval = ConformalInterval.calibrate(section.interval, truth, predicted, std, bins)
    return summary


def _bounds(section, truth_cal, predicted, std, bins, cal, check):
    interval = ConformalInterval.calibrate(section.interval, truth_cal, predicted[cal],
                                           None if std is None else std[cal], None if bins is None else bins[cal])
    low, high = interval.predict(predicted[check], None if std is None else std[check],
                                 None if bins is None else bins[check])
    if section.min_value is not None:
        low, high = np.maximum(low, section.min_value), np.maximum(high, section.min_value)
    return low, high


def _calibrate_domain(section, X_train: np.ndarray, X_test: np.ndarray, test_groups: np.ndarray, seed: int,
                      extras: Extras) -> dict[str, Any]:
    """The threshold from half of the held-out groups, the in-domain share checked on the other half;
    then the threshold from all held-out groups."""
    check = group_holdout(test_groups, 0.5, seed + 2)
    half = ApplicabilityDomain.calibrate(X_train, X_test[~check], quantile=section.domain_quantile)
    share = float(half.in_domain(half.distance(X_test[check])).mean()) if check.any() else None
    extras.domain = ApplicabilityDomain.calibrate(X_train, X_test, quantile=section.domain_quantile)
    return {"quantile": section.domain_quantile, "k": extras.domain.k, "threshold": extras.domain.threshold,
            "in_domain_share_check": share, "n_check": int(check.sum()),
            "distance": "mean Euclidean distance to the k nearest training compositions, standardised features"}


def _by_source(source: np.ndarray, y: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Per source of held-out rows (SuperCon, negatives): median P(positive), share with P >= 0.5."""
    out = {}
    for name in np.unique(source):
        rows = source == name
        for label in np.unique(y[rows]):
            part = rows & (y == label)
            out[f"{name}, label {label}"] = {"n": int(part.sum()), "median_proba": float(np.median(proba[part])),
                                             "share_proba_ge_0.5": float((proba[part] >= 0.5).mean())}
    return out


def subset_compositions(materials, rows: np.ndarray) -> Compositions:
    """The compositions of ``rows`` of a predictor's materials (Compositions, or a table of structures
    with a 'formula' column)."""
    part = subset(materials, rows)
    return part if isinstance(part, Compositions) else Compositions.from_formulas(part["formula"].tolist())
