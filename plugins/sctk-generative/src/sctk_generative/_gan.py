"""The critic step shared by the WGAN-GP generators (``wgan-gp``, ``lim-wgan``); imports torch, so
those generators import it inside ``fit``. Depends on no other module of this plugin."""

from __future__ import annotations

import torch


def critic_step(generator, critic, optimizer, real, onehot, noise, rng, gp_weight: float, autocast,
                part: slice = slice(None)):
    """One critic update: loss = -(E[c(real)] - E[c(fake)]) + gp_weight * E[(|grad c(mix)| - 1)^2]
    with mix a per-row random interpolation of real and fake rows (Gulrajani et al. 2017).
    Returns the detached (loss, Wasserstein estimate, penalty). With ``gp_weight = 0`` the penalty
    is not computed (returned as 0; the interpolation's random numbers are still drawn, so the noise
    stream does not depend on which steps are penalised): lazy regularisation penalises every k-th
    step with k times the weight. With ``part`` (data-parallel training), the loss is that of rows
    ``part`` of the batch, with the random numbers one process would draw for the whole batch."""
    whole = len(real)
    real, noise = real[part], noise[part]
    onehot = None if onehot is None else onehot[part]
    batch = len(real)
    with torch.no_grad(), autocast:
        fake = generator(noise, onehot).float()
    mix = torch.rand(whole, *([1] * (real.dim() - 1)), generator=rng, device=real.device)[part]
    with autocast:
        scores = critic(torch.cat([real, fake]), None if onehot is None else onehot.repeat(2, 1)).float()
    distance = scores[:batch].mean() - scores[batch:].mean()
    penalty = torch.zeros((), device=real.device)
    if gp_weight:
        between = (mix * real + (1 - mix) * fake).requires_grad_(True)
        with autocast:
            mixed = critic(between, onehot).float()
        (grad,) = torch.autograd.grad(mixed.sum(), between, create_graph=True)
        penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    loss = -distance + gp_weight * penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), distance.detach(), penalty.detach()
