"""Hold-out splits by composition group and metrics printed beside trivial baselines."""

from __future__ import annotations

import numpy as np


def group_holdout(groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask holding out ``fraction`` of the distinct ``groups`` (seeded), so that no
    composition is on both sides of the split."""
    unique, inverse = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    rng = np.random.default_rng(seed)
    n_test = int(round(fraction * len(unique)))
    test_groups = np.zeros(len(unique), dtype=bool)
    test_groups[rng.permutation(len(unique))[:n_test]] = True
    return test_groups[inverse]


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and R2."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    error = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": 1.0 - float(np.sum(error**2)) / ss_tot if ss_tot > 0 else float("nan"),
    }


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of binary labels (Mann-Whitney form; ties count one half)."""
    y_true = np.asarray(y_true, bool)
    n_pos, n_neg = int(y_true.sum()), int((~y_true).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = np.asarray(score)[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None) -> dict[str, float]:
    """Accuracy, and ROC-AUC of the positive-class probability for binary labels."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {"accuracy": float(np.mean(y_true == y_pred))}
    if proba is not None and len(np.unique(y_true)) == 2:
        out["roc_auc"] = roc_auc(y_true == np.max(y_true), proba)
    return out


def regression_report(y_train, y_test, y_pred) -> dict[str, dict[str, float]]:
    """Metrics of the model beside predicting the training median and the training mean."""
    return {
        "model": regression_metrics(y_test, y_pred),
        "baseline_median": regression_metrics(y_test, np.full(len(y_test), np.median(y_train))),
        "baseline_mean": regression_metrics(y_test, np.full(len(y_test), np.mean(y_train))),
    }


def classification_report(y_train, y_test, y_pred, proba) -> dict[str, dict[str, float]]:
    """Metrics of the model beside always predicting the training majority class."""
    values, counts = np.unique(y_train, return_counts=True)
    majority = values[np.argmax(counts)]
    return {
        "model": classification_metrics(y_test, y_pred, proba),
        "baseline_majority": classification_metrics(
            y_test, np.full(len(y_test), majority), np.full(len(y_test), 0.5)
        ),
    }
