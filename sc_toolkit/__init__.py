"""sc-toolkit: plugin-based machine learning for superconductor discovery.

This module is the declared Python API: the names in ``__all__`` (and the contract checks of
:mod:`sc_toolkit.testing`) are what plugins, benchmarks and notebooks may use; everything else in the
package is internal and may change. A test holds plugins to that line. See docs/api.md.

For plugin authors: the component base classes and ``Params``, ``hookimpl``, the errors a user sees,
the chemistry of compositions, progress/log helpers, datasets by name and grouped splits.

For users: ``run_recipe`` runs a recipe and returns a :class:`Run` (candidates, metrics, predict);
``open_run`` opens a finished run directory; ``load_registry`` lists every component.
"""

from __future__ import annotations

import os

# Idle OpenMP threads (LightGBM, XGBoost, torch) sleep instead of spinning, which otherwise starves
# the other threads on a small or shared machine. The OpenMP runtime reads this once, when the first
# library using it loads, so it is set here, before any plugin imports one (a value the user set wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from typing import TYPE_CHECKING, Any

from .chem import (
    N_ELEMENTS,
    SYMBOLS,
    Compositions,
    as_compositions,
    atomic_number,
    composition_key,
    format_formula,
    parse_formula,
    reduced_formula,
    superconductor_class,
)
from .components import (
    KINDS,
    Component,
    Encoder,
    Filter,
    Generator,
    Params,
    Predictor,
    Relaxation,
    Relaxer,
    StructureGenerator,
)
from .errors import DataError, FormulaError, SctkError, StepError, UserError, did_you_mean
from .hookspecs import hookimpl
from .metrics import group_holdout, regression_metrics, roc_auc
from .runtime import RunLike, log, progress, read_checkpoint, resolve_device, write_checkpoint
from .tasks import map_tasks, task_executor

if TYPE_CHECKING:
    from .run.api import Run

__version__ = "0.1.0"

#: Names resolved on first use, so that ``import sc_toolkit`` stays cheap (no pandas or rich at
#: import time for a plugin that only subclasses a component).
_LAZY = {
    "run_recipe": ("sc_toolkit.run.api", "run_recipe"),
    "open_run": ("sc_toolkit.run.api", "open_run"),
    "Run": ("sc_toolkit.run.api", "Run"),
    "load_registry": ("sc_toolkit.registry", "default_registry"),
    "load_dataset": ("sc_toolkit.data", "load"),
    "ConformalInterval": ("sc_toolkit.run.calibration", "ConformalInterval"),
    "ApplicabilityDomain": ("sc_toolkit.run.calibration", "ApplicabilityDomain"),
    "Dataset": ("sc_toolkit.data", "Dataset"),
    "DataFile": ("sc_toolkit.data", "DataFile"),
    "ReferenceHull": ("sc_toolkit.run.stability", "ReferenceHull"),
    "reference_phases": ("sc_toolkit.run.stability", "reference_phases"),
    "Shard": ("sc_toolkit.distributed", "Shard"),
    "data_parallel": ("sc_toolkit.distributed", "data_parallel"),
    "torchrun_launched": ("sc_toolkit.distributed", "torchrun_launched"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        value = getattr(import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sc_toolkit' has no attribute '{name}'")


__all__ = [
    "ApplicabilityDomain",
    "ConformalInterval",
    "KINDS",
    "N_ELEMENTS",
    "SYMBOLS",
    "Component",
    "Compositions",
    "DataError",
    "DataFile",
    "Dataset",
    "Encoder",
    "Filter",
    "FormulaError",
    "Generator",
    "Params",
    "Predictor",
    "ReferenceHull",
    "Relaxation",
    "Relaxer",
    "Run",
    "RunLike",
    "SctkError",
    "Shard",
    "StepError",
    "StructureGenerator",
    "UserError",
    "__version__",
    "as_compositions",
    "atomic_number",
    "composition_key",
    "data_parallel",
    "did_you_mean",
    "format_formula",
    "group_holdout",
    "hookimpl",
    "load_dataset",
    "load_registry",
    "log",
    "map_tasks",
    "open_run",
    "parse_formula",
    "progress",
    "read_checkpoint",
    "reduced_formula",
    "reference_phases",
    "regression_metrics",
    "resolve_device",
    "roc_auc",
    "run_recipe",
    "superconductor_class",
    "task_executor",
    "torchrun_launched",
    "write_checkpoint",
]
