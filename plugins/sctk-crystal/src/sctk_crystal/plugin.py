"""Entry point ``crystal`` of the ``sc_toolkit`` group: the structure-aware components.

Registers the ``crystal-graph`` encoder and the ``sodnet`` predictor. Importing this module (or the
component modules) imports neither torch, e3nn, torch_geometric nor pymatgen: the components
import them when they run.
"""

from sc_toolkit import hookimpl


@hookimpl
def register_encoders(register):
    """Register :class:`~sctk_crystal.graphs.CrystalGraph`."""
    from .graphs import CrystalGraph

    register(CrystalGraph)


@hookimpl
def register_predictors(register):
    """Register :class:`~sctk_crystal.sodnet.SODNet`."""
    from .sodnet import SODNet

    register(SODNet)
