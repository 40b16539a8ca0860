"""Classifier-style guidance toward a target Tc (DiffCSP-SC).

A time-dependent regressor f(x_t, L_t, t) of standardised ln Tc defines log p(y* | x_t, L_t) =
-(f - y*)^2 / 2. Sampling adds ``scale`` times its gradient to the coordinate score, and subtracts
``scale`` sqrt(1 - abar_t) times its gradient from the lattice noise estimate (the score of the
lattice is -eps / sqrt(1 - abar_t)).
"""

from __future__ import annotations

import torch

from .cspnet import CrystalBatch, TcPredictor


def tc_log_likelihood_gradients(
    predictor: TcPredictor, batch: CrystalBatch, t: torch.Tensor, target: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of -(f - target)^2 / 2 (summed over crystals) with respect to the lattices (B, 3, 3)
    and the fractional coordinates (N, 3) of ``batch``; ``target`` is standardised ln Tc."""
    with torch.enable_grad():
        lattices = batch.lattices.detach().requires_grad_(True)
        coords = batch.coords.detach().requires_grad_(True)
        predicted = predictor(batch.replace(coords=coords, lattices=lattices), t)
        log_likelihood = -0.5 * ((predicted - target) ** 2).sum()
        grad_lattices, grad_coords = torch.autograd.grad(log_likelihood, [lattices, coords])
    return grad_lattices, grad_coords
