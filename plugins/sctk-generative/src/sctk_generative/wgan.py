"""``wgan-gp``: a Wasserstein GAN with gradient penalty over encoded compositions, optionally
conditioned on class labels (cuprate, pnictide, ...).

This module imports no torch at import time (the plugin registry must stay light); the networks live
in :mod:`sctk_generative._nets`, imported inside the methods that train or sample.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from sc_toolkit import Generator, StepError, UserError
from sc_toolkit import Params as BaseParams
from sc_toolkit.progress import log, progress, resolve_device

CHECKPOINT_FILE = "checkpoint.pt"
STATE_FILE = "wgan-gp.pt"
#: Rows generated per forward pass in :meth:`WGANGP.sample`.
SAMPLE_BATCH = 16_384
#: Parameters a checkpoint may have been written under other values of and still resume (the
#: resolved device type is matched instead of ``device``).
RESUMABLE_ACROSS = {"epochs", "checkpoint_every", "device", "amp"}


class WGANGP(Generator):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017) over encoded materials.

    Contract:

    - ``fit(X, y=None, *, run=None)`` trains on ``X`` of shape ``(n, d)`` or ``(n, a, b)`` (flattened
      inside, samples come back in the same shape). With ``y`` (one class label per row, any values,
      compared as strings) the generator and the critic both see a one-hot label, and
      ``sample(condition=...)`` asks for a class. One epoch is about one pass of the critic over the
      data: ``max(1, n // (batch_size * critic_steps))`` generator steps, each after ``critic_steps``
      critic steps on fresh shuffled batches.
    - The same ``seed`` on the same device gives the same weights (bit for bit on CPU).
    - With a ``run`` and ``checkpoint_every > 0``, ``checkpoint.pt`` in
      ``run.checkpoint_dir("wgan-gp")`` is written atomically every that many epochs and after the
      last one; a later ``fit`` on the same data and parameters resumes from it (``epochs`` may grow)
      and ends with the weights an uninterrupted run would have had (on CPU).
    - ``sample(n, condition=None, random_state=None)`` returns float32 numpy rows; a label or one label
      per row picks the class (labels never seen in ``fit`` are a UserError); without a condition a
      conditional model draws classes in their training proportions.
    - ``output="softmax"`` puts every sample on the simplex along the last data axis (rows of element
      fractions sum to 1; each of the ``a`` rows of an ``(n, a, b)`` encoding sums to 1); training data
      must then be non-negative with such sums (a UserError otherwise, as for "sigmoid" outside [0, 1]).

    Defaults were chosen on the 4,157 SuperCon (Stanev 2018) cuprates with Tc > 0, encoded as 96 element
    fractions, on a shared 2-core CPU (one torch thread): 300 epochs of batch 128 (about 200 s, ~1.5
    epochs/s) with Adam at lr 2e-4, betas (0.5, 0.9) (Gulrajani's betas). Against lr 5e-4, or lr 1e-3 at
    batch 256, lr 2e-4 gave samples whose element sets more often occur in training (0.55 against
    0.49 and 0.53) and closer mean fractions; RMSProp (ScGAN's choice, still available) and Adam at lr
    1e-4 were further off after 100 epochs. See ``benchmarks/supercon_cuprates.py``.
    """

    name = "wgan-gp"
    conditional = True
    requires = ("torch",)
    quick: ClassVar[dict[str, Any]] = {"epochs": 3}

    class Params(BaseParams):
        epochs: int = Field(300, ge=1, description="training epochs (about one critic pass over the data each)")
        batch_size: int = Field(128, ge=1, description="rows per critic and generator batch")
        noise_dim: int = Field(64, ge=1, description="size of the generator's Gaussian noise vector")
        hidden: list[int] = Field(
            [256, 256], min_length=1, description="widths of the hidden layers of the generator and of the critic"
        )
        critic_steps: int = Field(5, ge=1, description="critic updates per generator update")
        gp_weight: float = Field(10.0, ge=0, description="weight of the gradient penalty (lambda)")
        optimizer: Literal["adam", "rmsprop"] = Field("adam", description="optimiser of both networks")
        learning_rate: float = Field(2e-4, gt=0, description="learning rate of both networks")
        betas: tuple[float, float] = Field((0.5, 0.9), description="Adam's (beta1, beta2)")
        rmsprop_alpha: float = Field(0.99, gt=0, lt=1, description="RMSProp's smoothing constant")
        output: Literal["softmax", "sigmoid", "linear"] = Field(
            "softmax",
            description="generator output: 'softmax' (simplex along the last axis, e.g. element fractions), "
            "'sigmoid' (values in [0, 1]) or 'linear' (unbounded; scale data to about unit size)",
        )
        device: str = Field("auto", description="torch device: 'auto' (CUDA when usable), 'cpu', 'cuda', 'cuda:1', ...")
        amp: bool = Field(True, description="bfloat16 autocast on CUDA (no effect on CPU)")
        checkpoint_every: int = Field(
            25, ge=0, description="write a resumable checkpoint every this many epochs when run by a run (0 = never)"
        )
        seed: int | None = Field(None, description="training seed (None: the run's seed, or 0 without a run)")

        @field_validator("hidden")
        @classmethod
        def _positive_widths(cls, widths: list[int]) -> list[int]:
            if min(widths) < 1:
                raise ValueError("every hidden width must be at least 1")
            return widths

        @field_validator("betas")
        @classmethod
        def _betas_in_unit_interval(cls, betas: tuple[float, float]) -> tuple[float, float]:
            if not all(0 <= b < 1 for b in betas):
                raise ValueError("Adam's betas must lie in [0, 1)")
            return betas

    # ----------------------------------------------------------------------------------------- fit

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, run=None) -> WGANGP:
        """Train on ``X`` (and class labels ``y``); resume from the run's checkpoint when there is one."""
        import torch

        from ._nets import CriticNet, GeneratorNet

        p = self.params
        flat, feature_shape = self._check_X(X)
        codes, classes = _encode_labels(y, len(flat))
        n, n_features = flat.shape
        n_classes = len(classes)
        seed = p.seed if p.seed is not None else (run.seed if run is not None else 0)
        device = torch.device(resolve_device(p.device))
        use_amp = p.amp and device.type == "cuda"

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = GeneratorNet(p.noise_dim, n_classes, p.hidden, *_groups(feature_shape), p.output)
            critic = CriticNet(n_features, n_classes, p.hidden)
        generator.to(device)
        critic.to(device)
        opt_g, opt_c = self._optimizer(generator.parameters()), self._optimizer(critic.parameters())
        data_rng = torch.Generator().manual_seed(seed)
        noise_rng = torch.Generator(device=device).manual_seed(seed + 1)

        real_all = torch.from_numpy(flat).to(device)
        onehot_all = None
        if n_classes:
            onehot_all = torch.nn.functional.one_hot(torch.from_numpy(codes), n_classes).float().to(device)

        checkpoint_path = None
        fingerprint = self._fingerprint(flat, codes, classes, seed, device.type)
        history: list[dict[str, float]] = []
        start = 0
        if run is not None and p.checkpoint_every > 0:
            checkpoint_path = Path(run.checkpoint_dir(self.name)) / CHECKPOINT_FILE
            saved = _read_checkpoint(checkpoint_path, fingerprint, p.epochs, run)
            if saved is not None:
                generator.load_state_dict(saved["generator"])
                critic.load_state_dict(saved["critic"])
                opt_g.load_state_dict(saved["opt_generator"])
                opt_c.load_state_dict(saved["opt_critic"])
                data_rng.set_state(saved["data_rng"])
                noise_rng.set_state(saved["noise_rng"])
                history, start = list(saved["history"]), int(saved["epoch"])
                log(run, f"wgan-gp: resuming from epoch {start} of {p.epochs}")

        batch = min(p.batch_size, n)
        steps = max(1, n // (batch * p.critic_steps))
        rows_per_epoch = steps * p.critic_steps * batch
        autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp)
        generator.train()
        critic.train()
        with progress(run, "training wgan-gp", total=p.epochs) as bar:
            if start:
                bar.advance(start)
            for epoch in range(start, p.epochs):
                order = torch.cat([torch.randperm(n, generator=data_rng) for _ in range(math.ceil(rows_per_epoch / n))])
                order = order[:rows_per_epoch].view(steps, p.critic_steps, batch).to(device)
                sums = torch.zeros(4, device=device)  # critic loss, generator loss, W distance, penalty
                for step in range(steps):
                    critic.requires_grad_(True)
                    for index in order[step]:
                        real = real_all[index]
                        onehot = None if onehot_all is None else onehot_all[index]
                        with torch.no_grad(), autocast:
                            fake = generator(self._noise(batch, noise_rng, device), onehot).float()
                        mix = torch.rand(batch, 1, generator=noise_rng, device=device)
                        between = (mix * real + (1 - mix) * fake).requires_grad_(True)
                        with autocast:
                            scores = critic(
                                torch.cat([real, fake, between]),
                                None if onehot is None else onehot.repeat(3, 1),
                            ).float()
                        (grad,) = torch.autograd.grad(scores[2 * batch :].sum(), between, create_graph=True)
                        penalty = ((grad.norm(2, dim=1) - 1) ** 2).mean()
                        distance = scores[:batch].mean() - scores[batch : 2 * batch].mean()
                        loss_c = -distance + p.gp_weight * penalty
                        opt_c.zero_grad(set_to_none=True)
                        loss_c.backward()
                        opt_c.step()
                        sums += torch.stack([loss_c, torch.zeros_like(loss_c), distance, penalty]).detach()
                    critic.requires_grad_(False)
                    onehot = None
                    if onehot_all is not None:
                        onehot = onehot_all[torch.randint(n, (batch,), generator=data_rng).to(device)]
                    with autocast:
                        loss_g = -critic(generator(self._noise(batch, noise_rng, device), onehot), onehot).float().mean()
                    opt_g.zero_grad(set_to_none=True)
                    loss_g.backward()
                    opt_g.step()
                    sums[1] += loss_g.detach() * p.critic_steps
                means = (sums / (steps * p.critic_steps)).tolist()
                if not all(math.isfinite(v) for v in means):
                    raise StepError(
                        f"wgan-gp diverged at epoch {epoch + 1} (a loss is not finite)",
                        hint="lower learning_rate or check X for extreme values",
                    )
                row = dict(zip(("loss_critic", "loss_generator", "wasserstein", "gradient_penalty"), means))
                history.append({"epoch": epoch + 1, **row})
                bar.advance(**row)
                done = epoch + 1
                if checkpoint_path is not None and (done % p.checkpoint_every == 0 or done == p.epochs):
                    _write_checkpoint(
                        checkpoint_path,
                        {
                            "fingerprint": fingerprint,
                            "epoch": done,
                            "history": history,
                            "generator": generator.state_dict(),
                            "critic": critic.state_dict(),
                            "opt_generator": opt_g.state_dict(),
                            "opt_critic": opt_c.state_dict(),
                            "data_rng": data_rng.get_state(),
                            "noise_rng": noise_rng.get_state(),
                        },
                    )

        self.generator_ = generator.eval()
        self.classes_ = classes
        self.class_frequencies_ = (np.bincount(codes, minlength=n_classes) / n).tolist() if n_classes else []
        self.feature_shape_ = feature_shape
        self.history_ = history
        return self

    # -------------------------------------------------------------------------------------- sample

    def sample(self, n_samples: int, *, condition=None, random_state: int | None = None, run=None) -> np.ndarray:
        """``n_samples`` float32 rows shaped like the training rows; ``condition`` is a class label or
        one label per row (conditional fits only); ``random_state`` fixes the samples."""
        import torch

        generator = self._fitted_generator()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
            raise UserError(f"n_samples must be a non-negative integer, got {n_samples!r}")
        codes = self._condition_codes(condition, int(n_samples))
        device = torch.device(resolve_device(self.params.device))
        generator.to(device)
        rng = torch.Generator(device=device)
        if random_state is None:
            rng.seed()
        else:
            rng.manual_seed(int(random_state))
        n_classes = len(self.classes_)
        if n_classes and codes is None:
            weights = torch.tensor(self.class_frequencies_, device=device)
            codes_t = torch.multinomial(weights, n_samples, replacement=True, generator=rng) if n_samples else None
        else:
            codes_t = None if codes is None else torch.from_numpy(codes).to(device)
        out = np.empty((n_samples, int(np.prod(self.feature_shape_))), dtype=np.float32)
        use_amp = self.params.amp and device.type == "cuda"
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            for start in range(0, n_samples, SAMPLE_BATCH):
                stop = min(start + SAMPLE_BATCH, n_samples)
                onehot = None
                if codes_t is not None:
                    onehot = torch.nn.functional.one_hot(codes_t[start:stop], n_classes).float()
                rows = generator(self._noise(stop - start, rng, device), onehot)
                out[start:stop] = rows.float().cpu().numpy()
        return out.reshape(n_samples, *self.feature_shape_)

    # ------------------------------------------------------------------------------------ metadata

    def citations(self) -> list[str]:
        return [
            "Gulrajani, I., Ahmed, F., Arjovsky, M., Dumoulin, V. & Courville, A. Improved Training of "
            "Wasserstein GANs. Advances in Neural Information Processing Systems 30 (2017); arXiv:1704.00028.",
            "Kim, E. & Dordevic, S. V. ScGAN: A Generative Adversarial Network to Predict Hypothetical "
            "Superconductors (2022).",
        ]

    def provenance(self) -> dict[str, Any]:
        import torch

        device = resolve_device(self.params.device)
        return {
            "torch": torch.__version__,
            "device": device,
            "amp_bfloat16": self.params.amp and device.startswith("cuda"),
        }

    # --------------------------------------------------------------------------------- persistence

    def _save_state(self, directory: Path) -> None:
        """Write the generator's weights and what sampling needs (the critic is not kept)."""
        import torch

        self._fitted_generator()
        state = {
            "generator": {k: v.detach().cpu() for k, v in self.generator_.state_dict().items()},
            "classes": self.classes_,
            "class_frequencies": self.class_frequencies_,
            "feature_shape": list(self.feature_shape_),
            "history": self.history_,
        }
        torch.save(state, directory / STATE_FILE)

    def _load_state(self, directory: Path) -> None:
        import torch

        from ._nets import GeneratorNet

        state = torch.load(directory / STATE_FILE, map_location="cpu", weights_only=True)
        p = self.params
        self.classes_ = list(state["classes"])
        self.class_frequencies_ = list(state["class_frequencies"])
        self.feature_shape_ = tuple(state["feature_shape"])
        self.history_ = list(state["history"])
        generator = GeneratorNet(p.noise_dim, len(self.classes_), p.hidden, *_groups(self.feature_shape_), p.output)
        generator.load_state_dict(state["generator"])
        self.generator_ = generator.eval()

    # ------------------------------------------------------------------------------------- helpers

    def _check_X(self, X) -> tuple[np.ndarray, tuple[int, ...]]:
        """Flat float32 rows and the shape of one row; UserError for data the output cannot produce."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim < 2 or len(X) == 0 or X.shape[1:].count(0):
            raise UserError(f"wgan-gp needs a non-empty array of shape (n, d) or (n, a, b), got {X.shape}")
        if not np.isfinite(X).all():
            raise UserError("X holds NaN or infinite values", hint="drop or impute those rows before training")
        output = self.params.output
        if output == "softmax":
            sums = X.sum(axis=-1)
            if X.min() < 0 or not np.allclose(sums, 1, atol=1e-3):
                raise UserError(
                    "output='softmax' needs non-negative rows that sum to 1 along the last axis "
                    f"(got values from {X.min():.3g}, sums from {sums.min():.3g} to {sums.max():.3g})",
                    hint="encode compositions as fractions, or set output to 'sigmoid' or 'linear'",
                )
        elif output == "sigmoid" and (X.min() < 0 or X.max() > 1):
            raise UserError(
                f"output='sigmoid' needs values in [0, 1] (got {X.min():.3g} to {X.max():.3g})",
                hint="scale X into [0, 1] or set output='linear'",
            )
        return np.ascontiguousarray(X.reshape(len(X), -1)), X.shape[1:]

    def _optimizer(self, parameters):
        import torch

        p = self.params
        if p.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=p.learning_rate, betas=tuple(p.betas))
        return torch.optim.RMSprop(parameters, lr=p.learning_rate, alpha=p.rmsprop_alpha)

    def _noise(self, rows: int, rng, device):
        import torch

        return torch.randn(rows, self.params.noise_dim, generator=rng, device=device)

    def _fingerprint(self, flat: np.ndarray, codes: np.ndarray, classes: list[str], seed: int, device: str) -> str:
        """What a checkpoint must match to be resumed: data, labels, seed, device type and params."""
        digest = hashlib.sha256()
        digest.update(repr((flat.shape, classes, seed, device)).encode())
        digest.update(self.params.model_dump_json(exclude=RESUMABLE_ACROSS | {"seed"}).encode())
        digest.update(flat.tobytes())
        digest.update(codes.astype(np.int64).tobytes())
        return digest.hexdigest()

    def _fitted_generator(self):
        generator = getattr(self, "generator_", None)
        if generator is None:
            raise UserError("wgan-gp is not fitted", hint="call fit(X) before sample or save")
        return generator

    def _condition_codes(self, condition, n_samples: int) -> np.ndarray | None:
        """Class index per row for ``condition`` (None: no condition given)."""
        if condition is None:
            return None
        if not self.classes_:
            raise UserError(
                "wgan-gp was fitted without labels, so it samples without a condition; got condition="
                f"{_short(condition)}",
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


def _encode_labels(y, n: int) -> tuple[np.ndarray, list[str]]:
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


def _groups(feature_shape: tuple[int, ...]) -> tuple[int, int]:
    """(number of simplex groups, their width): softmax runs along the last axis of a row."""
    return int(np.prod(feature_shape[:-1], dtype=np.int64)), int(feature_shape[-1])


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_checkpoint(path: Path, fingerprint: str, epochs: int, run) -> dict | None:
    """The checkpoint at ``path`` when it belongs to this training and is not past ``epochs``."""
    import torch

    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        log(run, f"wgan-gp: ignoring unreadable checkpoint {path} ({error}); training from scratch")
        return None
    if saved.get("fingerprint") != fingerprint:
        log(run, f"wgan-gp: ignoring checkpoint {path}: made with other data, parameters or device")
        return None
    if saved["epoch"] > epochs:
        log(run, f"wgan-gp: ignoring checkpoint {path}: it is at epoch {saved['epoch']}, past epochs={epochs}")
        return None
    return saved


def _write_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to a temporary file beside ``path``, then rename it over ``path``."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
