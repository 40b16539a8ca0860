"""Bootstrap ensembles of gradient-boosted trees: the part shared by the LightGBM and XGBoost
predictors.

A subclass supplies its parameters and five small library hooks (train one booster, predict with
it, read its gain importance, write and read it as a text model file); this base does the rest:

- ``fit`` trains ``n_models`` boosters, each on a bootstrap resample of the rows (stratified by
  class for classifiers; one model on all rows when ``n_models`` is 1). Member ``m`` draws its rows
  and its library seed from ``SeedSequence(random_state).spawn(n_models)[m]``, so the same
  ``random_state`` gives the same ensemble. The members are independent tasks
  (:func:`sc_toolkit.map_tasks`): one after the other in this process, or Ray tasks of ``n_jobs``
  CPUs each on a run with ``[run] executor = "ray"``, with the same boosters either way.
- Regression predicts the mean of the members and, with ``return_std``, their standard deviation
  (0 for a single model). With ``log_target`` every member learns ln(1 + y); its predictions are
  mapped back with exp(p) - 1 before the mean and std are taken, so both are in the target's unit.
- Classification averages the members' class probabilities; ``predict`` gives the most probable
  label and, with ``return_std``, the std across members of that label's probability.
- ``save`` writes one text/JSON model file per member plus ``ensemble.json`` (classes, feature
  count, importances, library version); nothing is pickled.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sc_toolkit import Params, Predictor, UserError
from sc_toolkit import map_tasks, progress

from ._data import as_features, as_targets, ensemble_labels

METADATA = "ensemble.json"


class BoostingParams(Params):
    """Parameters common to the boosted-tree ensembles."""

    task: Literal["regression", "classification"] = Field(
        "regression", description="'regression' (a number such as Tc) or 'classification' (labels)"
    )
    n_estimators: int = Field(500, ge=1, description="boosting rounds (trees) per ensemble member")
    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage applied to each tree")
    subsample: float = Field(0.8, gt=0, le=1, description="fraction of rows each tree sees")
    colsample: float = Field(0.8, gt=0, le=1, description="fraction of feature columns each tree sees")
    log_target: bool = Field(
        False,
        description="regression only: fit on ln(1 + y) and predict back in y's unit (needs y > -1)",
    )
    n_models: int = Field(
        5, ge=1, description="bootstrap ensemble members; their spread is the std (1: no bootstrap, std 0)"
    )
    n_jobs: int = Field(2, ge=1, description="CPU threads used by the library")
    random_state: int = Field(0, ge=0, description="seed of the bootstrap resamples and of the trees")

    @model_validator(mode="after")
    def _log_target_needs_regression(self) -> BoostingParams:
        if self.log_target and self.task != "regression":
            raise ValueError("log_target applies to regression only; drop it or set task: regression")
        return self


class BoostedEnsemble(Predictor):
    """Base of the boosted-tree predictors (not registered itself)."""

    Params: ClassVar[type[BoostingParams]] = BoostingParams
    supports_std = True
    quick: ClassVar[dict[str, Any]] = {"n_estimators": 100, "n_models": 2}
    #: Suffix of one member's model file (".txt", ".json").
    member_suffix: ClassVar[str]
    #: Importable name of the library, for its version.
    library: ClassVar[str]
    #: Reference of the library's paper.
    citation: ClassVar[str]

    # --- library hooks -----------------------------------------------------------------------

    @abstractmethod
    def _train_member(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> Any:
        """A booster trained on ``X``, ``y`` (class indices when ``n_classes`` > 0) with ``seed``."""

    @abstractmethod
    def _predict_member(self, booster: Any, X: np.ndarray) -> np.ndarray:
        """Regression values (n,), or probabilities: of class 1 (n,) when binary, else (n, k)."""

    @abstractmethod
    def _gain_member(self, booster: Any, n_features: int) -> np.ndarray:
        """Total gain of each of the ``n_features`` columns in ``booster`` (0 when unused)."""

    @abstractmethod
    def _write_member(self, booster: Any, path: Path) -> None:
        """Write ``booster`` as a text or JSON model file at ``path``."""

    @abstractmethod
    def _read_member(self, path: Path) -> Any:
        """Read a booster written by :meth:`_write_member`."""

    # --- the predictor contract --------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray, *, groups=None, run=None) -> BoostedEnsemble:
        """Train the ensemble on features ``X`` (NaN allowed) and targets ``y``; returns self.
        ``groups`` is accepted and unused: no rows are held out (members are not early-stopped).

        Sets ``models_`` (the boosters), ``n_features_in_``, ``feature_importances_`` (mean
        normalised total gain of each column, summing to 1 unless no tree split at all) and, for
        classifiers, ``classes_``.
        """
        p = self.params
        X = as_features(X)
        target, classes = as_targets(y, len(X), p.task)
        if p.task == "regression" and p.log_target:
            if np.any(target <= -1):
                raise UserError("log_target needs every target > -1", hint="set log_target: false")
            target = np.log1p(target)
        n_classes = 0 if classes is None else len(classes)
        members = np.random.SeedSequence(p.random_state).spawn(p.n_models)
        models, gains = [], []
        with progress(run, f"training {self.name}", total=p.n_models) as bar:
            for booster, gain in map_tasks(run, self._fit_member, members, shared=(X, target, n_classes),
                                           cpus=p.n_jobs):
                models.append(booster)
                gains.append(gain)
                bar.advance()
        self.models_ = models
        self.n_features_in_ = X.shape[1]
        self.feature_importances_ = _normalised(np.mean(gains, axis=0))
        if classes is not None:
            self.classes_ = classes
        return self

    def _fit_member(self, member: np.random.SeedSequence, data: tuple, run=None) -> tuple[Any, np.ndarray]:
        """One member, a function of its arguments only: (booster, normalised gain per column) trained
        on the bootstrap rows and library seed drawn from ``member``; ``data`` is (X, target, n_classes)."""
        X, target, n_classes = data
        rng = np.random.default_rng(member)
        rows = _bootstrap(rng, target if n_classes else None, len(X)) if self.params.n_models > 1 else slice(None)
        seed = int(rng.integers(2**31 - 1))
        booster = self._train_member(X[rows], target[rows], n_classes, seed)
        return booster, _normalised(self._gain_member(booster, X.shape[1]))

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Regression: the ensemble mean (and the members' std). Classification: the most
        probable label (and the members' std of that label's probability)."""
        if self.task == "classification":
            return ensemble_labels(self._member_probabilities(X), self.classes_, return_std)
        X = self._features(X)
        members = np.stack([self._predict_member(b, X) for b in self.models_])
        if self.params.log_target:
            members = np.expm1(members)
        mean = members.mean(axis=0)
        return (mean, members.std(axis=0)) if return_std else mean

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Mean class probabilities across members, shape (n, n_classes), columns in ``classes_``
        order (classifiers only)."""
        if self.task != "classification":
            raise NotImplementedError(f"predictor '{self.name}' is a regressor; set task: classification")
        return self._member_probabilities(X).mean(axis=0)

    def citations(self) -> list[str]:
        return [self.citation]

    def provenance(self) -> dict[str, Any]:
        return {self.library: _version(self.library)}

    # --- helpers -----------------------------------------------------------------------------

    def _features(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "models_"):
            raise UserError(f"predictor '{self.name}' is not fitted", hint="call fit(X, y) first")
        return as_features(X, n_features=self.n_features_in_)

    def _member_probabilities(self, X: np.ndarray) -> np.ndarray:
        """(n_models, n, n_classes) probabilities."""
        X = self._features(X)
        out = []
        for booster in self.models_:
            proba = self._predict_member(booster, X)
            out.append(np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba)
        return np.stack(out)

    def _save_state(self, directory: Path) -> None:
        if not hasattr(self, "models_"):
            return
        for i, booster in enumerate(self.models_):
            self._write_member(booster, directory / f"member-{i:03d}{self.member_suffix}")
        metadata = {
            "n_models": len(self.models_),
            "n_features_in": self.n_features_in_,
            "feature_importances": self.feature_importances_.tolist(),
            "classes": self.classes_.tolist() if hasattr(self, "classes_") else None,
            "library_version": _version(self.library),
        }
        (directory / METADATA).write_text(json.dumps(metadata, indent=2) + "\n")

    def _load_state(self, directory: Path) -> None:
        path = directory / METADATA
        if not path.exists():  # saved before fitting
            return
        metadata = json.loads(path.read_text())
        self.models_ = [
            self._read_member(directory / f"member-{i:03d}{self.member_suffix}")
            for i in range(metadata["n_models"])
        ]
        self.n_features_in_ = metadata["n_features_in"]
        self.feature_importances_ = np.asarray(metadata["feature_importances"])
        if metadata["classes"] is not None:
            self.classes_ = np.asarray(metadata["classes"])


def _bootstrap(rng: np.random.Generator, classes: np.ndarray | None, n: int) -> np.ndarray:
    """Row indices of a bootstrap resample; within each class when ``classes`` is given, so that
    every member sees every class."""
    if classes is None:
        return rng.integers(n, size=n)
    groups = [np.flatnonzero(classes == c) for c in np.unique(classes)]
    return np.concatenate([rng.choice(g, size=len(g)) for g in groups])


def _normalised(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    return values / total if total > 0 else values


def _version(module: str) -> str:
    import importlib

    return importlib.import_module(module).__version__
