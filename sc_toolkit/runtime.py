"""Progress, log and device helpers that components use with or without a run.

A component receives ``run=None`` when used from Python, or the runner's
:class:`~sc_toolkit.run.context.RunContext`. These helpers work with either::

    with progress(run, "training wgan-gp", total=epochs) as bar:
        for epoch in range(epochs):
            ...
            bar.advance(loss_critic=lc, loss_generator=lg)   # shown, and recorded in the run history
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
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


class ProgressLines:
    """Progress written as text lines, for a log or an output that is not a terminal.

    :meth:`advance` calls ``write`` at most once per ``every`` seconds, and always when the task
    reaches its total: ``"training wgan-gp 12/60  loss_critic=-1.2  loss_generator=0.3  elapsed 14 s,
    about 56 s left"`` (no estimate without a total). ``clock`` gives seconds (monotonic)."""

    def __init__(self, write: Callable[[str], None], description: str, total: int | None, *,
                 every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.write, self.description, self.total, self.every, self.clock = write, description, total, every, clock
        self.done = 0
        self.start = clock()
        self.last_written = self.start

    def advance(self, n: int = 1, **values: float) -> None:
        self.done += n
        now = self.clock()
        finished = self.total is not None and self.done >= self.total
        if not finished and now - self.last_written < self.every:
            return
        self.last_written = now
        self.write(self.line(now, values))

    def line(self, now: float, values: dict[str, float]) -> str:
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        shown = "".join(f"  {k}={v:.4g}" for k, v in values.items())
        elapsed = now - self.start
        timing = f"elapsed {_duration(elapsed)}"
        if self.total is not None and 0 < self.done < self.total:
            timing += f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        return f"{self.description} {count}{shown}  {timing}"


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


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


def read_checkpoint(path: Path, fingerprint: str, epochs: int, run, name: str) -> dict | None:
    """The torch checkpoint at ``path`` (loaded with ``weights_only=True``) when its ``fingerprint``
    (data, parameters, device) is this training's and its ``epoch`` is not past ``epochs``; otherwise
    None, with a log line saying why (``name`` is the component writing it)."""
    import torch

    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        log(run, f"{name}: ignoring unreadable checkpoint {path} ({error}); training from scratch")
        return None
    if saved.get("fingerprint") != fingerprint:
        log(run, f"{name}: ignoring checkpoint {path}: made with other data, parameters, starting weights or device")
        return None
    if saved["epoch"] > epochs:
        log(run, f"{name}: ignoring checkpoint {path}: it is at epoch {saved['epoch']}, past epochs={epochs}")
        return None
    return saved


def write_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to a temporary file beside ``path``, then rename it over ``path``."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
