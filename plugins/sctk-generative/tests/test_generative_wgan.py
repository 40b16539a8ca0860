"""wgan-gp on real SuperCon rows: contract, conditioning, errors, seeding, checkpoint resume."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from sc_toolkit import UserError
from sc_toolkit.testing import check_generator

torch = pytest.importorskip("torch")

from sctk_generative.wgan import CHECKPOINT_FILE, WGANGP  # noqa: E402

TINY = dict(epochs=2, batch_size=32, noise_dim=8, hidden=[32], critic_steps=2, device="cpu")


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: faster on the shared 2-core machine, and bit-reproducible."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def real(supercon_slice):
    """300 real rows as 96 element fractions, with labels cuprate / pnictide / other."""
    from sc_toolkit.chem import Compositions

    table = supercon_slice.iloc[:300]
    fractions = Compositions.from_formulas(table["formula"]).fractions[:, :96]
    fractions = fractions / fractions.sum(axis=1, keepdims=True)
    has = lambda symbol_index: fractions[:, symbol_index] > 0  # noqa: E731
    cu, o, fe, as_ = has(28), has(7), has(25), has(32)
    labels = np.where(cu & o, "cuprate", np.where(fe & as_, "pnictide", "other"))
    return fractions.astype(np.float32), labels


class FakeRun:
    """The RunLike protocol: seed, quick, progress, log and checkpoint_dir."""

    def __init__(self, root: Path, seed: int = 7, fail_at_epoch: int | None = None):
        self.root, self.seed, self.quick = root, seed, False
        self.fail_at_epoch = fail_at_epoch
        self.messages: list[str] = []
        self.recorded: list[dict[str, float]] = []

    @contextmanager
    def progress(self, description: str, total: int | None):
        run = self

        class Task:
            done = 0

            def advance(self, n: int = 1, **values: float) -> None:
                self.done += n
                if values:
                    run.recorded.append(values)
                if run.fail_at_epoch is not None and self.done >= run.fail_at_epoch:
                    raise KeyboardInterrupt("injected interruption")

        yield Task()

    def log(self, message: str) -> None:
        self.messages.append(message)

    def checkpoint_dir(self, component: str) -> Path:
        path = self.root / component
        path.mkdir(parents=True, exist_ok=True)
        return path


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


def test_interrupted_run_resumes_to_the_same_weights(real, tmp_path):
    X, labels = real
    params = dict(TINY, epochs=4, checkpoint_every=1)
    straight = WGANGP(**params).fit(X, labels, run=FakeRun(tmp_path / "a"))

    interrupted = FakeRun(tmp_path / "b", fail_at_epoch=3)
    with pytest.raises(KeyboardInterrupt):
        WGANGP(**params).fit(X, labels, run=interrupted)
    assert (tmp_path / "b" / "wgan-gp" / CHECKPOINT_FILE).is_file()
    assert not list((tmp_path / "b" / "wgan-gp").glob("*.tmp")), "checkpoints are written atomically"

    again = FakeRun(tmp_path / "b")
    resumed = WGANGP(**params).fit(X, labels, run=again)
    assert any("resuming from epoch 2" in m for m in again.messages)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    assert resumed.history_ == straight.history_
    assert all(np.array_equal(u, v) for u, v in zip(weights(straight), weights(resumed)))


def test_two_epochs_then_four_equals_four(real, tmp_path):
    X, _ = real
    params = dict(TINY, checkpoint_every=3)
    straight = WGANGP(**dict(params, epochs=4)).fit(X, run=FakeRun(tmp_path / "a"))
    run = FakeRun(tmp_path / "b")
    WGANGP(**dict(params, epochs=2)).fit(X, run=run)  # the last epoch is always checkpointed
    longer = WGANGP(**dict(params, epochs=4)).fit(X, run=run)
    assert any("resuming from epoch 2" in m for m in run.messages)
    assert all(np.array_equal(u, v) for u, v in zip(weights(straight), weights(longer)))

    other_data = WGANGP(**dict(params, epochs=4)).fit(X[:-1], run=run)
    assert any("ignoring checkpoint" in m for m in run.messages)
    assert len(other_data.history_) == 4


def test_citations_and_provenance():
    model = WGANGP(device="cpu")
    assert any("Gulrajani" in c for c in model.citations()) and any("ScGAN" in c for c in model.citations())
    assert model.provenance() == {"torch": torch.__version__, "device": "cpu", "amp_bfloat16": False}
