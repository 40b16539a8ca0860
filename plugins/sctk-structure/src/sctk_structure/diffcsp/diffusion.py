"""Noise schedules and one step of each sampler of DiffCSP.

- Lattice: DDPM (Ho et al. 2020) on the (scaled) lattice matrix with the cosine schedule; the
  network predicts the noise eps.
- Fractional coordinates: score matching on the wrapped normal with sigmas growing geometrically
  from ``sigma_begin`` to ``sigma_end`` (t = 1..T); sampled by predictor-corrector: a Langevin
  corrector step at sigma_t, then a reverse-diffusion predictor step from sigma_t to sigma_{t-1}
  (Song et al. 2021), as DiffCSP does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .wrapped_normal import score_norm


@dataclass
class Schedules:
    """Tensors indexed by t = 0..T (index 0 is the clean data)."""

    betas: torch.Tensor
    alphas: torch.Tensor
    alpha_bars: torch.Tensor
    sigmas: torch.Tensor
    sigma_norms: torch.Tensor
    timesteps: int
    sigma_begin: float

    @classmethod
    def make(cls, timesteps: int, sigma_begin: float, sigma_end: float, s: float = 0.008) -> Schedules:
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = torch.cat([torch.zeros(1, dtype=torch.float64), (1 - f[1:] / f[:-1]).clamp(0, 0.999)])
        alphas = 1 - betas
        alpha_bars = torch.cumprod(alphas, 0)
        sigmas = torch.cat([
            torch.zeros(1, dtype=torch.float64),
            torch.exp(torch.linspace(math.log(sigma_begin), math.log(sigma_end), timesteps, dtype=torch.float64)),
        ])
        norms = torch.cat([torch.ones(1, dtype=torch.float64), score_norm(sigmas[1:])])
        as32 = lambda v: v.float()  # noqa: E731
        return cls(as32(betas), as32(alphas), as32(alpha_bars), as32(sigmas), as32(norms), timesteps, sigma_begin)


def noise_lattice(lattice: torch.Tensor, t: torch.Tensor, schedules: Schedules, noise: torch.Tensor) -> torch.Tensor:
    """L_t = sqrt(abar_t) L_0 + sqrt(1 - abar_t) eps, for lattices (B, 3, 3) and steps t (B,)."""
    a = schedules.alpha_bars[t][:, None, None]
    return a.sqrt() * lattice + (1 - a).sqrt() * noise


#: Bound on each entry of the predicted clean (scaled) lattice while sampling: real cells sit near
#: unit scale, and the clamp keeps an early, poorly predicted step from blowing the lattice up.
LATTICE_CLIP = 5.0


def lattice_step(lattice, eps, t: int, schedules: Schedules, noise) -> torch.Tensor:
    """One DDPM ancestral step L_t -> L_{t-1} from the predicted noise ``eps``, through the
    posterior q(L_{t-1} | L_t, L_0) at the predicted clean lattice L_0 (clamped to +-LATTICE_CLIP;
    unclamped it is the usual eps form)."""
    alpha, alpha_bar, beta = schedules.alphas[t], schedules.alpha_bars[t], schedules.betas[t]
    previous = schedules.alpha_bars[t - 1]
    clean = ((lattice - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()).clamp(-LATTICE_CLIP, LATTICE_CLIP)
    mean = (previous.sqrt() * beta * clean + alpha.sqrt() * (1 - previous) * lattice) / (1 - alpha_bar)
    if t == 1:
        return mean
    variance = beta * (1 - previous) / (1 - alpha_bar)
    return mean + variance.sqrt() * noise


def corrector_step(coords, score, t: int, schedules: Schedules, step_lr: float, noise) -> torch.Tensor:
    """Langevin step at sigma_t: x + eps score + sqrt(2 eps) z with eps = step_lr (sigma_t /
    sigma_begin)^2 (DiffCSP's step size), wrapped into [0, 1)."""
    step = step_lr * (schedules.sigmas[t] / schedules.sigma_begin) ** 2
    return (coords + step * score + (2 * step).sqrt() * noise).remainder(1.0)


def predictor_step(coords, score, t: int, schedules: Schedules, noise) -> torch.Tensor:
    """Reverse-diffusion step sigma_t -> sigma_{t-1} of the variance-exploding SDE, wrapped into
    [0, 1); the last step (t = 1) adds no noise."""
    sigma, previous = schedules.sigmas[t], schedules.sigmas[t - 1]
    step = sigma**2 - previous**2
    std = (previous**2 * step / sigma**2).sqrt()
    return (coords + step * score + std * noise).remainder(1.0)
