"""sctk-boosting: gradient-boosted tree ensembles (LightGBM, XGBoost) and a k-nearest-neighbours
baseline, as sc-toolkit predictors on encoded feature matrices."""

from .knn import KNNPredictor
from .lightgbm_model import LightGBMPredictor
from .xgboost_model import XGBoostPredictor

__all__ = ["KNNPredictor", "LightGBMPredictor", "XGBoostPredictor"]
