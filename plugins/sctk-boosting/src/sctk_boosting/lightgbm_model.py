"""The ``lightgbm`` predictor: a bootstrap ensemble of LightGBM boosters (see :mod:`.ensemble`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from .ensemble import BoostedEnsemble, BoostingParams


class LightGBMParams(BoostingParams):
    """Ensemble parameters plus LightGBM's tree size."""

    num_leaves: int = Field(31, ge=2, description="maximum leaves per tree (LightGBM grows leaf-wise)")
    max_depth: int = Field(-1, ge=-1, description="maximum tree depth; -1 for no limit")
    min_child_samples: int = Field(10, ge=1, description="minimum training rows in a leaf")


class LightGBMPredictor(BoostedEnsemble):
    """Gradient-boosted trees (LightGBM), bootstrap ensemble with a std; regression or classification.

    Text model files (``model_to_string``) per member; deterministic for a given ``random_state``.
    """

    name = "lightgbm"
    Params: ClassVar[type[LightGBMParams]] = LightGBMParams
    requires = ("lightgbm",)
    library = "lightgbm"
    member_suffix = ".txt"
    citation = (
        "Ke, G. et al. LightGBM: A Highly Efficient Gradient Boosting Decision Tree. "
        "Advances in Neural Information Processing Systems 30 (NIPS 2017), 3146-3154."
    )

    def _train_member(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> Any:
        import lightgbm

        p = self.params
        if n_classes == 0:
            objective = {"objective": "regression"}
        elif n_classes == 2:
            objective = {"objective": "binary"}
        else:
            objective = {"objective": "multiclass", "num_class": n_classes}
        params = {
            **objective,
            "learning_rate": p.learning_rate,
            "num_leaves": p.num_leaves,
            "max_depth": p.max_depth,
            "min_child_samples": p.min_child_samples,
            "subsample": p.subsample,
            "subsample_freq": 1 if p.subsample < 1 else 0,
            "colsample_bytree": p.colsample,
            "num_threads": p.n_jobs,
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        return lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=p.n_estimators)

    def _predict_member(self, booster: Any, X: np.ndarray) -> np.ndarray:
        return booster.predict(X, num_threads=self.params.n_jobs)

    def _gain_member(self, booster: Any, n_features: int) -> np.ndarray:
        return booster.feature_importance(importance_type="gain").astype(float)

    def _write_member(self, booster: Any, path: Path) -> None:
        path.write_text(booster.model_to_string())

    def _read_member(self, path: Path) -> Any:
        import lightgbm

        return lightgbm.Booster(model_str=path.read_text())
