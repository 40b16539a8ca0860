"""The sparsemax output of wgan-gp and vae: exact zeros on the simplex, and the sparsemax loss."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative._nets import sparsemax, sparsemax_loss  # noqa: E402
from sctk_generative.vae import VAE  # noqa: E402
from sctk_generative.wgan import WGANGP  # noqa: E402


def test_sparsemax_is_the_euclidean_projection_onto_the_simplex():
    z = torch.tensor([[2.0, 1.0, -1.0], [0.1, 0.1, 0.1], [0.9, 0.8, 0.0]])
    p = sparsemax(z)
    # hand-worked: [1, 0, 0]; equal scores share equally; tau = (0.9 + 0.8 - 1) / 2 = 0.35
    assert torch.allclose(p, torch.tensor([[1.0, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.55, 0.45, 0.0]]))
    rows = sparsemax(3 * torch.randn(200, 96, generator=torch.Generator().manual_seed(0)))
    assert torch.allclose(rows.sum(-1), torch.ones(200)) and (rows >= 0).all() and (rows == 0).any(-1).all()


def test_sparsemax_loss_is_zero_at_the_target_and_its_gradient_is_p_minus_target():
    target = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.75, 0.0]])
    assert torch.allclose(sparsemax_loss(target, target), torch.zeros(2), atol=1e-7)
    z = torch.randn(2, 4, generator=torch.Generator().manual_seed(1), requires_grad=True)
    loss = sparsemax_loss(z, target)
    assert (loss > 0).all()
    loss.sum().backward()
    assert torch.allclose(z.grad, sparsemax(z.detach()) - target, atol=1e-6)


@pytest.mark.parametrize("model", [
    WGANGP(epochs=2, batch_size=32, noise_dim=8, hidden=[32], critic_steps=2, output="sparsemax", device="cpu"),
    VAE(epochs=2, batch_size=32, latent_dim=4, hidden=[32], output="sparsemax", device="cpu"),
], ids=["wgan-gp", "vae"])
def test_generators_with_sparsemax_output_write_exact_zeros(real, model):
    X, labels = real
    check_generator(model, X, labels)
    samples = model.sample(100, condition="cuprate", random_state=0)
    assert np.allclose(samples.sum(axis=1), 1, atol=1e-5) and samples.min() >= 0
    assert (samples == 0).sum(axis=1).min() > 0, "absent elements are exactly zero"
