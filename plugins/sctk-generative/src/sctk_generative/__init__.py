"""Composition generators for sc-toolkit: ``wgan-gp`` (see :mod:`sctk_generative.wgan`).

Importing this package does not import torch; training and sampling do.
"""

__version__ = "0.1.0"
