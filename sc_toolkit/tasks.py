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
either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


def map_tasks(run, function: Callable[..., Any], items: Iterable, *, shared: Any = None,
              cpus: int = 1) -> Iterator[Any]:
    """``function(item, shared, run=...)`` for each of ``items``, the results in the order of
    ``items`` (an iterator: each comes back as soon as it and those before it are done).

    With ``run=None`` (or a run without a ``map`` method), in this process, one after the other, with
    ``run`` passed along. In a run, on its executor (``run.map``): in this process with the run passed
    along (``executor = "local"``), or as Ray tasks, each with ``run=None`` (a worker has no run: no
    progress bars, log lines or checkpoints of its own), ``shared`` put in Ray's object store once,
    ``cpus`` CPUs held per task and as many OpenMP and torch threads, and a task whose worker raised
    or died run again (``MAX_RETRIES``). On Ray, ``function``, ``items``, ``shared`` and the results
    must be picklable and ``function`` importable on the workers (a function of a plugin module, or a
    method of a component), and ``function`` must not depend on anything but its arguments."""
    mapper = getattr(run, "map", None)
    if mapper is None:
        return (function(item, shared, run=run) for item in items)
    return mapper(function, items, shared=shared, cpus=cpus)
