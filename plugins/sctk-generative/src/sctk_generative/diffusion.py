"""``diffusion``: a class-conditional denoising diffusion model over composition vectors, in the
manner of SuperDiff (DDPM, cosine schedule, classifier-free guidance). No torch at import time."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sc_toolkit import progress

from ._common import (
    SAMPLE_BATCH,
    TorchGenerator,
    TorchParams,
    as_float_rows,
    check_betas,
    check_simplex,
)


def cosine_alpha_bar(timesteps: int, s: float = 0.008) -> np.ndarray:
    """Cumulative signal fractions alpha_bar_t, t = 1..T, of Nichol & Dhariwal's cosine schedule
    (per-step betas clipped at 0.999), float64 of length T."""
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)
    return np.cumprod(1 - betas)


class Diffusion(TorchGenerator):
    """Class-conditional denoising diffusion model (DDPM) over composition vectors, SuperDiff-style.

    Forward process: ``timesteps`` (T, default 1000) steps of Gaussian noise under the cosine
    schedule (Nichol & Dhariwal 2021). Denoiser: an MLP with residual blocks (LayerNorm, SiLU), a
    sinusoidal time embedding and a learned class embedding added in every block, trained to predict
    the noise (Ho et al. 2020). Classifier-free guidance (Ho & Salimans 2022): during training each
    label is replaced by a null label with probability ``label_dropout``; at sampling the noise
    estimate is eps_uncond + ``guidance_scale`` * (eps_cond - eps_uncond) (1 = plain conditional
    sampling, one network pass per step instead of two). Without a condition, a model trained with
    labels samples its unconditional (null-label) model, one pass per step.

    Sampling: DDIM-style strided sampling (Song et al. 2021) over ``sampling_steps`` timesteps evenly
    spaced in 0..T-1 (None or T: every step); ``eta`` = 0 is deterministic DDIM, ``eta`` = 1 adds
    DDPM-like noise. The predicted clean row is clipped to the data range at each step.

    ``output = "simplex"`` (element fractions): rows must be fractions (non-negative,
    summing to 1 along the last axis); they are trained as 2x - 1 in [-1, 1], and samples are mapped
    back and projected onto the simplex: negatives clipped to 0, each row renormalised (a row that
    is all zero stays zero and decodes to an empty formula). ``output = "sqrt-simplex"`` (the
    default): the same,
    but trained as 2 sqrt(x) - 1 and mapped back by squaring, which spreads small fractions apart
    (a 1 % dopant sits at -0.8, not -0.98) and squashes the denoiser's residual error on absent
    elements (0.03 becomes a fraction of 0.0002 instead of 0.015). On SuperCon cuprates (5.1
    elements per formula), 60 epochs at batch 32 gave 32.6 elements per sample with the linear map
    and 8.9 with the square root; 180 epochs with the square root gave 5.4. ``output =
    "none"``: rows are trained as given (scale them to about unit size) and returned unprojected.

    SuperDiff (1-D U-Net, T = 1000, cosine schedule) reports novel 100 % and unique 99.3-99.98 % on
    500k samples; its generation filter rounds to 0.01 and drops negatives, as the
    ``element-fractions`` encoder's ``min_fraction`` and this projection do. Ours uses an MLP (a 1-D
    U-Net over 96 unordered elements brings no locality to exploit) and no EMA of the weights.
    Seeding, warm start, checkpoints and resume, progress with losses and bf16 autocast on CUDA work
    as in ``wgan-gp``.
    """

    name = "diffusion"
    networks = ("denoiser",)
    quick: ClassVar[dict[str, Any]] = {"epochs": 3, "sampling_steps": 20}

    class Params(TorchParams):
        epochs: int = Field(300, ge=1, description="passes over the training rows")
        batch_size: int = Field(32, ge=1, description="rows per batch (small batches: more denoising steps per epoch)")
        timesteps: int = Field(1000, ge=2, description="diffusion steps T of the cosine schedule")
        sampling_steps: int | None = Field(
            25, ge=1, description="strided (DDIM) sampling steps; None = all T steps"
        )
        eta: float = Field(0.0, ge=0, le=1, description="sampling noise: 0 deterministic DDIM, 1 DDPM-like")
        width: int = Field(192, ge=8, description="width of the denoiser's residual blocks")
        depth: int = Field(2, ge=1, description="number of residual blocks")
        label_dropout: float = Field(0.1, ge=0, lt=1, description="share of labels replaced by the null label in training")
        guidance_scale: float = Field(2.0, ge=0, description="classifier-free guidance scale (1 = none)")
        learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate")
        betas: tuple[float, float] = Field((0.9, 0.999), description="Adam's (beta1, beta2)")
        output: Literal["simplex", "sqrt-simplex", "none"] = Field(
            "sqrt-simplex", description="'simplex': fraction rows (trained as 2x - 1), samples projected onto the "
            "simplex; 'sqrt-simplex': the same trained as 2 sqrt(x) - 1; 'none': raw",
        )

        _betas = field_validator("betas")(check_betas)

        @model_validator(mode="after")
        def _steps_within_t(self):
            if self.sampling_steps is not None and self.sampling_steps > self.timesteps:
                raise ValueError(f"sampling_steps ({self.sampling_steps}) cannot exceed timesteps ({self.timesteps})")
            return self

    #: Sampling parameters that may change between training and a resumed checkpoint.
    resumable_across: ClassVar[set[str]] = TorchGenerator.resumable_across | {"sampling_steps", "eta", "guidance_scale"}

    def _build(self, feature_shape, n_classes):
        from ._nets import Denoiser

        p = self.params
        return {"denoiser": Denoiser(int(np.prod(feature_shape)), n_classes, p.width, p.depth)}

    def _check_X(self, X) -> np.ndarray:
        X = as_float_rows(X, self.name)
        if self.params.output != "none":
            check_simplex(X, self.name, f"output='{self.params.output}'")
        return X

    def _to_model(self, x):
        if self.params.output == "sqrt-simplex":
            return 2 * x.clamp(min=0).sqrt() - 1
        return 2 * x - 1 if self.params.output == "simplex" else x

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, run=None) -> Diffusion:
        """Train the noise predictor on rows ``X`` (and class labels ``y``); warm start, resume and
        several processes as in ``wgan-gp``."""
        return self._train_parallel(self._train, X, y, run)

    def _train(self, X, y, run, shard) -> None:
        import torch

        p = self.params
        s = self._setup(X, y, run, shard)
        net = s.nets["denoiser"]
        device, n = s.device, len(s.flat)
        optimizer = self._optimizer(net.parameters(), "adam")
        optimizers = {"denoiser": optimizer}
        shard.average_gradients(optimizer)
        rngs = self._start_training(s, optimizers)
        data_rng, noise_rng = rngs["data"], rngs["noise"]
        data = self._to_model(torch.from_numpy(s.flat).to(device))
        labels_all = torch.from_numpy(s.codes).to(device) if s.n_classes else None
        alpha_bar = torch.tensor(cosine_alpha_bar(p.timesteps), dtype=torch.float32, device=device)
        batch = min(p.batch_size, n)
        shard.part(n % batch or batch)  # the last batch of an epoch must split too
        net.train()
        with progress(run, "training diffusion", total=p.epochs) as bar:
            if s.start:
                bar.advance(s.start)
            for epoch in range(s.start, p.epochs):
                order = torch.randperm(n, generator=data_rng).to(device)
                total, batches = torch.zeros((), device=device), 0
                for start in range(0, n, batch):
                    index = order[start : start + batch]
                    part, share = shard.part(len(index)), shard.weight(len(index))
                    x0 = data[index[part]]
                    t = torch.randint(p.timesteps, (len(index),), generator=noise_rng, device=device)[part]
                    noise = torch.randn((len(index), x0.shape[1]), generator=noise_rng, device=device)[part]
                    a = alpha_bar[t][:, None]
                    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
                    labels = None
                    if labels_all is not None:
                        drop = torch.rand(len(index), generator=noise_rng, device=device)[part] < p.label_dropout
                        labels = torch.where(drop, s.n_classes, labels_all[index[part]])
                    with s.autocast():
                        predicted = net(xt, t, labels).float()
                    loss = ((predicted - noise) ** 2).mean() * share
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += loss.detach()
                    batches += 1
                self._end_epoch(s, epoch, {"loss": (shard.average(total) / batches).item()}, bar, optimizers, rngs)
        self._finish(s)

    def sample(self, n_samples: int, *, condition=None, random_state: int | None = None, run=None) -> np.ndarray:
        """``n_samples`` rows by strided DDIM sampling with classifier-free guidance (see the class
        docstring); float32, shaped like the training rows."""
        import torch

        p = self.params
        net = self._fitted()
        device, rng, codes = self._sampling(n_samples, condition, random_state)
        net.to(device)
        n_samples = int(n_samples)
        n_features = int(np.prod(self.feature_shape_))
        steps = p.sampling_steps or p.timesteps
        schedule = np.unique(np.round(np.linspace(0, p.timesteps - 1, steps)).astype(np.int64))[::-1].copy()
        alpha_bar = torch.tensor(cosine_alpha_bar(p.timesteps), dtype=torch.float32, device=device)
        null = len(self.classes_)
        if condition is None and self.classes_ and p.label_dropout > 0:
            codes = torch.full((n_samples,), null, dtype=torch.long, device=device)  # the unconditional model
        guided = condition is not None and p.guidance_scale != 1.0
        low, high = (-math.inf, math.inf) if p.output == "none" else (-1.0, 1.0)
        out = np.empty((n_samples, n_features), dtype=np.float32)
        use_amp = p.amp and device.type == "cuda"
        with torch.inference_mode():
            for start in range(0, n_samples, SAMPLE_BATCH):
                stop = min(start + SAMPLE_BATCH, n_samples)
                rows = stop - start
                x = torch.randn(rows, n_features, generator=rng, device=device)
                labels = None if codes is None else codes[start:stop]
                for i, t in enumerate(schedule):
                    t_batch = torch.full((rows,), int(t), device=device, dtype=torch.long)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                        if guided:
                            both = net(torch.cat([x, x]), torch.cat([t_batch, t_batch]),
                                       torch.cat([labels, torch.full_like(labels, null)])).float()
                            conditional, unconditional = both[:rows], both[rows:]
                            eps = unconditional + p.guidance_scale * (conditional - unconditional)
                        else:
                            eps = net(x, t_batch, labels).float()
                    a_t = alpha_bar[t]
                    a_prev = alpha_bar[schedule[i + 1]] if i + 1 < len(schedule) else torch.ones((), device=device)
                    x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(low, high)
                    eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
                    sigma = p.eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).clamp(min=0).sqrt()
                    x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
                    if p.eta > 0 and i + 1 < len(schedule):
                        x = x + sigma * torch.randn(x.shape, generator=rng, device=device)
                out[start:stop] = x.float().cpu().numpy()
        out = out.reshape(n_samples, *self.feature_shape_)
        if p.output != "none":
            out = np.clip((out + 1) / 2, 0, None)
            if p.output == "sqrt-simplex":
                out = out**2
            sums = out.sum(axis=-1, keepdims=True)
            out = np.divide(out, sums, out=np.zeros_like(out), where=sums > 0)
        return out

    def citations(self) -> list[str]:
        return [
            "Ho, J., Jain, A. & Abbeel, P. Denoising Diffusion Probabilistic Models. NeurIPS 33 (2020); "
            "arXiv:2006.11239.",
            "Nichol, A. & Dhariwal, P. Improved Denoising Diffusion Probabilistic Models. ICML (2021) "
            "(cosine schedule); arXiv:2102.09672.",
            "Song, J., Meng, C. & Ermon, S. Denoising Diffusion Implicit Models. ICLR (2021); arXiv:2010.02502.",
            "Ho, J. & Salimans, T. Classifier-Free Diffusion Guidance (2022); arXiv:2207.12598.",
            "Yuan, S. & Dordevic, S. V. Diffusion models for conditional generation of hypothetical new "
            "families of superconductors (SuperDiff), Scientific Reports 14 (2024).",
        ]
