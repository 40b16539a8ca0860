"""Entry point ``structure`` of the ``sc_toolkit`` group: structure generators and relaxers.

Importing this module imports neither torch, pymatgen nor chgnet: the components import them when
they run.
"""

from sc_toolkit import hookimpl


@hookimpl
def register_structure_generators(register):
    """Register the structure generators of this plugin."""
    from .diffcsp.model import DiffCSP
    from .prototype import Prototype

    register(DiffCSP)
    register(Prototype)


@hookimpl
def register_relaxers(register):
    """Register the relaxers of this plugin."""
    from .relax import CHGNetRelaxer

    register(CHGNetRelaxer)
