"""Composition generators for sc-toolkit: ``wgan-gp`` (ScGAN), ``lim-wgan`` (Lim's conditional conv
WGAN-GP), ``vae`` and ``diffusion`` (SuperDiff-style).

Importing this package does not import torch; training and sampling do.
"""

__version__ = "0.1.0"
