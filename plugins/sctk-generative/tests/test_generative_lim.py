"""lim-wgan: layer table shapes, contract on lim-matrix rows, 4:5 cycle, custom penalty, resume."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import UserError
from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative.lim import LimWGAN, custom_penalty  # noqa: E402

TINY = dict(epochs=1, batch_size=16, width=0.125, noise_dim=16, device="cpu")


def test_layer_table_shapes():
    from sctk_generative._nets import LimCritic, LimGenerator

    generator, critic = LimGenerator(128, 4), LimCritic(4)
    shapes, h = [], generator.fc(torch.zeros(2, 132)).view(2, 512, 1, 1)
    for layer in generator.body:
        h = layer(h)
        if isinstance(layer, torch.nn.ConvTranspose2d):
            shapes.append(tuple(h.shape[1:]))
    assert shapes == [(256, 3, 3), (128, 5, 5), (128, 5, 5), (64, 11, 11), (64, 11, 11), (32, 23, 11),
                      (32, 47, 11), (2, 94, 11)]
    h, shapes = torch.zeros(2, 6, 94, 11), []
    for layer in critic.body:
        h = layer(h)
        if isinstance(layer, torch.nn.Conv2d):
            shapes.append(tuple(h.shape[1:]))
    assert shapes == [(32, 47, 11), (32, 23, 11), (64, 11, 11), (64, 11, 11), (128, 5, 5), (128, 5, 5),
                      (256, 3, 3), (512, 1, 1)]
    assert critic(generator(torch.zeros(2, 128), torch.eye(4)[:2]), torch.eye(4)[:2]).shape == (2,)


def test_contract_conditional_on_lim_rows(lim_rows):
    X, labels = lim_rows
    model = LimWGAN(**TINY)
    check_generator(model, X, labels)
    assert model.classes_ == sorted(set(labels))
    samples = model.sample(6, condition="cuprate", random_state=0)
    assert samples.shape == (6, 2, 94, 11)
    assert np.allclose(samples[:, 0].sum(-1), 1, atol=1e-4) and ((samples[:, 1] >= 0) & (samples[:, 1] <= 1)).all()
    other = model.sample(6, condition="other", random_state=0)
    assert not np.allclose(samples, other), "the label changes the sample"
    row = model.history_[0]
    assert {"loss_critic", "loss_generator", "wasserstein", "gradient_penalty", "custom_penalty"} <= row.keys()
    with pytest.raises(UserError, match="94, 11"):
        LimWGAN(**TINY).fit(X[:, :, :90])


def test_custom_penalty_is_zero_on_real_rows(lim_rows):
    X, _ = lim_rows
    assert float(custom_penalty(torch.from_numpy(X[:, :, :, :]).clamp(max=1), 0.1, 0.005)) == 0.0
    blurred = torch.full((1, 2, 94, 11), 1 / 11)
    assert float(custom_penalty(blurred, 0.1, 0.005)) > 0.8


def test_cycle_of_four_generator_and_five_critic_steps(lim_rows, monkeypatch):
    X, labels = lim_rows
    calls = {"critic": 0, "generator": 0}
    original_step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        first = self.param_groups[0]["params"][0]  # the critic starts with a conv, the generator with Fc
        calls["critic" if first.dim() == 4 else "generator"] += 1
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    n = 16 * 5 * 2  # two cycles per epoch at batch 16
    LimWGAN(**TINY).fit(X[:n], labels[:n])
    assert calls == {"critic": 10, "generator": 8}


def test_interrupted_run_resumes_to_the_same_weights(lim_rows, tmp_path, make_run):
    X, labels = lim_rows
    params = dict(TINY, epochs=3, checkpoint_every=1)
    X, labels = X[:80], labels[:80]
    straight = LimWGAN(**params).fit(X, labels, run=make_run(tmp_path / "a"))
    with pytest.raises(KeyboardInterrupt):
        LimWGAN(**params).fit(X, labels, run=make_run(tmp_path / "b", fail_at_epoch=2))
    again = make_run(tmp_path / "b")
    resumed = LimWGAN(**params).fit(X, labels, run=again)
    assert any("resuming from epoch 1" in m for m in again.messages)
    assert resumed.history_ == straight.history_
    for a, b in zip(straight.generator_.state_dict().values(), resumed.generator_.state_dict().values()):
        assert torch.equal(a, b)


def test_slide_hyper_parameters_are_the_defaults():
    p = LimWGAN().params
    assert (p.batch_size, p.epochs, p.noise_dim, p.learning_rate, tuple(p.betas)) == (128, 500, 128, 1e-3, (0.5, 0.9))
    assert (p.generator_steps, p.critic_steps, p.gp_weight, p.custom_weight, p.theta_r, p.theta_b) == (
        4, 5, 10.0, 10.0, 0.1, 0.005)
    assert any("Lim" in c for c in LimWGAN().citations())
