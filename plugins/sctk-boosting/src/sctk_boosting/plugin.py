"""Entry point of sctk-boosting: registers the ``lightgbm``, ``xgboost``, ``knn`` and ``mlp``
predictors.

Importing this module imports neither LightGBM, XGBoost, scikit-learn nor torch; the predictors import
them inside the methods that use them.
"""

from sc_toolkit import hookimpl

from .knn import KNNPredictor
from .lightgbm_model import LightGBMPredictor
from .mlp import MLPPredictor
from .xgboost_model import XGBoostPredictor


@hookimpl
def register_predictors(register):
    """Register the boosted-tree ensembles, the nearest-neighbours baseline and the network ensemble."""
    register(LightGBMPredictor)
    register(XGBoostPredictor)
    register(KNNPredictor)
    register(MLPPredictor)
