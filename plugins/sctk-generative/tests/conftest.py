"""Shared fixtures of the generator tests: one torch thread, real SuperCon rows, a fake run."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: faster on the shared 2-core machine, and bit-reproducible."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def real(supercon_slice):
    """300 real rows as 96 element fractions, with labels cuprate / pnictide / other."""
    from sc_toolkit import Compositions

    table = supercon_slice.iloc[:300]
    fractions = Compositions.from_formulas(table["formula"]).fractions[:, :96]
    fractions = fractions / fractions.sum(axis=1, keepdims=True)
    has = lambda symbol_index: fractions[:, symbol_index] > 0  # noqa: E731
    cu, o, fe, as_ = has(28), has(7), has(25), has(32)
    labels = np.where(cu & o, "cuprate", np.where(fe & as_, "pnictide", "other"))
    return fractions.astype(np.float32), labels


@pytest.fixture(scope="session")
def real_amounts(supercon_slice):
    """Amounts (as written) of 300 real rows, H..Pu, and their formulas."""
    from sc_toolkit import Compositions

    table = supercon_slice.iloc[:300]
    compositions = Compositions.from_formulas(table["formula"])
    keep = ~(compositions.amounts[:, 94:] > 0).any(axis=1)
    return compositions.amounts[keep, :96], table["formula"].to_numpy()[keep]


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


@pytest.fixture
def make_run():
    """The FakeRun class: ``make_run(root, seed=7, fail_at_epoch=None)``."""
    return FakeRun


@pytest.fixture(scope="session")
def scgan_rows(real_amounts):
    """``scgan-onehot``-shaped (n, 96, 8) arrays of real rows: level k = nearest integer of v in 1..7
    holds v / k; absent elements 1 at row 0."""
    amounts, _ = real_amounts
    present = amounts > 0
    level = np.where(present, np.clip(np.floor(amounts + 0.5), 1, 7), 0).astype(int)
    weight = np.where(present, amounts / np.maximum(level, 1), 1.0)
    return ((np.arange(8) == level[..., None]) * weight[..., None]).astype(np.float32)


@pytest.fixture(scope="session")
def lim_rows(real_amounts, real):
    """``lim-matrix``-shaped (n, 2, 94, 11) arrays of real rows (k = ceil(v) in 1..10, channel 0
    one-hot at k, channel 1 v / k there, absent elements 1 at row 0 in both), and 4 class labels."""
    amounts, _ = real_amounts
    amounts = amounts[:, :94]
    present = amounts > 0
    level = np.where(present, np.clip(np.ceil(amounts), 1, 10), 0).astype(int)
    rows = (np.arange(11) == level[..., None]).astype(np.float32)
    weight = np.where(present, amounts / np.maximum(level, 1), 1.0)
    X = np.stack([rows, rows * weight[..., None]], axis=1).astype(np.float32)
    cu, o, fe = present[:, 28], present[:, 7], present[:, 25]
    labels = np.where(cu & o & fe, "both", np.where(cu & o, "cuprate", np.where(fe, "iron-based", "other")))
    return X, labels
