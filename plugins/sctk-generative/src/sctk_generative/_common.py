"""Machinery shared by the generators of this plugin: labels, seeding, warm start, checkpoints,
progress, persistence and conditional sampling.

:class:`TorchGenerator` is the base of ``wgan-gp``, ``lim-wgan``, ``vae`` and ``diffusion``. A
subclass names its networks (``networks = ("generator", "critic")``; the fitted modules live in the
attributes ``generator_`` and ``critic_``), builds them in :meth:`TorchGenerator._build`, and writes
its own training loop around :meth:`TorchGenerator._setup` (data, labels, seed, device, fresh or
warm-started networks, the checkpoint to resume) and :meth:`TorchGenerator._end_epoch` (history,
progress, divergence check, atomic checkpoint).

Torch is imported inside functions only: loading the plugin registry must stay light.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from sc_toolkit import Generator, Params, Shard, StepError, UserError
from sc_toolkit import data_parallel, log, read_checkpoint, resolve_device, torchrun_launched, write_checkpoint

CHECKPOINT_FILE = "checkpoint.pt"
#: Rows generated per forward pass when sampling.
SAMPLE_BATCH = 16_384
#: Bumped when the checkpoint layout changes (older checkpoints are then ignored, not misread).
CHECKPOINT_FORMAT = 2


# --------------------------------------------------------------------------------- shared params

class TorchParams(Params):
    """Parameters every torch generator shares: device, mixed precision, checkpoints, seed, processes."""

    device: str = Field("auto", description="torch device: 'auto' (CUDA when usable), 'cpu', 'cuda', 'cuda:1', ...")
    amp: bool = Field(True, description="bfloat16 autocast on CUDA (no effect on CPU)")
    checkpoint_every: int = Field(
        25, ge=0, description="write a resumable checkpoint every this many epochs when run by a run (0 = never)"
    )
    seed: int | None = Field(None, description="training seed (None: the run's seed, or 0 without a run)")
    processes: int = Field(
        1, ge=1, description="data-parallel training processes on this machine, each on an equal part of every "
        "batch (one GPU each on CUDA); wgan-gp, vae and diffusion; 1 = one process, as under torchrun"
    )


def check_betas(betas: tuple[float, float]) -> tuple[float, float]:
    if not all(0 <= b < 1 for b in betas):
        raise ValueError("Adam's betas must lie in [0, 1)")
    return betas


def check_widths(widths: list[int]) -> list[int]:
    if min(widths) < 1:
        raise ValueError("every hidden width must be at least 1")
    return widths


# ---------------------------------------------------------------------------------------- labels

def encode_labels(y, n: int) -> tuple[np.ndarray, list[str]]:
    """Class index per row and the sorted class names (empty when ``y`` is None)."""
    if y is None:
        return np.zeros(n, dtype=np.int64), []
    labels = np.asarray(y)
    if labels.shape != (n,):
        raise UserError(f"y needs one label per row of X ({n}), got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.isnan(labels).any() or any(v is None for v in labels.tolist()):
        raise UserError("y holds missing labels", hint="drop those rows or give them a class")
    classes, codes = np.unique(labels.astype(str), return_inverse=True)
    return codes.astype(np.int64), classes.tolist()


def groups(feature_shape: tuple[int, ...]) -> tuple[int, int]:
    """(number of groups, their width): simplex outputs run along the last axis of a row."""
    return int(np.prod(feature_shape[:-1], dtype=np.int64)), int(feature_shape[-1])


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_simplex(X: np.ndarray, name: str, what: str = "output='softmax'") -> None:
    """UserError unless every row of ``X`` is non-negative and sums to 1 along the last axis."""
    sums = X.sum(axis=-1)
    if X.min() < 0 or not np.allclose(sums, 1, atol=1e-3):
        raise UserError(
            f"{name}: {what} needs non-negative rows that sum to 1 along the last axis "
            f"(got values from {X.min():.3g}, sums from {sums.min():.3g} to {sums.max():.3g})",
            hint="encode compositions as fractions, or choose another output",
        )


def check_adjusted_onehot(X: np.ndarray, name: str) -> None:
    """UserError unless each group of ``X`` (along the last axis) has exactly one non-zero slot, a
    positive value, and that value is 1 when the slot is slot 0 (absent), as in ``scgan-onehot``."""
    nonzero = X != 0
    ones_at_zero = np.where(nonzero[..., 0], X[..., 0] == 1, True)
    if X.min() < 0 or not (nonzero.sum(axis=-1) == 1).all() or not ones_at_zero.all():
        raise UserError(
            f"{name}: output='adjusted-onehot' needs rows of an adjusted one-hot matrix along the last axis "
            f"(one non-zero slot per group, positive, 1 at slot 0 for 'absent')",
            hint="encode with scgan-onehot, or choose output='softmax-scaled'",
        )


def as_float_rows(X, name: str) -> np.ndarray:
    """``X`` as float32, at least 2-D, non-empty and finite (UserError otherwise)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim < 2 or len(X) == 0 or X.shape[1:].count(0):
        raise UserError(f"{name} needs a non-empty array of shape (n, d) or (n, a, b, ...), got {X.shape}")
    if not np.isfinite(X).all():
        raise UserError("X holds NaN or infinite values", hint="drop or impute those rows before training")
    return X


