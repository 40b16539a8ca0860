"""wgan-gp on real SuperCon rows: contract, conditioning, errors, seeding, checkpoint resume."""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import UserError
from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative.wgan import CHECKPOINT_FILE, WGANGP  # noqa: E402

TINY = dict(epochs=2, batch_size=32, noise_dim=8, hidden=[32], critic_steps=2, device="cpu")


def weights(model: WGANGP) -> list[np.ndarray]:
    return [t.detach().numpy().copy() for t in model.generator_.state_dict().values()]


def test_contract_unconditional_real_rows(real):
    X, _ = real
    model = WGANGP(**TINY)
    check_generator(model, X)
    samples = model.sample(50, random_state=0)
    assert samples.dtype == np.float32
    assert np.allclose(samples.sum(axis=1), 1, atol=1e-4) and samples.min() >= 0, "softmax rows on the simplex"
    assert [h["epoch"] for h in model.history_] == [1, 2]
    assert {"loss_critic", "loss_generator"} <= model.history_[0].keys()


def test_contract_conditional_and_3d_shape(real):
    X, labels = real
    check_generator(WGANGP(**TINY), X, labels)
    present = (X > 0).astype(np.float32)
    X3 = np.stack([1 - present, present], axis=-1)  # (n, 96, 2): a one-hot "absent/present" per element
    model = WGANGP(**TINY).fit(X3, labels)
    samples = model.sample(5, condition="cuprate", random_state=1)
    assert samples.shape == (5, 96, 2)
    assert np.allclose(samples.sum(axis=-1), 1, atol=1e-4), "softmax along the last axis"


def test_conditional_sampling_with_labels(real):
    X, labels = real
    model = WGANGP(**TINY).fit(X, labels)
    assert model.classes_ == ["cuprate", "other", "pnictide"]
    per_row = np.array(["cuprate", "pnictide"] * 5)
    samples = model.sample(10, condition=per_row, random_state=0)
    assert samples.shape == (10, 96)
    one = model.sample(10, condition="cuprate", random_state=0)
    assert np.allclose(samples[::2], one[::2]) and not np.allclose(samples[1::2], one[1::2]), (
        "the same noise with another label gives another sample"
    )
    assert model.sample(4, random_state=0).shape == (4, 96), "no condition: classes in training proportions"


def test_condition_errors(real):
    X, labels = real
    conditional = WGANGP(**dict(TINY, epochs=1)).fit(X, labels)
    with pytest.raises(UserError, match="unknown condition") as error:
        conditional.sample(3, condition="heavy-fermion")
    assert "cuprate, other, pnictide" in error.value.hint
    with pytest.raises(UserError, match="one label or 3 labels"):
        conditional.sample(3, condition=["cuprate", "other"])
    unconditional = WGANGP(**dict(TINY, epochs=1)).fit(X)
    with pytest.raises(UserError, match="without labels"):
        unconditional.sample(3, condition="cuprate")
    with pytest.raises(UserError, match="not fitted"):
        WGANGP().sample(3)
    with pytest.raises(UserError, match="one label per row"):
        WGANGP(**TINY).fit(X, labels[:-1])
    with pytest.raises(UserError, match="softmax"):
        WGANGP(**TINY).fit(X * 2)


def test_same_seed_same_weights_other_seed_other_weights(real):
    X, _ = real
    a, b = WGANGP(**TINY, seed=5).fit(X), WGANGP(**TINY, seed=5).fit(X)
    assert all(np.array_equal(u, v) for u, v in zip(weights(a), weights(b)))
    assert a.history_ == b.history_
    c = WGANGP(**TINY, seed=6).fit(X)
    assert not np.allclose(weights(a)[0], weights(c)[0])
    assert not np.allclose(a.sample(5, random_state=0), a.sample(5, random_state=1))


def test_training_does_not_touch_global_rng(real):
    X, _ = real
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    WGANGP(**dict(TINY, epochs=1)).fit(X)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("variant", [{}, {"gp_every": 3}, {"ema_decay": 0.9}])
def test_interrupted_run_resumes_to_the_same_weights(real, tmp_path, make_run, variant):
    X, labels = real
    params = dict(TINY, epochs=4, checkpoint_every=1, **variant)
    straight = WGANGP(**params).fit(X, labels, run=make_run(tmp_path / "a"))

    interrupted = make_run(tmp_path / "b", fail_at_epoch=3)
    with pytest.raises(KeyboardInterrupt):
        WGANGP(**params).fit(X, labels, run=interrupted)
    assert (tmp_path / "b" / "wgan-gp" / CHECKPOINT_FILE).is_file()
    assert not list((tmp_path / "b" / "wgan-gp").glob("*.tmp")), "checkpoints are written atomically"

    again = make_run(tmp_path / "b")
    resumed = WGANGP(**params).fit(X, labels, run=again)
    assert any("resuming from epoch 2" in m for m in again.messages)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    assert resumed.history_ == straight.history_
    assert all(np.array_equal(u, v) for u, v in zip(weights(straight), weights(resumed)))


