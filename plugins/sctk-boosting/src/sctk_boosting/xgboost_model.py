"""The ``xgboost`` predictor: a bootstrap ensemble of XGBoost boosters (see :mod:`.ensemble`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from .ensemble import BoostedEnsemble, BoostingParams


class XGBoostParams(BoostingParams):
    """Ensemble parameters plus XGBoost's tree size."""

    max_depth: int = Field(6, ge=1, description="maximum tree depth (XGBoost grows depth-wise)")
    min_child_weight: float = Field(
        1.0, ge=0, description="minimum hessian sum in a leaf (rows in a leaf, for regression)"
    )


class XGBoostPredictor(BoostedEnsemble):
    """Gradient-boosted trees (XGBoost, hist), bootstrap ensemble with a std; regression or classification.

    JSON model files (``save_model``) per member; deterministic for a given ``random_state``.
    """

    name = "xgboost"
    Params: ClassVar[type[XGBoostParams]] = XGBoostParams
    requires = ("xgboost",)
    library = "xgboost"
    member_suffix = ".json"
    citation = (
        "Chen, T. & Guestrin, C. XGBoost: A Scalable Tree Boosting System. Proceedings of the 22nd "
        "ACM SIGKDD International Conference on Knowledge Discovery and Data Mining, 785-794 (2016). "
        "doi:10.1145/2939672.2939785"
    )

    def _train_member(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> Any:
        import xgboost

        p = self.params
        if n_classes == 0:
            objective = {"objective": "reg:squarederror"}
        elif n_classes == 2:
            objective = {"objective": "binary:logistic"}
        else:
            objective = {"objective": "multi:softprob", "num_class": n_classes}
        params = {
            **objective,
            "tree_method": "hist",
            "eta": p.learning_rate,
            "max_depth": p.max_depth,
            "min_child_weight": p.min_child_weight,
            "subsample": p.subsample,
            "colsample_bytree": p.colsample,
            "nthread": p.n_jobs,
            "seed": seed,
        }
        return xgboost.train(params, xgboost.DMatrix(X, label=y, nthread=p.n_jobs), num_boost_round=p.n_estimators)

    def _predict_member(self, booster: Any, X: np.ndarray) -> np.ndarray:
        import xgboost

        return booster.predict(xgboost.DMatrix(X, nthread=self.params.n_jobs))

    def _gain_member(self, booster: Any, n_features: int) -> np.ndarray:
        gain = np.zeros(n_features)
        for feature, value in booster.get_score(importance_type="total_gain").items():
            gain[int(feature[1:])] = value  # features are named f0, f1, ... without names
        return gain

    def _write_member(self, booster: Any, path: Path) -> None:
        booster.save_model(path)

    def _read_member(self, path: Path) -> Any:
        import xgboost

        booster = xgboost.Booster({"nthread": self.params.n_jobs})
        booster.load_model(path)
        return booster