def state_digest(modules: dict[str, Any]) -> str:
    """sha256 of the state dicts of ``modules`` (the starting weights of a warm start)."""
    digest = hashlib.sha256()
    for name, module in sorted(modules.items()):
        for key, tensor in module.state_dict().items():
            digest.update(f"{name}.{key}".encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass
class Setup:
    """What :meth:`TorchGenerator._setup` prepares for a training loop."""

    flat: np.ndarray
    feature_shape: tuple[int, ...]
    codes: np.ndarray
    classes: list[str]
    seed: int
    device: Any
    use_amp: bool
    nets: dict[str, Any]
    fingerprint: str
    warm: bool
    checkpoint_path: Path | None = None
    saved: dict | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    start: int = 0
    shard: Shard = Shard()

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def autocast(self):
        import torch

        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.use_amp)


# ------------------------------------------------------------------------------------ base class

class TorchGenerator(Generator):
    """Base of this plugin's torch generators (see the module docstring)."""

    conditional = True
    requires = ("torch",)
    #: Names of the networks; the fitted module of network ``x`` is the attribute ``x_``. The first
    #: one is the network that samples.
    networks: ClassVar[tuple[str, ...]] = ()
    #: Parameters a checkpoint may have been written under other values of and still resume (the
    #: resolved device type is matched instead of ``device``).
    resumable_across: ClassVar[set[str]] = {"epochs", "checkpoint_every", "device", "amp", "processes"}
    #: Whether the training loop takes a :class:`~sc_toolkit.Shard` (several
    #: processes); a generator that cannot also refuses ``processes`` > 1 in its Params.
    trains_data_parallel: ClassVar[bool] = True

    # -- to implement ------------------------------------------------------------------------

    def _build(self, feature_shape: tuple[int, ...], n_classes: int) -> dict[str, Any]:
        """Fresh networks for rows of ``feature_shape`` and ``n_classes`` labels (0: unconditional)."""
        raise NotImplementedError

    def _check_X(self, X) -> np.ndarray:
        """``X`` validated for this generator's output (float32, original shape)."""
        return as_float_rows(X, self.name)

    # -- training ----------------------------------------------------------------------------

    @property
    def state_file(self) -> str:
        return f"{self.name}.pt"

    def is_fitted(self) -> bool:
        return getattr(self, f"{self.networks[0]}_", None) is not None

    def _train_parallel(self, train, X, y, run):
        """``train(X, y, run, shard)`` in one process or data-parallel (``processes``, torchrun);
        a generator without ``trains_data_parallel`` refuses a torchrun launch."""
        import torch  # noqa: F401  (resolve_device asks the torch that is loaded)

        p = self.params
        if not self.trains_data_parallel and torchrun_launched():
            raise UserError(f"{self.name} trains in one process only, not in each of torchrun's processes",
                            hint="train it without torchrun; docs/cluster.md lists the generators that train "
                            "data-parallel")
        data_parallel(self.name, train, X, y, run, p.processes, resolve_device(p.device))
        return self

    def _setup(self, X, y, run, shard: Shard = Shard()) -> Setup:
        """Validate data and labels; build fresh networks (seeded) or, when this generator is
        already fitted, copies of its networks (warm start); find the checkpoint to resume (read by
        rank 0 of a data-parallel training, whose ``run`` alone is given, and sent to the others)."""
        import torch

        p = self.params
        X = self._check_X(X)
        feature_shape = tuple(X.shape[1:])
        flat = np.ascontiguousarray(X.reshape(len(X), -1))
        codes, classes = encode_labels(y, len(flat))
        device = torch.device(shard.device(resolve_device(p.device)))
        seed = shard.from_rank0(p.seed if p.seed is not None else (run.seed if run is not None else 0))
        warm = self.is_fitted()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            nets = self._build(feature_shape, len(classes))
        start_digest = ""
        if warm:
            if tuple(self.feature_shape_) != feature_shape:
                raise UserError(
                    f"{self.name} was fitted on rows of shape {tuple(self.feature_shape_)} and cannot continue "
                    f"on rows of shape {feature_shape}",
                    hint="transfer learning needs the same encoder (init_from reuses the saved one)",
                )
            if list(self.classes_) != classes:
                raise UserError(
                    f"{self.name} was fitted with labels {self.classes_ or 'none'} and cannot continue with "
                    f"labels {classes or 'none'} (the networks' label inputs differ)",
                    hint="fine-tune with the same label column (or none) as the pre-training run",
                )
            for name, module in nets.items():
                fitted = getattr(self, f"{name}_", None)
                if fitted is None:
                    continue  # e.g. a critic missing from an older save: it starts fresh (seeded)
                try:
                    module.load_state_dict(fitted.state_dict())
                except RuntimeError as error:
                    raise UserError(
                        f"{self.name}: the fitted {name} does not fit the current parameters ({error})"[:400],
                        hint="keep the architecture parameters (sizes, widths) of the pre-training run",
                    ) from None
            start_digest = state_digest(nets)
        for module in nets.values():
            module.to(device)
        fingerprint = self._fingerprint(flat, codes, classes, seed, device.type, start_digest)
        setup = Setup(flat, feature_shape, codes, classes, seed, device, bool(p.amp and device.type == "cuda"),
                      nets, fingerprint, warm, shard=shard)
        if warm:
            log(run, f"{self.name}: continuing from the fitted weights (warm start)")
        if run is not None and p.checkpoint_every > 0:
            setup.checkpoint_path = Path(run.checkpoint_dir(self.name)) / CHECKPOINT_FILE
            setup.saved = read_checkpoint(setup.checkpoint_path, fingerprint, p.epochs, run, self.name)
        setup.saved = shard.from_rank0(setup.saved)
        if setup.saved is not None:
            for name, module in nets.items():
                module.load_state_dict(setup.saved["nets"][name])
            setup.history, setup.start = list(setup.saved["history"]), int(setup.saved["epoch"])
            log(run, f"{self.name}: resuming from epoch {setup.start} of {p.epochs}")
        return setup

    def _start_training(self, setup: Setup, optimizers: dict[str, Any]) -> dict[str, Any]:
        """The seeded random generators of a training run ("data" on the CPU for shuffling, "noise"
        on the device), with optimiser and generator states loaded from the checkpoint being
        resumed (if any)."""
        import torch

        rngs = {
            "data": torch.Generator().manual_seed(setup.seed),
            "noise": torch.Generator(device=setup.device).manual_seed(setup.seed + 1),
        }
        if setup.saved is not None:
            for name, optimizer in optimizers.items():
                optimizer.load_state_dict(setup.saved["optimizers"][name])
            for name, rng in rngs.items():
                rng.set_state(setup.saved["rngs"][name])
        return rngs

    def _end_epoch(self, setup: Setup, epoch: int, row: dict[str, float], bar, optimizers, rngs) -> None:
        """Record ``row`` (losses of epoch ``epoch``, 0-based), show it, stop on a non-finite loss,
        write the checkpoint when due."""
        if not all(math.isfinite(v) for v in row.values()):
            raise StepError(
                f"{self.name} diverged at epoch {epoch + 1} (a loss is not finite)",
                hint="lower learning_rate or check X for extreme values",
            )
        setup.history.append({"epoch": epoch + 1, **row})
        bar.advance(**row)
        done = epoch + 1
        every = self.params.checkpoint_every
        if setup.checkpoint_path is not None and (done % every == 0 or done == self.params.epochs):
            write_checkpoint(
                setup.checkpoint_path,
                {
                    "fingerprint": setup.fingerprint,
                    "epoch": done,
                    "history": setup.history,
                    "nets": {name: module.state_dict() for name, module in setup.nets.items()},
                    "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
                    "rngs": {name: rng.get_state() for name, rng in rngs.items()},
                },
            )

    def _finish(self, setup: Setup) -> None:
        """Keep the trained networks (eval mode) and what sampling needs."""
        for name, module in setup.nets.items():
            setattr(self, f"{name}_", module.eval())
        n = len(setup.codes)
        self.classes_ = setup.classes
        self.class_frequencies_ = (
            (np.bincount(setup.codes, minlength=setup.n_classes) / n).tolist() if setup.n_classes else []
        )
        self.feature_shape_ = setup.feature_shape
        self.history_ = setup.history

    def _fingerprint(self, flat, codes, classes, seed, device: str, start: str) -> str:
        """What a checkpoint must match to be resumed: data, labels, seed, device type, params and
        the starting weights of a warm start."""
        digest = hashlib.sha256()
        digest.update(repr((CHECKPOINT_FORMAT, self.name, flat.shape, classes, seed, device, start)).encode())
        digest.update(self.params.model_dump_json(exclude=self.resumable_across | {"seed"}).encode())
        digest.update(flat.tobytes())
        digest.update(codes.astype(np.int64).tobytes())
        return digest.hexdigest()

    def _optimizer(self, parameters, kind: str | None = None):
        """Adam (lr, betas) or RMSProp (lr, alpha) with this generator's parameters."""
        import torch

        p = self.params
        kind = kind or getattr(p, "optimizer", "adam")
        if kind == "adam":
            return torch.optim.Adam(parameters, lr=p.learning_rate, betas=tuple(p.betas))
        return torch.optim.RMSprop(parameters, lr=p.learning_rate, alpha=p.rmsprop_alpha)

    # -- sampling ----------------------------------------------------------------------------

    def _sampling(self, n_samples, condition, random_state):
        """(device, torch generator, class index per sample or None): checks ``n_samples`` and
        ``condition``; without a condition a conditional model draws classes in their training
        proportions."""
        import torch

        self._fitted()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
            raise UserError(f"n_samples must be a non-negative integer, got {n_samples!r}")
        n_samples = int(n_samples)
        codes = self._condition_codes(condition, n_samples)
        device = torch.device(resolve_device(self.params.device))
        rng = torch.Generator(device=device)
        if random_state is None:
            rng.seed()
        else:
            rng.manual_seed(int(random_state))
        if self.classes_ and codes is None:
            weights = torch.tensor(self.class_frequencies_, device=device)
            codes_t = torch.multinomial(weights, n_samples, replacement=True, generator=rng) if n_samples else (
                torch.zeros(0, dtype=torch.long, device=device))
        else:
            codes_t = None if codes is None else torch.from_numpy(codes).to(device)
        return device, rng, codes_t

    def _fitted(self):
        if not self.is_fitted():
            raise UserError(f"{self.name} is not fitted", hint="call fit(X) before sample or save")
        return getattr(self, f"{self.networks[0]}_")

    def _condition_codes(self, condition, n_samples: int) -> np.ndarray | None:
        """Class index per row for ``condition`` (None: no condition given)."""
        if condition is None:
            return None
        if not self.classes_:
            raise UserError(
                f"{self.name} was fitted without labels, so it samples without a condition; got condition="
                f"{short(condition)}",
                hint="pass condition=None, or fit with y (one class label per row)",
            )
        labels = np.asarray(condition).astype(str)
        if labels.ndim == 0:
            labels = np.full(n_samples, labels.item())
        elif labels.shape != (n_samples,):
            raise UserError(f"condition needs one label or {n_samples} labels (one per sample), got shape {labels.shape}")
        known = {label: i for i, label in enumerate(self.classes_)}
        unknown = sorted(set(labels.tolist()) - known.keys())
        if unknown:
            raise UserError(
                f"unknown condition label(s) {', '.join(map(repr, unknown[:5]))}",
                hint="known labels: " + ", ".join(self.classes_),
            )
        return np.array([known[label] for label in labels.tolist()], dtype=np.int64)

    # -- metadata ----------------------------------------------------------------------------

    def provenance(self) -> dict[str, Any]:
        import torch

        device = resolve_device(self.params.device)
        return {"torch": torch.__version__, "device": device, "amp_bfloat16": self.params.amp and device.startswith("cuda")}

    # -- persistence -------------------------------------------------------------------------

    def _save_state(self, directory: Path) -> None:
        """Every network's weights (the critic too: a later fit continues from all of them) and what
        sampling needs."""
        import torch

        self._fitted()
        nets = {}
        for name in self.networks:
            module = getattr(self, f"{name}_", None)
            if module is not None:
                nets[name] = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        state = {
            "nets": nets,
            "classes": self.classes_,
            "class_frequencies": self.class_frequencies_,
            "feature_shape": list(self.feature_shape_),
            "history": self.history_,
        }
        torch.save(state, directory / self.state_file)

    def _load_state(self, directory: Path) -> None:
        import torch

        state = torch.load(directory / self.state_file, map_location="cpu", weights_only=True)
        self.classes_ = list(state["classes"])
        self.class_frequencies_ = list(state["class_frequencies"])
        self.feature_shape_ = tuple(state["feature_shape"])
        self.history_ = list(state["history"])
        # older wgan-gp saves held the generator alone, under "generator"
        saved = state.get("nets") or {self.networks[0]: state[self.networks[0]]}
        nets = self._build(self.feature_shape_, len(self.classes_))
        for name, module in nets.items():
            if name in saved:
                module.load_state_dict(saved[name])
                setattr(self, f"{name}_", module.eval())
            else:
                setattr(self, f"{name}_", None)


class TorchGAN(TorchGenerator):
    """Base of the generators that sample with a generator network fed noise (+ one-hot label)."""

    def sample(self, n_samples: int, *, condition=None, random_state: int | None = None, run=None) -> np.ndarray:
        """``n_samples`` float32 rows shaped like the training rows; ``condition`` is a class label or
        one label per row (conditional fits only); ``random_state`` fixes the samples."""
        import torch

        generator = self._fitted()
        n_samples = int(n_samples)
        device, rng, codes = self._sampling(n_samples, condition, random_state)
        generator.to(device)
        out = np.empty((n_samples, int(np.prod(self.feature_shape_))), dtype=np.float32)
        use_amp = self.params.amp and device.type == "cuda"
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            for start in range(0, n_samples, SAMPLE_BATCH):  # in batches, noise from self._noise
                stop = min(start + SAMPLE_BATCH, n_samples)
                onehot = None
                if codes is not None:
                    onehot = torch.nn.functional.one_hot(codes[start:stop], len(self.classes_)).float()
                rows = generator(self._noise(stop - start, rng, device), onehot)
                out[start:stop] = rows.float().reshape(stop - start, -1).cpu().numpy()
        return out.reshape(n_samples, *self.feature_shape_)
