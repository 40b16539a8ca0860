"""Progress, log and device helpers that components use with or without a run.

A component receives ``run=None`` when used from Python, or the runner's
:class:`~sc_toolkit.run.context.RunContext`. These helpers work with either::

    with progress(run, "training wgan-gp", total=epochs) as bar:
        for epoch in range(epochs):
            ...
            bar.advance(loss_critic=lc, loss_generator=lg)   # shown, and recorded in the run history
"""

from __future__ import annotations

import sys

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol


class ProgressTask(Protocol):
    def advance(self, n: int = 1, **values: float) -> None: ...


class RunLike(Protocol):
    """What a component may use of a run (see :class:`sc_toolkit.run.context.RunContext`)."""

    seed: int
    quick: bool

    def progress(self, description: str, total: int | None) -> Any: ...
    def log(self, message: str) -> None: ...
    def checkpoint_dir(self, component: str) -> Path: ...


class _Silent:
    def advance(self, n: int = 1, **values: float) -> None:
        return None


@contextmanager
def progress(run: RunLike | None, description: str, total: int | None = None) -> Iterator[ProgressTask]:
    """A progress task shown by the run (silent without one)."""
    if run is None:
        yield _Silent()
    else:
        with run.progress(description, total) as task:
            yield task


def log(run: RunLike | None, message: str) -> None:
    """Write ``message`` to the run log (nothing without a run)."""
    if run is not None:
        run.log(message)


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a CUDA GPU is usable, else 'cpu'; other values pass through.

    Meant for components that use torch: it asks the torch their module already imported (the core
    itself does not depend on torch), and answers 'cpu' when no torch is loaded."""
    if device != "auto":
        return device
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
