"""Input checks shared by every predictor of this plugin.

Predictors take a 2-D feature matrix ``X`` made by the recipe's encoder and a 1-D target ``y``.
Bad shapes, missing targets or too few classes are the user's input, so they raise
:class:`~sc_toolkit.UserError` with a hint rather than a library traceback.
"""

from __future__ import annotations

import numpy as np

from sc_toolkit import UserError


def as_features(X, *, n_features: int | None = None, allow_nan: bool = True) -> np.ndarray:
    """``X`` as a 2-D float array; checks the column count against ``n_features`` (the training
    width) and, when ``allow_nan`` is False, that every value is finite."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise UserError(
            f"features must be a 2-D matrix, got shape {X.shape}",
            hint="use an encoder that produces a matrix (e.g. element fractions)",
        )
    if n_features is not None and X.shape[1] != n_features:
        raise UserError(
            f"features have {X.shape[1]} columns but the predictor was trained on {n_features}",
            hint="encode with the same encoder and settings as for training",
        )
    if not allow_nan and not np.isfinite(X).all():
        raise UserError("features contain NaN or infinite values", hint="impute them in the encoder first")
    return X


def as_targets(y, n_rows: int, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Targets ready for training and, for classification, the sorted class labels.

    Regression gives float targets (all finite) and ``None``; classification gives each row's index
    into the returned ``classes`` array (at least two classes).
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_rows:
        raise UserError(f"targets must be 1-D with one value per feature row ({n_rows}), got shape {y.shape}")
    if task == "regression":
        y = y.astype(float)
        if not np.isfinite(y).all():
            raise UserError("regression targets contain NaN or infinite values", hint="drop those rows")
        return y, None
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise UserError(
            f"classification needs at least two classes, got only {classes.tolist()}",
            hint="check the label threshold or the training rows",
        )
    return index, classes


def ensemble_labels(members: np.ndarray, classes: np.ndarray, return_std: bool):
    """The label of the highest mean probability over ensemble members (``members``: shape
    (n_members, n_rows, n_classes)), and with ``return_std`` the members' std of that label's
    probability."""
    best = members.mean(axis=0).argmax(axis=1)
    labels = classes[best]
    if not return_std:
        return labels
    return labels, members[:, np.arange(len(best)), best].std(axis=0)
