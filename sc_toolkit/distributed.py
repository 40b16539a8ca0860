"""Data-parallel training of torch networks over several processes (torch.distributed).

Every process holds the same networks and draws the same random numbers (same seeds); each global
batch is split into contiguous parts, one per process (:meth:`Shard.part`), and each process
computes the loss on its part only, weighted by its share of the batch's rows
(:meth:`Shard.weight`). Before every optimiser step the gradients are averaged over the processes
(one all-reduce of all of an optimiser's gradients, :meth:`Shard.average_gradients`), so every
process takes the same step: the math of one process on the whole batch, up to the order of
floating-point sums. The averaging is an optimiser step pre-hook rather than
:class:`torch.nn.parallel.DistributedDataParallel`, because the WGAN-GP gradient penalty
differentiates twice (``create_graph=True``), which DDP does not support.

Processes come from one of two places (:func:`data_parallel`):

- ``torchrun`` (or any launcher that sets ``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR`` and
  ``MASTER_PORT``, :func:`torchrun_launched`): every process calls ``fit`` on the same data,
  without a run, and joins the launcher's group (a recipe run under a launcher is refused: every
  process would run all of it);
- ``processes = N``: the process calling ``fit`` is rank 0 and starts N - 1 more that meet it at a
  TCPStore (a port the system picks): in a run whose executor is Ray, as Ray tasks wherever the
  cluster has room (one CPU share each, and one GPU each on CUDA), meeting at this node's address;
  otherwise on this machine (torch.multiprocessing, spawn), meeting on 127.0.0.1.

Rank 0 alone reads and writes checkpoints and shows progress; the others keep no run (a component
sends them rank 0's checkpoint with :meth:`Shard.from_rank0`). Torch is imported inside functions
only.
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from sc_toolkit import StepError, UserError

#: How long a process waits for the others (to meet, or inside one collective) before failing.
TIMEOUT = timedelta(minutes=10)
#: Seconds the started processes get to end on their own once rank 0 has failed.
GRACE = 5.0


@dataclass(frozen=True)
class Shard:
    """This process's place in a data-parallel training: ``rank`` of ``world`` processes (one
    process alone: rank 0 of 1, every method a no-op)."""

    rank: int = 0
    world: int = 1

    def device(self, device: str) -> str:
        """This process's device for the resolved ``device``: with CUDA and several processes, the
        GPU of its local rank on its machine (``LOCAL_RANK``, or its rank among processes started
        here), made the current CUDA device (NCCL's object broadcast uses it); UserError when
        ``device`` names one GPU or the machine has too few."""
        if self.world == 1 or not device.startswith("cuda"):
            return device
        if ":" in device:
            raise UserError(f"device '{device}' is one GPU, and each of {self.world} processes needs its own",
                            hint="set device = 'cuda' (or 'auto'): process i takes GPU i of its machine")
        import torch

        local, count = int(os.environ.get("LOCAL_RANK", self.rank)), torch.cuda.device_count()
        if local >= count:
            raise UserError(f"process {local} of this machine has no GPU of its own ({count} GPUs)",
                            hint="start at most as many processes per machine as it has GPUs")
        torch.cuda.set_device(local)
        return f"cuda:{local}"

    def part(self, rows: int, *, equal: bool = False, empty: bool = False) -> slice:
        """This process's contiguous part of a batch of ``rows`` rows (parts differ by at most one
        row; with ``equal``, they must be equal). UserError when a part would be unequal, or empty
        unless ``empty`` allows it (a batch of fewer rows than processes)."""
        size, extra = divmod(rows, self.world)
        if (size == 0 and not empty) or (equal and extra):
            raise UserError(f"a batch of {rows} rows does not split into {self.world} "
                            f"{'equal ' if equal else ''}non-empty parts, one per process",
                            hint=f"choose a batch_size that is a multiple of processes ({self.world})")
        start = self.rank * size + min(self.rank, extra)
        return slice(start, start + size + (self.rank < extra))

    def weight(self, rows: int) -> float:
        """What this process's mean over its part of ``rows`` rows is multiplied by so that the
        average over processes is the mean over all rows (1 for equal parts, 0 for an empty one)."""
        part = self.part(rows, empty=True)
        return (part.stop - part.start) * self.world / rows

    def average(self, tensor):
        """``tensor`` replaced, in place, by its mean over the processes; returned."""
        if self.world > 1:
            import torch.distributed as dist

            dist.all_reduce(tensor)
            tensor /= self.world
        return tensor

    def average_gradients(self, *optimizers) -> None:
        """Make every ``step`` of these optimisers first average the gradients over the processes."""
        if self.world > 1:
            for optimizer in optimizers:
                optimizer.register_step_pre_hook(self._average_before_step)

    def from_rank0(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (any picklable object)."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def _average_before_step(self, optimizer, args, kwargs) -> None:
        import torch

        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            flat = self.average(torch.cat([g.reshape(-1) for g in grads]))
            for grad, averaged in zip(grads, flat.split([g.numel() for g in grads])):
                grad.copy_(averaged.view_as(grad))


ALONE = Shard()

#: ``train(X, y, run, shard)``: a component's training loop for this process's ``shard`` (a
#: module-level function or a :func:`functools.partial` of one: the started processes unpickle it).
Train = Callable[[Any, Any, Any, Shard], Any]


def torchrun_launched() -> bool:
    """Whether a launcher (torchrun) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def data_parallel(name: str, train: Train, X, y, run, processes: int, device: str):
    """Run ``train`` alone (``processes`` 1, no launcher), as this process's rank of a launcher's
    group, or as rank 0 of ``processes`` processes started here (``name``: the component, for
    messages; ``device``: the resolved device, which picks the backend: NCCL on CUDA, else Gloo).
    Returns what this process's ``train`` returns."""
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if torchrun_launched():
        if run is not None:
            raise UserError(f"{name}: a recipe run under torchrun would run whole in every process",
                            hint="run the recipe without torchrun and set the component's processes, or train "
                            "under torchrun from Python (docs/cluster.md)")
        if processes != 1:
            raise UserError(f"{name}: processes = {processes} under a launcher that already started "
                            f"{os.environ['WORLD_SIZE']} processes",
                            hint="leave processes at 1 under torchrun: each torchrun process trains one part")
        import torch.distributed as dist

        if not dist.is_initialized():  # kept for later trainings, as the launcher's processes live on
            dist.init_process_group(backend, timeout=TIMEOUT)
        rank, world = dist.get_rank(), dist.get_world_size()
        return train(X, y, run if rank == 0 else None, Shard(rank, world))
    if processes == 1:
        return train(X, y, run, ALONE)
    return _spawned(name, train, X, y, run, processes, backend)


