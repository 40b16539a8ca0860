"""``vae``: a conditional variational autoencoder over composition vectors (no torch at import time)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from sc_toolkit import UserError
from sc_toolkit import progress

from ._common import (
    SAMPLE_BATCH,
    TorchGenerator,
    TorchParams,
    as_float_rows,
    check_betas,
    check_simplex,
    check_widths,
    groups,
)


class VAE(TorchGenerator):
    """Conditional variational autoencoder (Kingma & Welling 2014; Sohn et al. 2015) over encoded compositions.

    The encoder MLP reads a row and the one-hot class label and gives the mean and log variance of
    a Gaussian latent code; the decoder MLP reads a latent code and the label and gives a row. With
    ``output = "softmax"`` (element fractions) the decoder's logits go through a softmax along the
    last axis, so samples lie on the simplex, and the reconstruction loss is the cross-entropy
    -sum x log p of the data fractions x against the decoded p (a multinomial likelihood), summed
    over the row's groups; "sigmoid" uses binary cross-entropy, "linear" and "softmax-scaled" the
    squared error. Loss per row = reconstruction + beta_t * KL(q(z | x, y) || N(0, I)), with beta_t
    rising linearly from 0 to ``beta`` over the first ``kl_warmup`` epochs (KL warm-up, Bowman et al.
    2016) to avoid posterior collapse. ``sample`` decodes z ~ N(0, I) with the asked label (or labels
    drawn in training proportions). The fraction rows are smooth (every element gets a small share):
    the ``element-fractions`` encoder's ``min_fraction`` drops the small ones when decoding.

    Seeding, warm start (``fit`` on a fitted model continues from its weights), checkpoints and
    resume (``run.checkpoint_dir("vae")``), progress with losses (loss, reconstruction, kl, beta) and
    bf16 autocast on CUDA work as in ``wgan-gp``.
    """

    name = "vae"
    networks = ("vae",)
    quick: ClassVar[dict[str, Any]] = {"epochs": 3}

    class Params(TorchParams):
        epochs: int = Field(200, ge=1, description="passes over the training rows")
        batch_size: int = Field(128, ge=1, description="rows per batch")
        latent_dim: int = Field(16, ge=1, description="size of the latent code")
        hidden: list[int] = Field([256, 256], min_length=1, description="encoder widths (the decoder mirrors them)")
        beta: float = Field(0.05, ge=0, description="final weight of the KL term")
        kl_warmup: int = Field(50, ge=0, description="epochs over which the KL weight rises linearly to beta")
        learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate")
        betas: tuple[float, float] = Field((0.9, 0.999), description="Adam's (beta1, beta2)")
        output: Literal["softmax", "softmax-scaled", "sigmoid", "linear"] = Field(
            "softmax", description="decoder output: 'softmax' (simplex along the last axis), 'softmax-scaled', "
            "'sigmoid' ([0, 1]) or 'linear'",
        )

        _widths = field_validator("hidden")(check_widths)
        _betas = field_validator("betas")(check_betas)

    def _build(self, feature_shape, n_classes):
        from ._nets import VAENet

        p = self.params
        n_features = int(np.prod(feature_shape))
        return {"vae": VAENet(n_features, n_classes, p.hidden, p.latent_dim, *groups(feature_shape), p.output)}

    def _check_X(self, X) -> np.ndarray:
        X = as_float_rows(X, self.name)
        if self.params.output == "softmax":
            check_simplex(X, self.name)
        elif self.params.output == "sigmoid" and (X.min() < 0 or X.max() > 1):
            raise UserError(f"output='sigmoid' needs values in [0, 1] (got {X.min():.3g} to {X.max():.3g})")
        return X

    def _reconstruction(self, raw, x, net):
        """Per-row reconstruction loss of raw decoder outputs ``raw`` against rows ``x``."""
        import torch
        import torch.nn.functional as F

        output = self.params.output
        if output == "softmax":
            logp = torch.log_softmax(raw.view(len(x), net.groups, net.width), dim=-1).view(len(x), -1)
            return -(x * logp).sum(dim=1)
        if output == "sigmoid":
            return F.binary_cross_entropy_with_logits(raw, x, reduction="none").sum(dim=1)
        from ._nets import grouped_output

        return ((grouped_output(raw, net.groups, net.width, output) - x) ** 2).sum(dim=1)

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, run=None) -> VAE:
        """Train on rows ``X`` (and class labels ``y``); warm start, resume and several processes as
        in ``wgan-gp``."""
        return self._train_parallel(self._train, X, y, run)

    def _train(self, X, y, run, shard) -> None:
        import torch

        p = self.params
        s = self._setup(X, y, run, shard)
        net = s.nets["vae"]
        device, n = s.device, len(s.flat)
        optimizer = self._optimizer(net.parameters(), "adam")
        optimizers = {"vae": optimizer}
        shard.average_gradients(optimizer)
        rngs = self._start_training(s, optimizers)
        data_rng, noise_rng = rngs["data"], rngs["noise"]
        data = torch.from_numpy(s.flat).to(device)
        onehot_all = None
        if s.n_classes:
            onehot_all = torch.nn.functional.one_hot(torch.from_numpy(s.codes), s.n_classes).float().to(device)
        batch = min(p.batch_size, n)
        shard.part(n % batch or batch)  # the last batch of an epoch must split too
        net.train()
        with progress(run, "training vae", total=p.epochs) as bar:
            if s.start:
                bar.advance(s.start)
            for epoch in range(s.start, p.epochs):
                weight = p.beta * min(1.0, (epoch + 1) / p.kl_warmup) if p.kl_warmup else p.beta
                order = torch.randperm(n, generator=data_rng).to(device)
                sums = torch.zeros(3, device=device)
                batches = 0
                for start in range(0, n, batch):
                    index = order[start : start + batch]
                    part, share = shard.part(len(index)), shard.weight(len(index))
                    x = data[index[part]]
                    onehot = None if onehot_all is None else onehot_all[index[part]]
                    with s.autocast():
                        mu, log_var = net.encode(x, onehot)
                        eps = torch.randn((len(index), mu.shape[1]), generator=noise_rng, device=device)[part]
                        z = mu + torch.exp(0.5 * log_var) * eps
                        raw = net.decode_raw(z, onehot)
                    reconstruction = self._reconstruction(raw.float(), x, net).mean()
                    kl = (-0.5 * (1 + log_var - mu**2 - log_var.exp()).sum(dim=1)).mean()
                    loss = reconstruction + weight * kl
                    optimizer.zero_grad(set_to_none=True)
                    (loss * share).backward()
                    optimizer.step()
                    sums += torch.stack([loss, reconstruction, kl]).detach() * share
                    batches += 1
                means = (shard.average(sums) / batches).tolist()
                row = {**dict(zip(("loss", "reconstruction", "kl"), means)), "beta": weight}
                self._end_epoch(s, epoch, row, bar, optimizers, rngs)
        self._finish(s)

    def sample(self, n_samples: int, *, condition=None, random_state: int | None = None, run=None) -> np.ndarray:
        """``n_samples`` decoded latent draws, float32, shaped like the training rows."""
        import torch

        net = self._fitted()
        device, rng, codes = self._sampling(n_samples, condition, random_state)
        net.to(device)
        n_samples = int(n_samples)
        out = np.empty((n_samples, int(np.prod(self.feature_shape_))), dtype=np.float32)
        use_amp = self.params.amp and device.type == "cuda"
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            for start in range(0, n_samples, SAMPLE_BATCH):
                stop = min(start + SAMPLE_BATCH, n_samples)
                z = torch.randn(stop - start, self.params.latent_dim, generator=rng, device=device)
                onehot = None
                if codes is not None:
                    onehot = torch.nn.functional.one_hot(codes[start:stop], len(self.classes_)).float()
                out[start:stop] = net(z, onehot).float().cpu().numpy()
        return out.reshape(n_samples, *self.feature_shape_)

    def citations(self) -> list[str]:
        return [
            "Kingma, D. P. & Welling, M. Auto-Encoding Variational Bayes. ICLR (2014); arXiv:1312.6114.",
            "Sohn, K., Lee, H. & Yan, X. Learning Structured Output Representation using Deep Conditional "
            "Generative Models. NeurIPS 28 (2015).",
            "Bowman, S. R. et al. Generating Sentences from a Continuous Space. CoNLL (2016); arXiv:1511.06349 "
            "(KL warm-up).",
        ]
