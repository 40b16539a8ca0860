"""vae: contract, conditional sampling, KL warm-up, seeding, resume, warm start."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative.vae import VAE  # noqa: E402

TINY = dict(epochs=2, batch_size=64, hidden=[32], latent_dim=4, kl_warmup=4, device="cpu")


def same(a, b) -> bool:
    return all(torch.equal(u, v) for u, v in zip(a.vae_.state_dict().values(), b.vae_.state_dict().values()))


def test_contract_and_conditional_sampling(real):
    X, labels = real
    model = VAE(**TINY)
    check_generator(model, X, labels)
    samples = model.sample(10, condition="cuprate", random_state=0)
    assert np.allclose(samples.sum(1), 1, atol=1e-4) and samples.min() >= 0
    assert not np.allclose(samples, model.sample(10, condition="other", random_state=0))
    assert [round(h["beta"], 4) for h in model.history_] == [0.0125, 0.025], "KL warm-up: beta * epoch / kl_warmup"
    check_generator(VAE(**TINY), X)


def test_seed_resume_and_warm_start(real, tmp_path, make_run):
    X, labels = real
    assert same(VAE(**TINY, seed=3).fit(X), VAE(**TINY, seed=3).fit(X))
    params = dict(TINY, epochs=3, checkpoint_every=1)
    straight = VAE(**params).fit(X, labels, run=make_run(tmp_path / "a"))
    with pytest.raises(KeyboardInterrupt):
        VAE(**params).fit(X, labels, run=make_run(tmp_path / "b", fail_at_epoch=2))
    resumed = VAE(**params).fit(X, labels, run=make_run(tmp_path / "b"))
    assert same(straight, resumed) and resumed.history_ == straight.history_

    pretrained = VAE(**TINY).fit(X[:150], labels[:150])
    tuned = VAE.load(pretrained.save(tmp_path / "p")).fit(X[150:], labels[150:])
    assert not same(tuned, VAE(**TINY).fit(X[150:], labels[150:]))
    assert same(tuned, pretrained.fit(X[150:], labels[150:]))
