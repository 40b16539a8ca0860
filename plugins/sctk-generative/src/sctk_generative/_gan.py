"""Steps shared by the WGAN-GP generators (``wgan-gp``, ``lim-wgan``); imports torch."""

from __future__ import annotations

import numpy as np
import torch

from ._common import SAMPLE_BATCH


def critic_step(generator, critic, optimizer, real, onehot, noise, rng, gp_weight: float, autocast):
    """One critic update: loss = -(E[c(real)] - E[c(fake)]) + gp_weight * E[(|grad c(mix)| - 1)^2]
    with mix a per-row random interpolation of real and fake rows (Gulrajani et al. 2017).
    Returns the detached (loss, Wasserstein estimate, penalty)."""
    batch = len(real)
    with torch.no_grad(), autocast:
        fake = generator(noise, onehot).float()
    mix = torch.rand(batch, *([1] * (real.dim() - 1)), generator=rng, device=real.device)
    between = (mix * real + (1 - mix) * fake).requires_grad_(True)
    with autocast:
        scores = critic(torch.cat([real, fake, between]), None if onehot is None else onehot.repeat(3, 1)).float()
    (grad,) = torch.autograd.grad(scores[2 * batch :].sum(), between, create_graph=True)
    penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    distance = scores[:batch].mean() - scores[batch : 2 * batch].mean()
    loss = -distance + gp_weight * penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), distance.detach(), penalty.detach()


def sample_generator(model, generator, n_samples: int, codes, rng, device) -> np.ndarray:
    """``n_samples`` rows of ``generator`` (noise from ``model._noise``), in batches, float32 numpy
    shaped like the training rows."""
    generator.to(device)
    n_classes = len(model.classes_)
    out = np.empty((n_samples, int(np.prod(model.feature_shape_))), dtype=np.float32)
    use_amp = model.params.amp and device.type == "cuda"
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
        for start in range(0, n_samples, SAMPLE_BATCH):
            stop = min(start + SAMPLE_BATCH, n_samples)
            onehot = None
            if codes is not None:
                onehot = torch.nn.functional.one_hot(codes[start:stop], n_classes).float()
            rows = generator(model._noise(stop - start, rng, device), onehot)
            out[start:stop] = rows.float().reshape(stop - start, -1).cpu().numpy()
    return out.reshape(n_samples, *model.feature_shape_)
