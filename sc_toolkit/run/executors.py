"""Executors of a run: where the screening batches (:mod:`.streaming`) are sampled, decoded,
filtered and scored, and where independent pieces of a component's work (ensemble members, folds:
:meth:`map_tasks`, reached through :func:`sc_toolkit.map_tasks`) run. Both hand the results back in
order, so a run gives the same table, counts, ranking and models on either.

* :class:`LocalExecutor` (``[run] executor = "local"``, the default): one batch after the other in
  this process; needs nothing beyond the toolkit.
* :class:`RayExecutor` (``executor = "ray"``): each batch is a Ray task, on the cluster of
  ``[run] ray_address`` or ``RAY_ADDRESS``, else on a local Ray started for the run (listening on
  127.0.0.1 only) and stopped after it. The job (fitted filters,
  predictors, generator) is put in Ray's object store once and every task reads it from there; a few
  tasks per CPU are in flight at a time, so the driver holds a bounded number of results. A task whose
  worker raises or dies is retried by Ray (``max_retries``); only the driver counts and writes
  results, one per batch, so a retried batch is never lost or counted twice.

The Ray executor also places the processes of a data-parallel training
(:meth:`RayExecutor.start_processes`, used by :mod:`sc_toolkit.distributed`).

A run makes its executor once (:class:`~sc_toolkit.run.context.RunContext` ``.executor``, on first
use) and closes it when the run ends, failed or not: the predictors' members and the screening share
one Ray.
"""

from __future__ import annotations

import os
import sys
import time
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
#: Ray's switch (read when ``ray`` is imported) that, on by default, makes a driver started by `uv run`
#: ship its working directory to the workers and start each worker through `uv run` there: a new
#: environment made in that copy, about a minute before a worker registers on 2 cores. Off unless the
#: user sets it: the workers use the Python environment installed on their node ("Running on a
#: cluster" asks for the same one on every node).
UV_RUN_ENV = "RAY_ENABLE_UV_RUN_RUNTIME_ENV"


def require_ray():
    """The ``ray`` module, imported with Ray's `uv run` propagation off unless the user set
    ``UV_RUN_ENV``; UserError saying how to install it when it is missing."""
    os.environ.setdefault(UV_RUN_ENV, "0")
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

    def map_tasks(self, function, items: Iterable, *, shared: Any = None, cpus: int = 1, gpus: int = 0) -> Iterator:
        """``function(item, shared, run=run)`` for each item, one after the other, in this process
        (with its threads and devices: ``cpus`` and ``gpus`` are for executors that place tasks)."""
        for item in items:
            yield function(item, shared, run=self.run)

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
        self._piece = ray.remote(max_retries=max_retries, retry_exceptions=True)(_run_piece)
        self._process = ray.remote(max_retries=0)(_run_process)

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

    def map_tasks(self, function, items: Iterable, *, shared: Any = None, cpus: int = 1, gpus: int = 0) -> Iterator:
        """``function(item, shared, run=None)`` for each item as a Ray task holding ``cpus`` CPUs
        (at most the CPUs of the largest node), with as many threads, and ``gpus`` GPUs (Ray shows
        the task those alone; with none, no GPU); ``shared`` is put in the object
        store once. Results in the order of ``items``; tasks not yet collected when the caller stops
        (or a task fails for good) are cancelled."""
        ray = self._ray
        cpus = self._cpus_per_task(cpus)
        ref = ray.put(shared)
        piece = self._piece.options(num_cpus=cpus, num_gpus=gpus)
        pending = deque(piece.remote(function, ref, item, cpus) for item in items)
        try:
            while pending:
                result = self._get(pending[0])
                pending.popleft()
                yield result
        finally:
            for left in pending:
                ray.cancel(left)

    def node_address(self) -> str:
        """The address of this process's node in the cluster (127.0.0.1 for a local Ray)."""
        return self._ray.util.get_node_ip_address()

    def start_processes(self, function, arguments: list[tuple], *, cpus: int = 1, gpus: int = 0) -> RayProcesses:
        """``function(*args)`` for each tuple of ``arguments`` as a Ray task holding ``cpus`` CPUs
        (at most the largest node's) and ``gpus`` GPUs, all running at once wherever the cluster
        has room, never retried (the processes of a data-parallel training meet each other: a
        process started again would meet no one). Returns their handle."""
        cpus = self._cpus_per_task(cpus)
        task = self._process.options(num_cpus=cpus, num_gpus=gpus)
        return RayProcesses(self._ray, [task.remote(function, args, cpus) for args in arguments])

    def _cpus_per_task(self, cpus: int) -> int:
        """``cpus``, at least 1 and at most the CPUs of the cluster's largest node."""
        largest = max((n["Resources"].get("CPU", 0) for n in self._ray.nodes() if n["Alive"]), default=1)
        return max(1, min(int(cpus), int(largest)))

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


class RayProcesses:
    """The Ray tasks of :meth:`RayExecutor.start_processes`."""

    def __init__(self, ray, refs: list):
        self._ray, self._pending = ray, list(refs)

    def join(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) until every task has ended: whether all have; the
        first failure is raised as soon as it is seen."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, self._pending = self._ray.wait(self._pending, num_returns=1, timeout=left)
            if not done:
                return False
            self._ray.get(done[0])
        return True

    def terminate(self) -> None:
        """Stop the tasks still running (their worker processes are killed)."""
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending = []


def _run_process(function, arguments: tuple, cpus: int):
    """One task of :meth:`RayExecutor.start_processes`, with ``cpus`` OpenMP threads."""
    os.environ["OMP_NUM_THREADS"] = str(cpus)
    return function(*arguments)


def _run_batch(job, batch):
    return job(batch)


def _run_piece(function, shared, item, cpus: int):
    """One task of :meth:`RayExecutor.map_tasks`: OpenMP (LightGBM, XGBoost, a torch imported
    later) and an imported torch use the task's ``cpus`` threads, then ``function`` runs."""
    os.environ["OMP_NUM_THREADS"] = str(cpus)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(cpus)
    return function(item, shared, run=None)


def executor_for(section, run=None) -> LocalExecutor | RayExecutor:
    """The executor ``[run]`` asks for (``section``: a :class:`~sc_toolkit.recipe.RunSection`)."""
    if section.executor == "ray":
        return RayExecutor(section.ray_address, section.workers)
    return LocalExecutor(run)
