"""diffusion: contract, cosine schedule, guidance, simplex projection, resume, warm start."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative.diffusion import Diffusion, cosine_alpha_bar  # noqa: E402

TINY = dict(epochs=2, batch_size=64, width=32, depth=1, timesteps=100, sampling_steps=10, device="cpu")


def same(a, b) -> bool:
    return all(torch.equal(u, v) for u, v in zip(a.denoiser_.state_dict().values(), b.denoiser_.state_dict().values()))


def test_cosine_schedule():
    alpha_bar = cosine_alpha_bar(1000)
    assert alpha_bar.shape == (1000,) and np.all(np.diff(alpha_bar) < 0)
    assert 0.999 < alpha_bar[0] < 1 and alpha_bar[-1] < 1e-4
    assert abs(alpha_bar[499] - 0.5) < 0.02, "the cosine schedule halves the signal near T / 2"


def test_contract_guidance_and_simplex(real):
    X, labels = real
    model = Diffusion(**TINY)
    check_generator(model, X, labels)
    guided = model.sample(20, condition="cuprate", random_state=0)
    assert np.allclose(guided.sum(1), 1, atol=1e-5) and guided.min() >= 0, "projected onto the simplex"
    assert not np.allclose(guided, model.sample(20, condition="other", random_state=0))
    unguided = Diffusion(**dict(TINY, guidance_scale=1.0))
    unguided.__dict__.update({k: v for k, v in model.__dict__.items() if k != "params"})
    assert not np.allclose(guided, unguided.sample(20, condition="cuprate", random_state=0)), "guidance acts"
    assert model.sample(5, random_state=1).shape == (5, 96), "no condition: the null-label model"
    full = Diffusion(**dict(TINY, sampling_steps=None, eta=1.0))
    full.__dict__.update({k: v for k, v in model.__dict__.items() if k != "params"})
    assert full.sample(3, random_state=0).shape == (3, 96)
    check_generator(Diffusion(**TINY), X)


def test_resume_and_warm_start(real, tmp_path, make_run):
    X, labels = real
    params = dict(TINY, epochs=3, checkpoint_every=1)
    straight = Diffusion(**params).fit(X, labels, run=make_run(tmp_path / "a"))
    with pytest.raises(KeyboardInterrupt):
        Diffusion(**params).fit(X, labels, run=make_run(tmp_path / "b", fail_at_epoch=2))
    resumed = Diffusion(**params).fit(X, labels, run=make_run(tmp_path / "b"))
    assert same(straight, resumed) and resumed.history_ == straight.history_

    pretrained = Diffusion(**TINY).fit(X[:150])
    tuned = Diffusion.load(pretrained.save(tmp_path / "p")).fit(X[150:])
    assert not same(tuned, Diffusion(**TINY).fit(X[150:]))
    assert same(tuned, pretrained.fit(X[150:]))
