"""``wgan-gp``: a Wasserstein GAN with gradient penalty over encoded compositions, optionally
conditioned on class labels (cuprate, pnictide, ...).

This module imports no torch at import time (the plugin registry must stay light); the networks live
in :mod:`sctk_generative._nets`, imported inside the methods that train or sample. The machinery
shared with the other generators (labels, seeding, warm start, checkpoints, persistence) is in
:mod:`sctk_generative._common`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sc_toolkit import UserError
from sc_toolkit import progress

from ._common import (
    CHECKPOINT_FILE,
    TorchGAN,
    TorchParams,
    as_float_rows,
    check_adjusted_onehot,
    check_betas,
    check_simplex,
    check_widths,
    groups,
)

__all__ = ["CHECKPOINT_FILE", "WGANGP"]

#: Name of the averaged generator among the training networks (kept in checkpoints, not in the saved model).
AVERAGE = "generator_average"


class WGANGP(TorchGAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017) over encoded materials.

    Contract:

    - ``fit(X, y=None, *, run=None)`` trains on ``X`` of shape ``(n, d)`` or ``(n, a, b)`` (flattened
      inside, samples come back in the same shape). With ``y`` (one class label per row, any values,
      compared as strings) the generator and the critic both see a one-hot label, and
      ``sample(condition=...)`` asks for a class. One epoch is about one pass of the critic over the
      data: ``max(1, n // (batch_size * critic_steps))`` generator steps, each after ``critic_steps``
      critic steps on fresh shuffled batches.
    - Warm start (transfer learning): ``fit`` on a generator that is already fitted (trained, or
      loaded with ``WGANGP.load(dir)``) continues from its generator *and critic* weights (both are
      saved) instead of re-initialising; optimiser states start fresh, so the fine-tuning learning
      rate and optimiser may differ from the pre-training ones. The rows' shape, the labels (or their
      absence) and the architecture parameters (``noise_dim``, ``hidden``, ``output``) must match the
      pre-training; anything else is a UserError. ``[generator] init_from`` in a recipe uses this.
    - The same ``seed`` on the same device gives the same weights (bit for bit on CPU).
    - ``gp_every = k`` penalises only every k-th critic update, with k times ``gp_weight`` (lazy
      regularisation, Karras et al. 2020): the penalty's gradient and double backward are about half
      of a critic update's cost, so k = 4 trains about 1.5x faster per epoch (CPU time of the main
      recipe's GAN, one thread: 0.94 s against 1.39 s), but after 500 epochs it accepted fewer
      candidates there (docs/benchmarks.md, "Speed"). The noise stream does not depend on k; the
      history's ``gradient_penalty`` is the mean over the penalised updates.
    - ``ema_decay = d > 0``: the generator that samples (and is saved) is the exponential moving
      average of the generator's weights over its updates, ``avg <- d avg + (1 - d) w`` from the
      weights after the first update (Yazici et al. 2019; torch's ``AveragedModel``), which smooths
      the oscillation of a GAN's last weights (in the main recipe, at d = 0.999, its samples held
      fewer elements and lost on every measure); training itself (critic, losses) is unchanged.
      Checkpoints keep the average, so a resumed run ends with the weights an uninterrupted one
      would have had.
    - With a ``run`` and ``checkpoint_every > 0``, ``checkpoint.pt`` in
      ``run.checkpoint_dir("wgan-gp")`` is written atomically every that many epochs and after the
      last one; a later ``fit`` on the same data, parameters and starting weights resumes from it
      (``epochs`` may grow) and ends with the weights an uninterrupted run would have had (on CPU).
    - ``sample(n, condition=None, random_state=None)`` returns float32 numpy rows; a label or one label
      per row picks the class (labels never seen in ``fit`` are a UserError); without a condition a
      conditional model draws classes in their training proportions.
    - ``output="softmax"`` puts every sample on the simplex along the last data axis (rows of element
      fractions sum to 1; each of the ``a`` rows of an ``(n, a, b)`` encoding sums to 1); training data
      must then be non-negative with such sums (a UserError otherwise, as for "sigmoid" outside [0, 1]).
      ``output="sparsemax"`` projects onto the same simplex with sparsemax, so absent elements are
      exactly 0 as in the data (a softmax is never 0; the critic can tell real rows from generated ones
      by their many small fractions). Per SuperCon class at 500 epochs (docs/benchmarks.md) it wrote
      5.3 elements per iron-based sample against softmax's 8.6 (4.5 in training), but 9.1 per "other"
      sample against 4.9 (3.0 in training), so softmax stays the default.
      ``output="softmax-scaled"``: along the last axis a softmax times a positive per-row scale (an
      extra generator unit through softplus), for rows with one dominant slot holding any positive
      value, such as ScGAN's matrix. ``output="softmax-scaled-hard"`` writes the same rows with only
      each element's largest slot kept (straight-through gradients), so the critic sees exactly what
      decoding reads: with a soft output the generator can hedge, spreading an element's mass over
      its level rows so that the "absent" row wins the decoding (docs/history.md, "Hedging").
      ``output="adjusted-onehot"`` also keeps one slot per element, but writes exactly 1 at slot 0
      (absent), as the data does, where "softmax-scaled-hard" writes the element's scale there
      (0.8-1.2 in a trained generator): the critic could tell generated rows by their ~90 absent
      elements alone. Training data must then be an adjusted one-hot matrix (a UserError otherwise).

    Defaults were chosen on the 4,157 SuperCon (Stanev 2018) cuprates with Tc > 0, encoded as 96 element
    fractions, on a shared 2-core CPU (one torch thread): 300 epochs of batch 128 (about 200 s, ~1.5
    epochs/s) with Adam at lr 2e-4, betas (0.5, 0.9) (Gulrajani's betas). Against lr 5e-4, or lr 1e-3 at
    batch 256, lr 2e-4 gave samples whose element sets more often occur in training (0.55 against
    0.49 and 0.53) and closer mean fractions; RMSProp (ScGAN's choice, still available) and Adam at lr
    1e-4 were further off after 100 epochs.

    ScGAN configuration (Kim & Dordevic 2022; ``recipes/cuprate_gan.toml``, ``pnictide_gan.toml``,
    ``others_gan.toml``, ``all_gan.toml``, ``pretrain_oqmd.toml``): encoder ``scgan-onehot`` (rows of shape (96, 8): per element
    the level k = nearest integer to the amount v in 1..7 holds v / k, an absent element a 1 in row 0),
    ``output = "adjusted-onehot"`` (a softmax over each element's 8 rows picks the level, a positive
    value gives v / k; a plain softmax cannot, since v / k is not 1 for doped amounts such as 0.15;
    only the picked slot is passed on, and an absent element's 1 is exact; at 500 epochs per class it
    beat "softmax-scaled-hard", which beat the soft ``softmax-scaled``, on uniqueness, SMACT validity
    and element count, and on near recovery except of held-out iron-based compounds: docs/benchmarks.md,
    "Output layer of the ScGAN-style GAN"),
    ``optimizer = "rmsprop"``, ``critic_steps = 5``, ``gp_weight = 10``; pre-trained on OQMD
    compositions (400 epochs in the paper) and then fine-tuned on SuperCon or one of its classes (500
    epochs) with ``init_from``. The paper's learning rate, batch size and layer widths are not in our
    sources: the recipes use lr 1e-4, batch 128 and hidden [512, 512] and say so. ``output="softmax"``
    also accepts ``scgan-onehot`` rows whose amounts are whole numbers (each element row is then
    one-hot), but not doped formulas.
    """

    name = "wgan-gp"
    networks = ("generator", "critic")
    quick: ClassVar[dict[str, Any]] = {"epochs": 3}

    class Params(TorchParams):
        epochs: int = Field(300, ge=1, description="training epochs (about one critic pass over the data each)")
        batch_size: int = Field(128, ge=1, description="rows per critic and generator batch")
        noise_dim: int = Field(64, ge=1, description="size of the generator's Gaussian noise vector")
        hidden: list[int] = Field(
            [256, 256], min_length=1, description="widths of the hidden layers of the generator and of the critic"
        )
        critic_steps: int = Field(5, ge=1, description="critic updates per generator update")
        gp_weight: float = Field(10.0, ge=0, description="weight of the gradient penalty (lambda)")
        gp_every: int = Field(
            1, ge=1, description="penalise every k-th critic update with k times gp_weight (lazy regularisation; "
            "1: every update)",
        )
        ema_decay: float = Field(
            0.0, ge=0, lt=1, description="sample from an exponential moving average of the generator's weights "
            "with this decay per generator update (0: the last weights)",
        )
        optimizer: Literal["adam", "rmsprop"] = Field("adam", description="optimiser of both networks")
        learning_rate: float = Field(2e-4, gt=0, description="learning rate of both networks")
        betas: tuple[float, float] = Field((0.5, 0.9), description="Adam's (beta1, beta2)")
        rmsprop_alpha: float = Field(0.99, gt=0, lt=1, description="RMSProp's smoothing constant")
        output: Literal[
            "softmax", "sparsemax", "softmax-scaled", "softmax-scaled-hard", "adjusted-onehot", "sigmoid", "linear"
        ] = Field(
            "softmax",
            description="generator output: 'softmax' (simplex along the last axis, e.g. element fractions), "
            "'sparsemax' (the same with exact zeros), "
            "'softmax-scaled' (softmax times a positive scale along the last axis, e.g. scgan-onehot), "
            "'softmax-scaled-hard' (the same with only each group's largest slot kept, straight-through), "
            "'adjusted-onehot' (one slot per group: 1 at slot 0 = absent, else a positive value; scgan-onehot), "
            "'sigmoid' (values in [0, 1]) or 'linear' (unbounded; scale data to about unit size)",
        )

        _widths = field_validator("hidden")(check_widths)
        _betas = field_validator("betas")(check_betas)

        @model_validator(mode="after")
        def _batch_splits(self):
            if self.batch_size % self.processes:
                raise ValueError(f"batch_size {self.batch_size} does not split into {self.processes} equal parts, "
                                 f"one per process: choose a multiple of processes")
            return self

    # ----------------------------------------------------------------------------------------- fit

    def _build(self, feature_shape, n_classes):
        from ._nets import CriticNet, GeneratorNet

        p = self.params
        n_features = int(np.prod(feature_shape))
        generator = GeneratorNet(p.noise_dim, n_classes, p.hidden, *groups(feature_shape), p.output)
        nets = {"generator": generator, "critic": CriticNet(n_features, n_classes, p.hidden)}
        if p.ema_decay:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            nets[AVERAGE] = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(p.ema_decay))
        return nets

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, run=None) -> WGANGP:
        """Train on ``X`` (and class labels ``y``); continue from the current weights when already
        fitted (warm start); resume from the run's checkpoint when there is one; in ``processes``
        processes (or torchrun's), each on an equal part of every batch."""
        return self._train_parallel(self._train, X, y, run)

    def _train(self, X, y, run, shard) -> None:
        import torch

        p = self.params
        s = self._setup(X, y, run, shard)
        generator, critic = s.nets["generator"], s.nets["critic"]
        average = s.nets.get(AVERAGE)  # torch's AveragedModel: starts from the weights after the first update
        device, n = s.device, len(s.flat)
        opt_g, opt_c = self._optimizer(generator.parameters()), self._optimizer(critic.parameters())
        optimizers = {"generator": opt_g, "critic": opt_c}
        shard.average_gradients(opt_g, opt_c)
        rngs = self._start_training(s, optimizers)
        data_rng, noise_rng = rngs["data"], rngs["noise"]
        from ._gan import critic_step

        real_all = torch.from_numpy(s.flat).to(device)
        onehot_all = None
        if s.n_classes:
            onehot_all = torch.nn.functional.one_hot(torch.from_numpy(s.codes), s.n_classes).float().to(device)

        batch = min(p.batch_size, n)
        steps = max(1, n // (batch * p.critic_steps))
        rows_per_epoch = steps * p.critic_steps * batch
        part = shard.part(batch, equal=True)  # every process draws the whole batch's random numbers, uses its part
        generator.train()
        critic.train()
        with progress(run, "training wgan-gp", total=p.epochs) as bar:
            if s.start:
                bar.advance(s.start)
            for epoch in range(s.start, p.epochs):
                order = torch.cat([torch.randperm(n, generator=data_rng) for _ in range(math.ceil(rows_per_epoch / n))])
                order = order[:rows_per_epoch].view(steps, p.critic_steps, batch).to(device)
                sums = torch.zeros(4, device=device)  # critic loss, generator loss, W distance, penalty
                updates = epoch * steps * p.critic_steps  # critic updates so far (lazy penalty: every gp_every-th)
                penalised_updates = 0
                for step in range(steps):
                    critic.requires_grad_(True)
                    for index in order[step]:
                        onehot = None if onehot_all is None else onehot_all[index]
                        updates += 1
                        penalised = updates % p.gp_every == 0
                        loss_c, distance, penalty = critic_step(
                            generator, critic, opt_c, real_all[index], onehot, self._noise(batch, noise_rng, device),
                            noise_rng, p.gp_weight * p.gp_every if penalised else 0.0, s.autocast(), part,
                        )
                        sums += torch.stack([loss_c, torch.zeros_like(loss_c), distance, penalty]).detach()
                        penalised_updates += penalised
                    critic.requires_grad_(False)
                    onehot = None
                    if onehot_all is not None:
                        onehot = onehot_all[torch.randint(n, (batch,), generator=data_rng).to(device)][part]
                    with s.autocast():
                        noise = self._noise(batch, noise_rng, device)[part]
                        loss_g = -critic(generator(noise, onehot), onehot).float().mean()
                    opt_g.zero_grad(set_to_none=True)
                    loss_g.backward()
                    opt_g.step()
                    if average is not None:
                        average.update_parameters(generator)
                    sums[1] += loss_g.detach() * p.critic_steps
                means = (shard.average(sums) / (steps * p.critic_steps)).tolist()
                means[3] *= steps * p.critic_steps / max(penalised_updates, 1)  # mean over the penalised updates
                row = dict(zip(("loss_critic", "loss_generator", "wasserstein", "gradient_penalty"), means))
                self._end_epoch(s, epoch, row, bar, optimizers, rngs)
        critic.requires_grad_(True)
        if average is not None:  # the averaged weights become the generator that samples (and is saved)
            generator.load_state_dict(s.nets.pop(AVERAGE).module.state_dict())
        self._finish(s)

    # ------------------------------------------------------------------------------------ metadata

    def citations(self) -> list[str]:
        return [
            "Gulrajani, I., Ahmed, F., Arjovsky, M., Dumoulin, V. & Courville, A. Improved Training of "
            "Wasserstein GANs. Advances in Neural Information Processing Systems 30 (2017); arXiv:1704.00028.",
            "Kim, E. & Dordevic, S. V. ScGAN: A Generative Adversarial Network to Predict Hypothetical "
            "Superconductors (2022); arXiv:2209.03444.",
        ] + ([
            "Karras, T. et al. Analyzing and Improving the Image Quality of StyleGAN (lazy regularisation). "
            "CVPR (2020); arXiv:1912.04958.",
        ] if self.params.gp_every > 1 else []) + ([
            "Yazici, Y., Foo, C.-S., Winkler, S., Yap, K.-H., Piliouras, G. & Chandrasekhar, V. The Unusual "
            "Effectiveness of Averaging in GAN Training. ICLR (2019); arXiv:1806.04498.",
        ] if self.params.ema_decay else [])

    # ------------------------------------------------------------------------------------- helpers

    def _check_X(self, X) -> np.ndarray:
        """float32 rows; UserError for data the output cannot produce."""
        X = as_float_rows(X, self.name)
        output = self.params.output
        if output in ("softmax", "sparsemax"):
            check_simplex(X, self.name, f"output='{output}'")
        elif output == "adjusted-onehot":
            check_adjusted_onehot(X, self.name)
        elif output.startswith("softmax-scaled") and X.min() < 0:
            raise UserError(f"output='{output}' needs non-negative values (got {X.min():.3g})")
        elif output == "sigmoid" and (X.min() < 0 or X.max() > 1):
            raise UserError(
                f"output='sigmoid' needs values in [0, 1] (got {X.min():.3g} to {X.max():.3g})",
                hint="scale X into [0, 1] or set output='linear'",
            )
        return X

    def _noise(self, rows: int, rng, device):
        import torch

        return torch.randn(rows, self.params.noise_dim, generator=rng, device=device)
