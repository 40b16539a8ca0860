"""Entry point of sctk-boosting: registers the ``lightgbm``, ``xgboost`` and ``knn`` predictors.

Importing this module imports neither LightGBM, XGBoost nor scikit-learn; the predictors import
them inside the methods that use them.
"""

from sc_toolkit import hookimpl

from .knn import KNNPredictor
from .lightgbm_model import LightGBMPredictor
from .xgboost_model import XGBoostPredictor


@hookimpl
def register_predictors(register):
    """Register the boosted-tree ensembles and the nearest-neighbours baseline."""
    register(LightGBMPredictor)
    register(XGBoostPredictor)
    register(KNNPredictor)
