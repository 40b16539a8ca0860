"""Independent pieces of a component's work (ensemble members, cross-validation folds) run on the
run's executor: one after the other in this process by default, as Ray tasks when the recipe says
``[run] executor = "ray"`` (docs/cluster.md, "What runs where")::

    def member(seed, data, run=None):            # a pure function of its arguments
        X, y = data
        return train_one(X, y, seed)

    with progress(run, "training", total=len(seeds)) as bar:
        for model in map_tasks(run, member, seeds, shared=(X, y), cpus=n_jobs):
            models.append(model)
            bar.advance()

The results come back in the order of ``items`` whatever the executor, so a component that draws
every piece's randomness from its item (``SeedSequence(seed).spawn(n)``) gets the same results on
either. Outside a run (a benchmark's folds), :func:`task_executor` gives the executor to pass as
``run``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .runtime import progress


def map_tasks(run, function: Callable[..., Any], items: Iterable, *, shared: Any = None,
              cpus: int = 1, gpus: int = 0) -> Iterator[Any]:
    """``function(item, shared, run=...)`` for each of ``items``, the results in the order of
    ``items`` (an iterator: each comes back as soon as it and those before it are done).

    With ``run=None`` (or a run without a ``map`` method), in this process, one after the other, with
    ``run`` passed along. In a run, on its executor (``run.map``): in this process with the run passed
    along (``executor = "local"``), or as Ray tasks, each with ``run=None`` (a worker has no run: no
    progress bars, log lines or checkpoints of its own), ``shared`` put in Ray's object store once,
    ``cpus`` CPUs and ``gpus`` GPUs held per task (a task without a GPU sees none) and as many OpenMP
    and torch threads as CPUs, and a task whose worker raised
    or died run again (``MAX_RETRIES``). On Ray, ``function``, ``items``, ``shared`` and the results
    must be picklable and ``function`` importable on the workers (a function of a plugin module, or a
    method of a component), and ``function`` must not depend on anything but its arguments."""
    mapper = getattr(run, "map", None)
    if mapper is None:
        return (function(item, shared, run=run) for item in items)
    return mapper(function, items, shared=shared, cpus=cpus, gpus=gpus)


class TaskRun:
    """What :func:`task_executor` yields: a :class:`~sc_toolkit.runtime.RunLike` without a record,
    to pass as ``run`` to :func:`map_tasks` or to a component's ``fit`` so that its members run on
    the executor. No progress is shown and nothing is logged; checkpoints go to a temporary folder
    removed on exit."""

    def __init__(self, executor, folder: Path, seed: int = 0):
        self.executor, self.folder, self.seed, self.quick = executor, folder, seed, False

    def map(self, function, items: Iterable, *, shared: Any = None, cpus: int = 1, gpus: int = 0) -> Iterator[Any]:
        return self.executor.map_tasks(function, items, shared=shared, cpus=cpus, gpus=gpus)

    def describe(self) -> str:
        return self.executor.describe()

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Any]:
        with progress(None, description, total) as task:
            yield task

    def log(self, message: str) -> None:
        pass

    def checkpoint_dir(self, component: str) -> Path:
        folder = self.folder / component
        folder.mkdir(parents=True, exist_ok=True)
        return folder


@contextmanager
def task_executor(name: str = "local", *, address: str | None = None, workers: int | None = None,
                  seed: int = 0) -> Iterator[TaskRun]:
    """The executor ``name`` ("local" or "ray", as ``[run] executor``) for :func:`map_tasks` outside a
    run (a benchmark's folds, a notebook): yields a :class:`TaskRun` (seed ``seed``) to pass as
    ``run``. "ray" joins the cluster at ``address`` (default ``RAY_ADDRESS``), else starts a local Ray
    on 127.0.0.1 with ``workers`` CPUs, stopped on exit. UserError when the name is unknown or Ray
    is not installed."""
    from .errors import UserError
    from .run.executors import LocalExecutor, RayExecutor

    if name not in ("local", "ray"):
        raise UserError(f"unknown executor '{name}'", hint="use 'local' or 'ray'")
    executor = RayExecutor(address, workers) if name == "ray" else LocalExecutor()
    try:
        with tempfile.TemporaryDirectory(prefix="sctk-tasks-") as folder:
            yield TaskRun(executor, Path(folder), seed)
    finally:
        executor.close()
