"""The ``knn`` predictor: a k-nearest-neighbours baseline in the style of Roter & Dordevic (2020).

Roter & Dordevic predict superconductivity and Tc from composition alone: each material is a
vector of element amounts (or fractions) and a new material takes the targets of its nearest known
neighbours. Here the vectors come from the recipe's encoder (element amounts or element fractions);
scikit-learn's ``KNeighborsRegressor`` / ``KNeighborsClassifier`` do the search and the vote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sc_toolkit import Params, Predictor, UserError

from ._data import as_features, as_targets

METADATA = "knn.json"


class KNNParams(Params):
    """Parameters of the nearest-neighbours baseline."""

    task: Literal["regression", "classification"] = Field(
        "regression", description="'regression' (a number such as Tc) or 'classification' (labels)"
    )
    n_neighbors: int = Field(5, ge=1, description="neighbours that vote (k)")
    weights: Literal["uniform", "distance"] = Field(
        "distance", description="'uniform' votes, or 'distance': each neighbour weighted by 1 / distance"
    )
    metric: Literal["euclidean", "manhattan", "cosine"] = Field(
        "euclidean", description="distance between feature vectors"
    )
    n_jobs: int = Field(2, ge=1, description="CPU threads for the neighbour search")


class KNNPredictor(Predictor):
    """k-nearest neighbours on composition vectors (Roter & Dordevic 2020 baseline); regression or classification.

    ``predict(X, return_std=True)`` gives, for regression, the std of the k neighbours' targets;
    for classification, the std of whether each neighbour has the predicted label. The training
    matrix and targets are saved as ``.npy`` files (no pickle).
    """

    name = "knn"
    Params: ClassVar[type[KNNParams]] = KNNParams
    requires = ("sklearn",)
    supports_std = True

    def fit(self, X: np.ndarray, y: np.ndarray, *, groups=None, run=None) -> KNNPredictor:
        """Store the training rows (finite features) and fit the neighbour index; returns self.
        ``groups`` is accepted and unused (nothing is held out).

        Sets ``X_``, ``y_`` (targets, or class indices), ``n_features_in_``, ``estimator_`` and,
        for classifiers, ``classes_``.
        """
        X = as_features(X, allow_nan=False)
        target, classes = as_targets(y, len(X), self.task)
        if len(X) < self.params.n_neighbors:
            raise UserError(
                f"knn needs at least n_neighbors={self.params.n_neighbors} training rows, got {len(X)}",
                hint="lower n_neighbors",
            )
        self.X_, self.y_ = X, target
        self.n_features_in_ = X.shape[1]
        if classes is not None:
            self.classes_ = classes
        self.estimator_ = self._estimator().fit(X, target)
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):
        """The neighbours' (weighted) mean or vote, and with ``return_std`` their std."""
        X = self._features(X)
        prediction = self.estimator_.predict(X)
        if self.task == "classification":
            labels = self.classes_[prediction]
            if not return_std:
                return labels
            neighbours = self.y_[self.estimator_.kneighbors(X, return_distance=False)]
            return labels, (neighbours == prediction[:, None]).std(axis=1)
        if not return_std:
            return prediction
        neighbours = self.y_[self.estimator_.kneighbors(X, return_distance=False)]
        return prediction, neighbours.std(axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The neighbours' (weighted) vote share of each class, columns in ``classes_`` order."""
        if self.task != "classification":
            raise NotImplementedError("predictor 'knn' is a regressor; set task: classification")
        return self.estimator_.predict_proba(self._features(X))

    def citations(self) -> list[str]:
        return [
            "Roter, B. & Dordevic, S. V. Predicting new superconductors and their critical temperatures "
            "using machine learning. Physica C 575, 1353689 (2020).",
            "Pedregosa, F. et al. Scikit-learn: Machine Learning in Python. JMLR 12, 2825-2830 (2011).",
        ]

    def provenance(self) -> dict[str, Any]:
        import sklearn

        return {"scikit-learn": sklearn.__version__}

    def _estimator(self):
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        p = self.params
        cls = KNeighborsClassifier if self.task == "classification" else KNeighborsRegressor
        return cls(n_neighbors=p.n_neighbors, weights=p.weights, metric=p.metric, n_jobs=p.n_jobs)

    def _features(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise UserError("predictor 'knn' is not fitted", hint="call fit(X, y) first")
        return as_features(X, n_features=self.n_features_in_, allow_nan=False)

    def _save_state(self, directory: Path) -> None:
        if not hasattr(self, "estimator_"):
            return
        np.save(directory / "X.npy", self.X_, allow_pickle=False)
        np.save(directory / "y.npy", self.y_, allow_pickle=False)
        classes = self.classes_.tolist() if hasattr(self, "classes_") else None
        (directory / METADATA).write_text(json.dumps({"classes": classes}) + "\n")

    def _load_state(self, directory: Path) -> None:
        if not (directory / METADATA).exists():  # saved before fitting
            return
        classes = json.loads((directory / METADATA).read_text())["classes"]
        X = np.load(directory / "X.npy", allow_pickle=False)
        y = np.load(directory / "y.npy", allow_pickle=False)
        self.X_, self.y_ = X, y
        self.n_features_in_ = X.shape[1]
        if classes is not None:
            self.classes_ = np.asarray(classes)
        self.estimator_ = self._estimator().fit(X, y)
