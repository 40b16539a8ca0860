"""Entry point ``generative`` of the ``sc_toolkit`` group: registers ``wgan-gp``, ``lim-wgan``,
``vae`` and ``diffusion`` (torch is imported only when they train or sample)."""

from sc_toolkit import hookimpl


@hookimpl
def register_generators(register):
    """Register the generators of this plugin."""
    from .diffusion import Diffusion
    from .lim import LimWGAN
    from .vae import VAE
    from .wgan import WGANGP

    for cls in (WGANGP, LimWGAN, VAE, Diffusion):
        register(cls)
