"""Entry point ``generative`` of the ``sc_toolkit`` group: registers the ``wgan-gp`` generator."""

from sc_toolkit import hookimpl


@hookimpl
def register_generators(register):
    """Register :class:`~sctk_generative.wgan.WGANGP` (torch is imported only when it trains)."""
    from .wgan import WGANGP

    register(WGANGP)
