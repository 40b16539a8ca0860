"""sc-toolkit: plugin-based machine learning for superconductor discovery.

The public API for plugin authors is what this module exports; plugins import nothing else from the
core except :mod:`sc_toolkit.chem`, :mod:`sc_toolkit.data`, :mod:`sc_toolkit.progress` and
:mod:`sc_toolkit.testing`.
"""

from .components import Component, Encoder, Filter, Generator, Params, Predictor
from .errors import DataError, FormulaError, SctkError, StepError, UserError
from .hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "Component",
    "DataError",
    "Encoder",
    "Filter",
    "FormulaError",
    "Generator",
    "Params",
    "Predictor",
    "SctkError",
    "StepError",
    "UserError",
    "__version__",
    "hookimpl",
]
