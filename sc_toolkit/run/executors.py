"""Executors of screening batches (:mod:`.streaming`): where each batch is sampled, decoded,
filtered and scored. Both hand the results back in batch order, so a run gives the same table, counts
and ranking on either.

* :class:`LocalExecutor` (``[run] executor = "local"``, the default): one batch after the other in
  this process; needs nothing beyond the toolkit.
* :class:`RayExecutor` (``executor = "ray"``): each batch is a Ray task, on the cluster of
  ``[run] ray_address`` or ``RAY_ADDRESS``, else on a local Ray started for the run (listening on
  127.0.0.1 only) and stopped after it. The job (fitted filters,
  predictors, generator) is put in Ray's object store once and every task reads it from there; a few
  tasks per CPU are in flight at a time, so the driver holds a bounded number of results. A task whose
  worker raises or dies is retried by Ray (``max_retries``); only the driver counts and writes
  results, one per batch, so a retried batch is never lost or counted twice.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import SctkError, UserError

#: Times Ray runs a batch again after its worker raised or died.
MAX_RETRIES = 3
#: Tasks in flight per CPU of the cluster.
TASKS_PER_CPU = 2
#: Ray's switch (read when ``ray`` is imported) that, set to "0", makes a single-machine Ray use the
#: loopback address for its node, so that its servers listen on 127.0.0.1 and nowhere else.
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def require_ray():
    """The ``ray`` module; UserError saying how to install it when it is missing."""
    try:
        import ray
    except ImportError:
        raise UserError("executor 'ray' needs Ray, which is not installed", where="run.executor",
                        hint='install it with `pip install "sc-toolkit[ray]"`, or set run.executor = "local"') from None
    return ray


class LocalExecutor:
    """Screens the batches one after the other in this process (``run`` reaches the components)."""

    name = "local"

    def __init__(self, run=None):
        self.run = run

    def map(self, job, batches: Iterable) -> Iterator:
        for batch in batches:
            yield job(batch, run=self.run)

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "in this process"


class RayExecutor:
    """Screens the batches as Ray tasks on the cluster at ``address`` (default ``RAY_ADDRESS``); with
    neither, on a local Ray started here on 127.0.0.1 with ``workers`` CPUs and stopped by
    :meth:`close`. A Ray already initialised in this process is used as it is."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, *, max_retries: int = MAX_RETRIES):
        address = address or os.environ.get("RAY_ADDRESS") or None
        if not address:  # read when Ray is imported: a local Ray then listens on 127.0.0.1 only
            os.environ.setdefault(LOOPBACK_ONLY, "0")
        ray = require_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(address="local", num_cpus=workers, include_dashboard=False,
                         _node_ip_address="127.0.0.1", log_to_driver=False)
                self._started = True
        self._task = ray.remote(max_retries=max_retries, retry_exceptions=True)(_run_batch)

    def map(self, job, batches: Iterable) -> Iterator:
        ray = self._ray
        shared = ray.put(job)
        window = max(2, TASKS_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))
        pending: deque = deque()
        for batch in batches:
            pending.append(self._task.remote(shared, batch))
            if len(pending) >= window:
                yield self._get(pending.popleft())
        while pending:
            yield self._get(pending.popleft())

    def _get(self, ref) -> Any:
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, SctkError):  # a user's mistake, not a failed worker
                raise error.cause from None
            raise

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()

    def describe(self) -> str:
        cpus = int(self._ray.cluster_resources().get("CPU", 0))
        where = "a local Ray started for the run" if self._started else "the Ray cluster"
        return f"as Ray tasks on {where} ({cpus} CPUs)"


def _run_batch(job, batch):
    return job(batch)


def executor_for(section, run=None) -> LocalExecutor | RayExecutor:
    """The executor ``[run]`` asks for (``section``: a :class:`~sc_toolkit.recipe.RunSection`)."""
    if section.executor == "ray":
        return RayExecutor(section.ray_address, section.workers)
    return LocalExecutor(run)
