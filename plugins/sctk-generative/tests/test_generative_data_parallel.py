"""Data-parallel training (``processes`` = 2, Gloo on 127.0.0.1) against one process, on real rows.

Every process draws the random numbers of the whole batch and trains on an equal part of it; the
gradients are averaged before each step, so the math is that of one process and only the order of
floating-point sums differs. Over a few epochs the loss curves then differ by float32 rounding
(observed on these 4 epochs: at most 1e-7 of a curve's largest value). The tolerance, 1e-4 of it,
is 1,000 times that, and 1,000 times below the smallest change of a loss from one epoch to the next
here (0.13 of it): other math (other random numbers per process, sums instead of means) would move
the curves by about such a change.
"""

from __future__ import annotations

import numpy as np
import pytest

from sc_toolkit import UserError, superconductor_class

torch = pytest.importorskip("torch")

from sctk_generative.diffusion import Diffusion  # noqa: E402
from sctk_generative.lim import LimWGAN  # noqa: E402
from sctk_generative.wgan import CHECKPOINT_FILE, WGANGP  # noqa: E402

#: The main recipe's wgan-gp (recipes/cuprate_gan.toml) at small sizes.
SMALL = dict(epochs=4, batch_size=64, noise_dim=16, hidden=[64], output="adjusted-onehot", optimizer="rmsprop",
             learning_rate=1e-4, critic_steps=2, device="cpu", seed=7)
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def cuprates(supercon_slice):
    """256 SuperCon cuprates (Tc > 0) encoded with scgan-onehot: (256, 96, 8)."""
    from sc_toolkit import load_registry

    table = supercon_slice[supercon_slice["tc"] > 0]
    table = table[superconductor_class(table) == "cuprate"].iloc[:256]
    assert len(table) == 256
    encoder = load_registry().get("encoder", "scgan-onehot")()
    formulas = table["formula"].tolist()
    return encoder.fit(formulas).encode(formulas)


@pytest.fixture(scope="module")
def one_process(cuprates):
    return WGANGP(**SMALL).fit(cuprates)


def assert_same_curves(one: list[dict], other: list[dict]) -> None:
    assert [row["epoch"] for row in one] == [row["epoch"] for row in other]
    for column in one[0]:
        a, b = np.array([row[column] for row in one]), np.array([row[column] for row in other])
        assert np.abs(a - b).max() <= TOLERANCE * np.abs(a).max(), column


def test_two_processes_train_wgan_gp_to_the_same_loss_curve(cuprates, one_process):
    two = WGANGP(**SMALL, processes=2).fit(cuprates)
    assert_same_curves(one_process.history_, two.history_)
    for a, b in zip(one_process.generator_.state_dict().values(), two.generator_.state_dict().values()):
        assert torch.allclose(a, b, rtol=0, atol=TOLERANCE)
    assert two.sample(5, random_state=0).shape == (5, 96, 8)


def test_two_processes_resume_one_process_checkpoint_and_stop_with_rank_0(cuprates, one_process, tmp_path,
                                                                            make_run):
    WGANGP(**dict(SMALL, epochs=2)).fit(cuprates, run=make_run(tmp_path))  # the last epoch is always checkpointed
    with pytest.raises(KeyboardInterrupt):  # rank 0 stops in epoch 3; the other process must not hang
        WGANGP(**SMALL, processes=2).fit(cuprates, run=make_run(tmp_path, fail_at_epoch=3))
    run = make_run(tmp_path)
    resumed = WGANGP(**SMALL, processes=2).fit(cuprates, run=run)
    assert any("resuming from epoch 2" in m for m in run.messages)
    assert_same_curves(one_process.history_, resumed.history_)
    assert torch.load(tmp_path / "wgan-gp" / CHECKPOINT_FILE, weights_only=False)["epoch"] == 4


def test_a_ragged_last_batch_splits_into_weighted_parts(real):
    X, labels = real  # 300 rows, batches of 64: the last holds 44 rows, conditional on labels
    params = dict(epochs=2, batch_size=64, width=32, depth=1, device="cpu")
    one, two = Diffusion(**params).fit(X, labels), Diffusion(**params, processes=2).fit(X, labels)
    assert_same_curves(one.history_, two.history_)


def test_what_cannot_split_is_refused_in_one_line(cuprates, monkeypatch, tmp_path, make_run):
    with pytest.raises(ValueError, match="lim-wgan trains in one process only"):
        LimWGAN(processes=2)  # a recipe's check says so: generator.params.processes: ...
    with pytest.raises(ValueError, match="batch_size 33 does not split into 2 equal parts"):
        WGANGP(batch_size=33, processes=2)
    monkeypatch.setenv("WORLD_SIZE", "2")  # as under torchrun
    with pytest.raises(UserError, match="lim-wgan trains in one process only"):
        LimWGAN().fit(np.zeros((4, 2, 94, 11), np.float32), np.array(["a", "b", "a", "b"]))
    with pytest.raises(UserError, match="leave processes at 1 under torchrun"):
        WGANGP(**SMALL, processes=2).fit(cuprates)
    with pytest.raises(UserError, match="a recipe run under torchrun"):
        WGANGP(**SMALL).fit(cuprates, run=make_run(tmp_path))
