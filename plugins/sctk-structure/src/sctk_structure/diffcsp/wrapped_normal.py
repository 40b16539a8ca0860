"""The wrapped normal distribution on the unit circle [0, 1): the noise of fractional coordinates.

A fractional coordinate x0 noised with ``sigma`` is x_t = (x0 + sigma * n) mod 1, n ~ N(0, 1); its
density is the normal density summed over the periodic images, and the score of x_t given x0 is
:func:`wrapped_normal_score` of the displacement x_t - x0. Both are periodic with period 1.
"""

from __future__ import annotations

import torch

#: Periodic images summed on each side (sigma <= 1 needs far fewer; the sum is exact to float32).
N_IMAGES = 3


def wrapped_normal_score(displacement: torch.Tensor, sigma: torch.Tensor, n_images: int = N_IMAGES) -> torch.Tensor:
    """d/dx log sum_k N(x + k; 0, sigma^2) at x = ``displacement`` (elementwise; ``sigma`` broadcasts
    against it). Periodic in ``displacement`` with period 1."""
    shifts = torch.arange(-n_images, n_images + 1, dtype=displacement.dtype, device=displacement.device)
    d = displacement.remainder(1.0)[..., None] + shifts
    sigma = sigma[..., None]
    weights = torch.softmax(-(d**2) / (2 * sigma**2), dim=-1)
    return -(weights * d).sum(-1) / sigma.squeeze(-1) ** 2


def score_norm(sigma: torch.Tensor, grid: int = 4001) -> torch.Tensor:
    """E[score^2] under the wrapped normal of each ``sigma`` (a 1-D tensor), by quadrature over one
    period: DiffCSP divides the target score by its square root so that every noise level weighs
    about the same in the loss."""
    x = torch.linspace(-0.5, 0.5, grid, dtype=torch.float64)[None, :]
    s = sigma.double()[:, None].expand(-1, grid)
    shifts = torch.arange(-N_IMAGES, N_IMAGES + 1, dtype=torch.float64)
    d = x[..., None] + shifts
    density = torch.exp(-(d**2) / (2 * s[..., None] ** 2)).sum(-1) / (s * (2 * torch.pi) ** 0.5)
    score = wrapped_normal_score(x.expand_as(s), s)
    values = density * score**2
    return torch.trapezoid(values, x.expand_as(s), dim=-1).to(sigma.dtype)
