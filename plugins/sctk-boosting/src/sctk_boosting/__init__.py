"""sctk-boosting: gradient-boosted tree ensembles (LightGBM, XGBoost), a k-nearest-neighbours
baseline and a feed-forward network ensemble, as sc-toolkit predictors on encoded feature matrices."""

from .knn import KNNPredictor
from .lightgbm_model import LightGBMPredictor
from .mlp import MLPPredictor
from .xgboost_model import XGBoostPredictor

__all__ = ["KNNPredictor", "LightGBMPredictor", "MLPPredictor", "XGBoostPredictor"]