def test_two_epochs_then_four_equals_four(real, tmp_path, make_run):
    X, _ = real
    params = dict(TINY, checkpoint_every=3)
    straight = WGANGP(**dict(params, epochs=4)).fit(X, run=make_run(tmp_path / "a"))
    run = make_run(tmp_path / "b")
    WGANGP(**dict(params, epochs=2)).fit(X, run=run)  # the last epoch is always checkpointed
    longer = WGANGP(**dict(params, epochs=4)).fit(X, run=run)
    assert any("resuming from epoch 2" in m for m in run.messages)
    assert all(np.array_equal(u, v) for u, v in zip(weights(straight), weights(longer)))

    other_data = WGANGP(**dict(params, epochs=4)).fit(X[:-1], run=run)
    assert any("ignoring checkpoint" in m for m in run.messages)
    assert len(other_data.history_) == 4


def test_lazy_penalty_every_kth_critic_update_with_k_times_the_weight(real, monkeypatch):
    import sctk_generative._gan as gan

    X, _ = real
    calls = []
    step = gan.critic_step

    def recording(*args, **kwargs):
        loss, distance, penalty = step(*args, **kwargs)
        calls.append((args[7], float(penalty)))
        return loss, distance, penalty

    monkeypatch.setattr(gan, "critic_step", recording)
    model = WGANGP(**dict(TINY, gp_weight=10.0, gp_every=3)).fit(X)
    assert len(calls) > 6
    assert [w for w, _ in calls] == [30.0 if (i + 1) % 3 == 0 else 0.0 for i in range(len(calls))]
    assert all(p > 0 for w, p in calls if w) and all(p == 0 for w, p in calls if not w)
    per_epoch = len(calls) // TINY["epochs"]
    first = [p for w, p in calls[:per_epoch] if w]
    assert model.history_[0]["gradient_penalty"] == pytest.approx(np.mean(first), rel=1e-5)


def test_averaged_generator_samples_and_training_is_unchanged(real, tmp_path):
    X, _ = real
    last = WGANGP(**TINY, seed=3).fit(X)
    averaged = WGANGP(**TINY, seed=3, ema_decay=0.9).fit(X)
    critic = lambda m: [t.numpy() for t in m.critic_.state_dict().values()]  # noqa: E731
    assert all(np.array_equal(u, v) for u, v in zip(critic(last), critic(averaged)))  # the same training
    assert averaged.history_ == last.history_
    assert not all(np.array_equal(u, v) for u, v in zip(weights(last), weights(averaged)))
    nearly_last = WGANGP(**TINY, seed=3, ema_decay=1e-6).fit(X)
    assert all(np.allclose(u, v, atol=1e-5) for u, v in zip(weights(last), weights(nearly_last)))
    averaged.save(tmp_path / "saved")
    again = WGANGP.load(tmp_path / "saved")
    assert np.array_equal(again.sample(50, random_state=1), averaged.sample(50, random_state=1))


def test_citations_and_provenance():
    model = WGANGP(device="cpu")
    assert any("Gulrajani" in c for c in model.citations()) and any("ScGAN" in c for c in model.citations())
    assert model.provenance() == {"torch": torch.__version__, "device": "cpu", "amp_bfloat16": False}


