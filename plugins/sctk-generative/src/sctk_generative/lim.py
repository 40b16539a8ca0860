"""``lim-wgan``: Lim's class-conditional convolutional WGAN-GP over the two-channel ``lim-matrix``
encoding (F. H. Lim, slides "A brief introduction of Generative Adversarial Network for
Superconductivity", 2024; summarised in docs/science.md).

No torch at import time; the networks are :class:`sctk_generative._nets.LimGenerator` and
:class:`~sctk_generative._nets.LimCritic`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from sc_toolkit import UserError
from sc_toolkit import log, progress

from ._common import TorchGAN, TorchParams, as_float_rows, check_betas

#: Shape of one ``lim-matrix`` row: (channels onehot/weight, elements H..Pu, rows 0..10).
LIM_SHAPE = (2, 94, 11)


class LimWGAN(TorchGAN):
    """Lim's class-conditional convolutional WGAN-GP over ``lim-matrix`` (n, 2, 94, 11) arrays.

    Architecture (the slides' layer table, checked shape by shape): the generator maps noise and a
    one-hot class label through a linear layer to [512, 1, 1] and eight transposed convolutions to
    [2, 94, 11]; the critic reads the sample with the label broadcast as extra channels
    [2 + classes, 94, 11] through eight convolutions to [512, 1, 1] and a linear layer to a score.
    The slides name no activations or output layers; ours: batch norm + ReLU in the generator,
    LeakyReLU(0.2) and no normalisation in the critic (the gradient penalty is per sample), channel 0
    (adjusted one-hot) a softmax over each element's 11 rows, channel 1 (weights v / k, in (0, 1]) a
    sigmoid. The table's first input is "100 + No. of Classes" while the hyper-parameter table says
    noise dimension 128: ``noise_dim`` defaults to 128 (set 100 for the layer table's reading).
    ``width`` scales every hidden channel count (1 = the slides; smaller for tests and ``--quick``).

    Hyper-parameters of the slides, all parameters here: batch 128, 500 epochs, Adam lr 1e-3, betas
    (0.5, 0.9), four class labels (cuprate, iron pnictide/chalcogenide, both, others: ``class_lim``
    of the ``supercon`` dataset; any labels work), gradient penalty 10, learning cycle
    (Gen : Crit) = 4 : 5, custom loss penalty 10 with theta_r = 0.1 and theta_b = 0.005.

    How we read "learning cycle 4 : 5": one cycle is ``critic_steps`` = 5 critic updates (each on a
    fresh real batch and fresh noise) followed by ``generator_steps`` = 4 generator updates (each on
    fresh noise and labels), i.e. 4 generator updates per 5 critic updates, against 1 : 5 in
    Gulrajani's WGAN-GP. It is *not* 4 critic updates per generator update; the slides compare loss
    curves at several such (Gen : Crit) cycles. An epoch is ``max(1, n // (batch_size * critic_steps))``
    cycles (about one pass of the critic over the data).

    How we read the custom loss penalty (the slides give only its weight and two thresholds): a hinge
    penalty added to the generator loss, zero on real rows, weight ``custom_weight`` (10):

    - theta_r (row): per element, the most probable row of channel 0 should hold at least
      1 - theta_r of the mass: mean over elements of relu((1 - max_k p_k) - theta_r);
    - theta_b (background): channel 1 should be zero off the chosen row (real weight matrices are):
      mean over entries off the arg-max row of relu(w - theta_b).

    Training rows must have channel 0 on the simplex along the rows and channel 1 non-negative;
    channel-1 values above 1 (amounts above 10, which ``lim-matrix`` writes as v / 10) are clipped to
    1 with a log message, since the sigmoid cannot reach them. Seeding, warm start, checkpoints and
    resume, progress with losses and bf16 autocast on CUDA work as in ``wgan-gp``.
    """

    name = "lim-wgan"
    networks = ("generator", "critic")
    quick: ClassVar[dict[str, Any]] = {"epochs": 3, "width": 0.25}
    #: The generator's batch norm takes statistics over the whole batch: a process holding part of it
    #: would compute other ones (torch's SyncBatchNorm is not used), so lim-wgan trains in one process.
    trains_data_parallel = False

    class Params(TorchParams):
        epochs: int = Field(500, ge=1, description="training epochs (about one critic pass over the data each)")
        batch_size: int = Field(128, ge=1, description="rows per critic and generator batch")
        noise_dim: int = Field(128, ge=1, description="size of the Gaussian noise vector (slides: 128; table: 100)")
        width: float = Field(1.0, gt=0, le=4, description="multiplier of every hidden channel count (1 = slides)")
        critic_steps: int = Field(5, ge=1, description="critic updates per learning cycle (the 5 of 4 : 5)")
        generator_steps: int = Field(4, ge=1, description="generator updates per learning cycle (the 4 of 4 : 5)")
        gp_weight: float = Field(10.0, ge=0, description="weight of the gradient penalty")
        custom_weight: float = Field(10.0, ge=0, description="weight of the custom loss penalty (0 = off)")
        theta_r: float = Field(0.1, ge=0, le=1, description="custom penalty: allowed missing mass of the chosen row")
        theta_b: float = Field(0.005, ge=0, le=1, description="custom penalty: allowed weight off the chosen row")
        learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate of both networks")
        betas: tuple[float, float] = Field((0.5, 0.9), description="Adam's (beta1, beta2)")

        _betas = field_validator("betas")(check_betas)

        @field_validator("processes")
        @classmethod
        def _one_process(cls, processes: int) -> int:
            if processes != 1:
                raise ValueError("lim-wgan trains in one process only (its batch norm needs the whole batch)")
            return processes

    # ------------------------------------------------------------------------------------ networks

    def _build(self, feature_shape, n_classes):
        from ._nets import LimCritic, LimGenerator

        p = self.params
        return {"generator": LimGenerator(p.noise_dim, n_classes, p.width), "critic": LimCritic(n_classes, p.width)}

    def _check_X(self, X) -> np.ndarray:
        X = as_float_rows(X, self.name)
        if X.ndim == 2 and X.shape[1] == int(np.prod(LIM_SHAPE)):
            X = X.reshape(len(X), *LIM_SHAPE)
        if X.shape[1:] != LIM_SHAPE:
            raise UserError(
                f"lim-wgan needs lim-matrix rows of shape (n, 2, 94, 11), got {X.shape}",
                hint="use encoder = { use = \"lim-matrix\" }",
            )
        sums = X[:, 0].sum(axis=-1)
        if X.min() < 0 or not np.allclose(sums, 1, atol=1e-3):
            raise UserError(
                "lim-wgan needs channel 0 on the simplex along the 11 rows and non-negative values "
                f"(got values from {X.min():.3g}, row sums {sums.min():.3g} to {sums.max():.3g})",
                hint="encode with lim-matrix",
            )
        return X

    def _noise(self, rows: int, rng, device):
        import torch

        return torch.randn(rows, self.params.noise_dim, generator=rng, device=device)

    # ----------------------------------------------------------------------------------------- fit

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, run=None) -> LimWGAN:
        """Train on lim-matrix rows ``X`` and class labels ``y`` (see the class docstring); in one
        process only (``processes`` > 1 is invalid, and so is a torchrun launch)."""
        return self._train_parallel(self._train, X, y, run)

    def _train(self, X, y, run, shard) -> None:
        import torch

        from ._gan import critic_step

        p = self.params
        X = self._check_X(X)
        above = int((X[:, 1] > 1).sum())
        if above:
            log(run, f"lim-wgan: {above} weights above 1 (amounts above 10) clipped to 1")
            X = X.copy()
            X[:, 1] = np.minimum(X[:, 1], 1.0)
        s = self._setup(X, y, run)
        generator, critic = s.nets["generator"], s.nets["critic"]
        device, n = s.device, len(s.flat)
        opt_g, opt_c = self._optimizer(generator.parameters()), self._optimizer(critic.parameters())
        optimizers = {"generator": opt_g, "critic": opt_c}
        rngs = self._start_training(s, optimizers)
        data_rng, noise_rng = rngs["data"], rngs["noise"]

        real_all = torch.from_numpy(s.flat).view(n, *LIM_SHAPE).to(device)
        onehot_all = None
        if s.n_classes:
            onehot_all = torch.nn.functional.one_hot(torch.from_numpy(s.codes), s.n_classes).float().to(device)
        batch = min(p.batch_size, n)
        cycles = max(1, n // (batch * p.critic_steps))
        rows_per_epoch = cycles * p.critic_steps * batch
        generator.train()
        critic.train()
        names = ("loss_critic", "loss_generator", "wasserstein", "gradient_penalty", "custom_penalty")
        with progress(run, "training lim-wgan", total=p.epochs) as bar:
            if s.start:
                bar.advance(s.start)
            for epoch in range(s.start, p.epochs):
                order = torch.cat([torch.randperm(n, generator=data_rng) for _ in range(-(-rows_per_epoch // n))])
                order = order[:rows_per_epoch].view(cycles, p.critic_steps, batch).to(device)
                sums = torch.zeros(5, device=device)
                for cycle in range(cycles):
                    critic.requires_grad_(True)
                    for index in order[cycle]:
                        onehot = None if onehot_all is None else onehot_all[index]
                        loss_c, distance, penalty = critic_step(
                            generator, critic, opt_c, real_all[index], onehot, self._noise(batch, noise_rng, device),
                            noise_rng, p.gp_weight, s.autocast(),
                        )
                        sums[[0, 2, 3]] += torch.stack([loss_c, distance, penalty]) / p.critic_steps
                    critic.requires_grad_(False)
                    for _ in range(p.generator_steps):
                        onehot = None
                        if onehot_all is not None:
                            onehot = onehot_all[torch.randint(n, (batch,), generator=data_rng).to(device)]
                        with s.autocast():
                            fake = generator(self._noise(batch, noise_rng, device), onehot)
                            adversarial = -critic(fake, onehot).float().mean()
                        custom = custom_penalty(fake.float(), p.theta_r, p.theta_b)
                        loss_g = adversarial + p.custom_weight * custom
                        opt_g.zero_grad(set_to_none=True)
                        loss_g.backward()
                        opt_g.step()
                        sums[[1, 4]] += torch.stack([loss_g.detach(), custom.detach()]) / p.generator_steps
                row = dict(zip(names, (sums / cycles).tolist()))
                self._end_epoch(s, epoch, row, bar, optimizers, rngs)
        critic.requires_grad_(True)
        self._finish(s)

    def citations(self) -> list[str]:
        return [
            "Lim, F. H. A brief introduction of Generative Adversarial Network for Superconductivity "
            "(slides, 2024): class-conditional convolutional WGAN-GP over two-channel composition matrices.",
            "Gulrajani, I., Ahmed, F., Arjovsky, M., Dumoulin, V. & Courville, A. Improved Training of "
            "Wasserstein GANs. NeurIPS 30 (2017); arXiv:1704.00028.",
        ]


def custom_penalty(fake, theta_r: float, theta_b: float):
    """Our reading of Lim's custom loss penalty on generated (n, 2, 94, 11) arrays (see
    :class:`LimWGAN`): mean relu((1 - max row probability) - theta_r) over elements plus mean
    relu(weight - theta_b) over the entries off each element's arg-max row."""
    import torch

    probabilities, weights = fake[:, 0], fake[:, 1]
    top, chosen = probabilities.max(dim=-1)
    rows = torch.relu((1 - top) - theta_r).mean()
    off = 1.0 - torch.nn.functional.one_hot(chosen, probabilities.shape[-1]).to(weights.dtype)
    background = (torch.relu(weights - theta_b) * off).sum() / off.sum().clamp(min=1)
    return rows + background
