"""What a predictor knows about its own predictions: conformal intervals and an applicability domain.

Both are calibrated on composition groups that the model being calibrated never saw (the runner's
hold-out split), saved beside the predictor as plain arrays (``.npz``, never pickled) and applied to
every later prediction:

- :class:`ConformalInterval`: split-conformal prediction intervals from crepes'
  ``ConformalRegressor``, normalised by the model's own spread (``predict(..., return_std=True)``)
  when it has one, and Mondrian by superconductor family (cuprate, iron-based, other) so that each
  family gets the nominal coverage, not only the pool. An interval covers the true value with the
  stated probability for compositions exchangeable with the calibration groups.
- :class:`ApplicabilityDomain`: the mean Euclidean distance, in standardised encoder features, from a
  composition to its ``k`` nearest training compositions; a composition is in the domain when that
  distance is at most the ``quantile`` of the same distance over held-out compositions (so about
  ``1 - quantile`` of compositions like the held-out ones fall outside).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chem import Compositions, superconductor_class

#: Bins of the Mondrian intervals: the superconductor family of each composition (ScGAN's classes).
FAMILY_SCHEME = "scgan"


def families(compositions: Compositions) -> np.ndarray:
    """The superconductor family of each composition: 'cuprate', 'iron-based' or 'other'."""
    if not len(compositions):
        return np.zeros(0, dtype=object)
    return np.asarray(superconductor_class(compositions, scheme=FAMILY_SCHEME), dtype=object)


@dataclass
class ConformalInterval:
    """Calibrated residuals of a regressor and the level its intervals are given at.

    ``residuals``: true - predicted values on the calibration rows; ``sigmas``: the model's spread
    on them plus ``beta`` (None for plain intervals); ``bins``: their family (None: one bin)."""

    level: float
    residuals: np.ndarray
    sigmas: np.ndarray | None
    bins: np.ndarray | None
    beta: float = 0.0

    @classmethod
    def calibrate(cls, level: float, y_true: np.ndarray, y_pred: np.ndarray, std: np.ndarray | None,
                  bins: np.ndarray | None) -> ConformalInterval:
        """Intervals at ``level`` from calibration rows never trained on. The spread is offset by
        its median (``beta``) so that rows with a near-zero spread do not get near-zero intervals."""
        beta = float(np.median(std)) if std is not None and len(std) else 0.0
        sigmas = None if std is None else np.asarray(std, dtype=float) + beta
        return cls(level, np.asarray(y_true, float) - np.asarray(y_pred, float), sigmas,
                   None if bins is None else np.asarray(bins, dtype=str), beta)

    def _regressor(self):
        from crepes import ConformalRegressor

        return ConformalRegressor().fit(self.residuals, sigmas=self.sigmas, bins=self.bins)

    def predict(self, y_pred: np.ndarray, std: np.ndarray | None, bins: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bounds around ``y_pred``. A family absent from the calibration rows gets the
        pooled interval (crepes needs every bin calibrated)."""
        y_pred = np.asarray(y_pred, dtype=float)
        if not len(y_pred):
            return np.zeros(0), np.zeros(0)
        sigmas = None if self.sigmas is None else np.asarray(std, dtype=float) + self.beta
        if self.bins is not None and bins is not None:
            bins = np.asarray(bins, dtype=str)
            known = np.isin(bins, np.unique(self.bins))
            if not known.all():
                pooled = ConformalInterval(self.level, self.residuals, self.sigmas, None, self.beta)
                low, high = pooled.predict(y_pred, std, None)
                if known.any():
                    part = self.predict(y_pred[known], None if std is None else np.asarray(std)[known], bins[known])
                    low[known], high[known] = part
                return low, high
        else:
            bins = None
        bounds = self._regressor().predict_int(y_pred, sigmas=sigmas, bins=bins, confidence=self.level)
        return bounds[:, 0], bounds[:, 1]

    def save(self, path: Path) -> None:
        arrays = {"level": np.array(self.level), "residuals": self.residuals, "beta": np.array(self.beta)}
        if self.sigmas is not None:
            arrays["sigmas"] = self.sigmas
        if self.bins is not None:
            arrays["bins"] = self.bins.astype(str)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> ConformalInterval:
        with np.load(path, allow_pickle=False) as data:
            return cls(float(data["level"]), data["residuals"], data["sigmas"] if "sigmas" in data else None,
                       data["bins"] if "bins" in data else None, float(data["beta"]))


@dataclass
class ApplicabilityDomain:
    """Standardised training features and the distance beyond which a composition is out of domain."""

    mean: np.ndarray
    scale: np.ndarray
    reference: np.ndarray
    threshold: float
    k: int = 5
    quantile: float = 0.95

    @classmethod
    def calibrate(cls, train: np.ndarray, held_out: np.ndarray, *, k: int = 5, quantile: float = 0.95,
                  reference: np.ndarray | None = None) -> ApplicabilityDomain:
        """The threshold is the ``quantile`` of the held-out rows' distance to the ``train`` rows;
        later compositions are measured against ``reference`` (default: ``train``; the runner passes
        every training row, as the saved model was fitted on all of them)."""
        reference = train if reference is None else reference
        mean, scale = _standardisation(np.asarray(reference, dtype=float))
        probe = cls(mean, scale, _standardised(train, mean, scale), np.inf, k, quantile)
        threshold = float(np.quantile(probe.distance(held_out), quantile)) if len(held_out) else np.inf
        return cls(mean, scale, _standardised(reference, mean, scale), threshold, k, quantile)

    def with_reference(self, reference: np.ndarray) -> ApplicabilityDomain:
        """The same standardisation and threshold, measured against ``reference`` rows (the runner
        passes every training row of the saved model; distances to more rows are smaller, so slightly
        more compositions fall inside than the calibrated quantile says)."""
        return ApplicabilityDomain(self.mean, self.scale, _standardised(reference, self.mean, self.scale),
                                   self.threshold, self.k, self.quantile)

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Mean Euclidean distance of each row to its ``k`` nearest reference rows (standardised)."""
        from sklearn.neighbors import NearestNeighbors

        if not len(X):
            return np.zeros(0)
        k = min(self.k, len(self.reference))
        index = NearestNeighbors(n_neighbors=k).fit(self.reference)
        distances, _ = index.kneighbors(_standardised(X, self.mean, self.scale))
        return distances.mean(axis=1)

    def in_domain(self, distance: np.ndarray) -> np.ndarray:
        return np.asarray(distance) <= self.threshold

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, scale=self.scale, reference=self.reference,
                 threshold=np.array(self.threshold), k=np.array(self.k), quantile=np.array(self.quantile))

    @classmethod
    def load(cls, path: Path) -> ApplicabilityDomain:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["mean"], data["scale"], data["reference"], float(data["threshold"]), int(data["k"]),
                       float(data["quantile"]))


def _standardisation(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales (a constant or missing column gets scale 1, so it adds no distance)."""
    X = np.where(np.isfinite(X), X, np.nan)
    mean = np.nan_to_num(np.nanmean(X, axis=0), nan=0.0)
    scale = np.nan_to_num(np.nanstd(X, axis=0), nan=1.0)
    scale[scale == 0] = 1.0
    return mean, scale


def _standardised(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardised rows; a missing or infinite feature sits at the mean (adds no distance)."""
    Z = (np.asarray(X, dtype=float) - mean) / scale
    return np.nan_to_num(Z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
