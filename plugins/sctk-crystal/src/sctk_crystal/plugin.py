"""Entry point ``crystal`` of the ``sc_toolkit`` group: the structure-aware components.

Registers the ``crystal-graph`` encoder and the ``sodnet`` and ``alpha2f-ensemble`` predictors. Importing this module (or the
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
    """Register :class:`~sctk_crystal.sodnet.SODNet` and :class:`~sctk_crystal.alpha2f.Alpha2FEnsemble`."""
    from .alpha2f import Alpha2FEnsemble
    from .sodnet import SODNet

    register(SODNet)
    register(Alpha2FEnsemble)
