"""Hold-out splits by composition group and metrics printed beside trivial baselines."""

from __future__ import annotations

import numpy as np


def group_holdout(
    groups: np.ndarray,
    fraction: float,
    seed: int | np.random.Generator | None,
    *,
    as_rows: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Hold out ``round(fraction * n_groups)`` of the distinct ``groups`` (e.g. composition keys), so
    that no group is on both sides of the split.

    The groups are taken in a seeded random order: ``seed`` is an integer (or None) for
    ``np.random.default_rng``, or a ``np.random.Generator`` to draw from (one permutation of the
    groups). Integer group labels are used as they are; any other labels as strings.

    Returns the boolean mask of held-out rows; with ``as_rows``, the index arrays (kept rows,
    held-out rows) instead, each listing its groups in the seeded order and a group's rows in row
    order. With one group per row, the held-out rows are ``rng.permutation(n)[:round(fraction n)]``.
    """
    groups = np.asarray(groups).reshape(-1)
    if groups.dtype.kind not in "iu":
        groups = groups.astype(str)
    unique, inverse = np.unique(groups, return_inverse=True)
    inverse = inverse.reshape(-1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    order = rng.permutation(len(unique))
    n_held = int(round(fraction * len(unique)))
    held_groups = np.zeros(len(unique), dtype=bool)
    held_groups[order[:n_held]] = True
    held = held_groups[inverse]
    if not as_rows:
        return held
    rank = np.empty(len(unique), dtype=int)
    rank[order] = np.arange(len(unique))
    rows = np.argsort(rank[inverse], kind="stable")  # groups in the seeded order, rows in row order
    return rows[~held[rows]], rows[held[rows]]


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
