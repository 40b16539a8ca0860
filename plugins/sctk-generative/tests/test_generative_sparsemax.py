"""The sparsemax output of wgan-gp: exact zeros on the simplex."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative._nets import sparsemax  # noqa: E402
from sctk_generative.wgan import WGANGP  # noqa: E402


def test_sparsemax_is_the_euclidean_projection_onto_the_simplex():
    z = torch.tensor([[2.0, 1.0, -1.0], [0.1, 0.1, 0.1], [0.9, 0.8, 0.0]])
    p = sparsemax(z)
    # hand-worked: [1, 0, 0]; equal scores share equally; tau = (0.9 + 0.8 - 1) / 2 = 0.35
    assert torch.allclose(p, torch.tensor([[1.0, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.55, 0.45, 0.0]]))
    rows = sparsemax(3 * torch.randn(200, 96, generator=torch.Generator().manual_seed(0)))
    assert torch.allclose(rows.sum(-1), torch.ones(200)) and (rows >= 0).all() and (rows == 0).any(-1).all()


def test_wgan_with_sparsemax_output_writes_exact_zeros(real):
    X, labels = real
    model = WGANGP(epochs=2, batch_size=32, noise_dim=8, hidden=[32], critic_steps=2, output="sparsemax", device="cpu")
    check_generator(model, X, labels)
    samples = model.sample(100, condition="cuprate", random_state=0)
    assert np.allclose(samples.sum(axis=1), 1, atol=1e-5) and samples.min() >= 0
    assert (samples == 0).sum(axis=1).min() > 0, "absent elements are exactly zero"