def test_warm_start_continues_from_saved_generator_and_critic(real, tmp_path):
    """Pre-train on rows A, save, load (what ``init_from`` does), replace the params, fit on rows B."""
    X, _ = real
    A, B = X[:150], X[150:]
    pretrained = WGANGP(**TINY, seed=1).fit(A)
    pretrained.save(tmp_path / "pre")
    state = torch.load(tmp_path / "pre" / "wgan-gp.pt", weights_only=True)
    assert set(state["nets"]) == {"generator", "critic"}, "the critic is saved too"

    loaded = WGANGP.load(tmp_path / "pre")
    assert all(np.array_equal(u, v) for u, v in zip(weights(pretrained), weights(loaded)))
    loaded.params = WGANGP.Params(**dict(TINY, seed=2, learning_rate=1e-4))  # the recipe's params
    tuned = loaded.fit(B)
    assert [h["epoch"] for h in tuned.history_] == [1, 2]

    fresh = WGANGP(**TINY, seed=2, learning_rate=1e-4).fit(B)
    assert not np.allclose(weights(tuned)[0], weights(fresh)[0]), "warm start is not a fresh fit"
    reference = WGANGP(**TINY, seed=1).fit(A)  # the same pre-training kept in memory
    reference.params = WGANGP.Params(**dict(TINY, seed=2, learning_rate=1e-4))
    reference.fit(B)
    assert all(np.array_equal(u, v) for u, v in zip(weights(tuned), weights(reference)))
    for a, b in zip(tuned.critic_.state_dict().values(), reference.critic_.state_dict().values()):
        assert torch.equal(a, b)


def test_warm_start_errors_and_resume(real, tmp_path, make_run):
    X, labels = real
    pretrained = WGANGP(**TINY).fit(X)
    with pytest.raises(UserError, match="labels"):
        WGANGP.load(pretrained.save(tmp_path / "p")).fit(X, labels)
    with pytest.raises(UserError, match="shape"):
        WGANGP.load(tmp_path / "p").fit(X[:, :90] / X[:, :90].sum(1, keepdims=True).clip(1e-6))
    wider = WGANGP.load(tmp_path / "p")
    wider.params = WGANGP.Params(**dict(TINY, hidden=[48]))
    with pytest.raises(UserError, match="architecture"):
        wider.fit(X)

    params = dict(TINY, epochs=3, checkpoint_every=1)
    straight = WGANGP.load(tmp_path / "p")
    straight.params = WGANGP.Params(**params)
    straight.fit(X, run=make_run(tmp_path / "a"))
    interrupted = WGANGP.load(tmp_path / "p")
    interrupted.params = WGANGP.Params(**params)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(X, run=make_run(tmp_path / "b", fail_at_epoch=2))
    again = make_run(tmp_path / "b")
    resumed = WGANGP.load(tmp_path / "p")
    resumed.params = WGANGP.Params(**params)
    resumed.fit(X, run=again)
    assert any("resuming from epoch 1" in m for m in again.messages)
    assert all(np.array_equal(u, v) for u, v in zip(weights(straight), weights(resumed)))
    fresh_run = make_run(tmp_path / "b")
    WGANGP(**params).fit(X, run=fresh_run)  # same run folder, other starting weights
    assert any("ignoring checkpoint" in m for m in fresh_run.messages)


def test_scgan_configuration_on_scgan_onehot_rows(scgan_rows):
    """ScGAN's matrix: level k = nearest integer of v in 1..7 holds v / k; absent elements 1 at row 0."""
    X = scgan_rows
    with pytest.raises(UserError, match="softmax"):
        WGANGP(**TINY).fit(X)  # doped amounts: rows do not sum to 1
    model = WGANGP(**dict(TINY, output="softmax-scaled", optimizer="rmsprop", learning_rate=1e-4))
    check_generator(model, X)
    samples = model.sample(20, random_state=0)
    assert samples.shape == (20, 96, 8) and samples.min() >= 0


@pytest.mark.parametrize("output", ["softmax-scaled-hard", "adjusted-onehot"])
def test_hard_outputs_keep_one_slot_per_element_and_still_learn(scgan_rows, output):
    """softmax-scaled-hard and adjusted-onehot: each element row of a sample has one non-zero slot
    (what decoding reads), and gradients reach every layer of the generator (straight-through).
    adjusted-onehot also writes exactly 1 at slot 0 (absent), as the data has it, and refuses data
    that is not such a matrix."""
    from sctk_generative._nets import GeneratorNet

    model = WGANGP(**dict(TINY, output=output, optimizer="rmsprop", learning_rate=1e-4))
    check_generator(model, scgan_rows)
    samples = model.sample(50, random_state=0)
    assert samples.shape == (50, 96, 8) and samples.min() >= 0
    assert ((samples != 0).sum(axis=2) == 1).all()
    net = GeneratorNet(8, 0, [16], 96, 8, output)
    out = net(torch.randn(4, 8))
    (out * torch.randn_like(out)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    if output == "adjusted-onehot":
        absent = samples.argmax(axis=2) == 0
        assert absent.any() and (samples[..., 0][absent] == 1).all()
        with pytest.raises(UserError, match="adjusted one-hot"):
            WGANGP(**dict(TINY, output=output)).fit(scgan_rows * 0.5)