# ------------------------------------------------------------------------------------- internals

@contextmanager
def _group(backend: str, store, rank: int, world: int):
    import torch.distributed as dist

    dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=TIMEOUT)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _spawned(name: str, train: Train, X, y, run, processes: int, backend: str):
    """Rank 0 here, ranks 1.. started by the run's executor where it can (Ray tasks), else here,
    meeting at a store of this process (at a port the system picks); the torch threads of this
    process are shared out among the processes while they train."""
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp

    threads = max(1, torch.get_num_threads() // processes)
    executor = getattr(run, "executor", None)
    starts = getattr(executor, "start_processes", None)
    host = executor.node_address() if starts is not None else "127.0.0.1"
    store = dist.TCPStore(host, 0, processes, is_master=True, timeout=TIMEOUT, wait_for_workers=False)
    if starts is not None:
        children = starts(_child, [(index, train, X, y, host, store.port, processes, backend, threads, True)
                                   for index in range(processes - 1)],
                          cpus=threads, gpus=int(backend == "nccl"))
    else:
        children = _LocalProcesses(mp.start_processes(
            _child, args=(train, X, y, host, store.port, processes, backend, threads, False),
            nprocs=processes - 1, join=False, start_method="spawn"))
    if run is not None:
        where = f"as Ray tasks, meeting at {host}" if starts is not None else "on this machine"
        run.log(f"{name}: {processes} training processes, rank 0 here, the others started {where}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _wait_for(children, store, processes, name)
        with _loopback(host), _group(backend, store, 0, processes):
            result = train(X, y, run, Shard(0, processes))
    except BaseException as error:
        failure = _stop(children, name)
        if failure is None or not isinstance(error, RuntimeError):
            raise  # this process's own error (the others stopped on the same one, or were stopped)
        raise failure from error  # a collective failed: another process went away first, name its failure
    finally:
        torch.set_num_threads(before)
    _wait(children, name)
    return result


def _child(index: int, train: Train, X, y, host: str, port: int, processes: int, backend: str, threads: int,
           own_gpu: bool):
    """Rank ``index + 1``: meets rank 0 at ``host:port`` and trains its part. ``own_gpu``: the
    launcher (Ray) shows this process only its own GPU, which is then the first it sees."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    rank = index + 1
    if own_gpu:
        os.environ["LOCAL_RANK"] = "0"
    store = dist.TCPStore(host, port, processes, is_master=False, timeout=TIMEOUT)
    store.set(f"started/{rank}", "1")
    with _loopback(host), _group(backend, store, rank, processes):
        train(X, y, None, Shard(rank, processes))


class _LocalProcesses:
    """The processes torch.multiprocessing started here: ``join`` (see :func:`_wait`) and
    ``terminate`` of those still running."""

    def __init__(self, context):
        self.context = context

    def join(self, timeout: float | None = None) -> bool:
        return self.context.join(timeout=timeout)

    def terminate(self) -> None:
        for process in self.context.processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _wait_for(children, store, processes: int, name: str) -> None:
    """Until every started process has reached the store; StepError as soon as one has failed."""
    keys = [f"started/{rank}" for rank in range(1, processes)]
    while not store.check(keys):
        if _wait(children, name, timeout=0.1):
            raise StepError(f"{name}: the training processes ended before they started")


def _wait(children, name: str, timeout: float | None = None) -> bool:
    """Wait for the started processes (at most ``timeout`` seconds): whether all have ended;
    StepError naming the first that failed (torch then stops the others)."""
    try:
        if timeout is not None:
            return children.join(timeout=timeout)
        while not children.join():
            pass
        return True
    except Exception as error:  # ProcessRaisedException / ProcessExitedException, with the child's traceback
        last = str(error).strip().splitlines()[-1]
        raise StepError(f"{name}: a training process failed: {last}"[:400]) from error


def _stop(children, name: str) -> StepError | None:
    """After this process (rank 0) failed: the others' first failure, if any. Those still running
    after ``GRACE`` seconds wait for rank 0 in a collective and are terminated."""
    deadline = time.monotonic() + GRACE
    try:
        while not _wait(children, name, timeout=0.1) and time.monotonic() < deadline:
            pass
    except StepError as failure:
        return failure
    finally:
        children.terminate()
    return None


@contextmanager
def _loopback(host: str):
    """With ``host`` 127.0.0.1: Gloo's and NCCL's own sockets on the loopback interface (they would
    otherwise bind to the address the host name resolves to). Otherwise their own choice, or the
    interface ``GLOO_SOCKET_IFNAME`` / ``NCCL_SOCKET_IFNAME`` name."""
    if host != "127.0.0.1":
        yield
        return
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    keys = ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME")
    before = {key: os.environ.get(key) for key in keys}
    if names:
        os.environ.update(dict.fromkeys(keys, names[0]))
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
