"""``diffcsp``: the structure generator (see :class:`DiffCSP`)."""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from sc_toolkit import (
    Params,
    Shard,
    StepError,
    StructureGenerator,
    UserError,
    as_compositions,
    data_parallel,
    log,
    progress,
    read_checkpoint,
    resolve_device,
    write_checkpoint,
)

STATE_FILE = "diffcsp.pt"
CHECKPOINT_FILE = "checkpoint.pt"
#: Parameters that only affect sampling (or the checkpoint cadence): a checkpoint made under other
#: values still resumes.
SAMPLING_ONLY = {"epochs", "checkpoint_every", "device", "target_tc", "guidance_scale", "step_lr", "sample_batch"}


class DiffCSPParams(Params):
    hidden: int = Field(128, ge=4, description="width of CSPNet's node states and MLPs")
    layers: int = Field(4, ge=1, description="message-passing layers of CSPNet (and of the Tc guide)")
    n_frequencies: int = Field(10, ge=1, description="Fourier frequencies k = 1..n of fractional-coordinate differences")
    timesteps: int = Field(1000, ge=2, description="diffusion steps T (training and sampling)")
    sigma_begin: float = Field(0.005, gt=0, description="smallest wrapped-normal sigma of the coordinates")
    sigma_end: float = Field(0.5, gt=0, description="largest wrapped-normal sigma of the coordinates")
    step_lr: float = Field(1e-5, ge=0, description="Langevin corrector step size at sigma_begin (0: no corrector)")
    epochs: int = Field(300, ge=1, description="passes over the training crystals")
    batch_size: int = Field(32, ge=1, description="crystals per training batch")
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate")
    max_atoms: int = Field(40, ge=1, description="largest cell: longer training crystals are skipped, and Z is "
                           "capped so that no generated cell exceeds it")
    max_z: int = Field(8, ge=1, description="largest number of formula units Z per generated cell")
    primitive: bool = Field(True, description="train on primitive cells (smaller, as DiffCSP's MP-20)")
    target_tc: float | None = Field(None, gt=0, description="Tc (K) to steer toward (needs fit with y); "
                                    "generate(target=...) overrides it")
    guidance_scale: float = Field(0.0, ge=0, description="weight of the Tc guide's gradient (0 = unguided)")
    sample_batch: int = Field(256, ge=1, description="crystals denoised together when sampling")
    checkpoint_every: int = Field(25, ge=0, description="write a resumable checkpoint every this many epochs "
                                  "when run by a run (0 = never)")
    device: str = Field("auto", description="'auto' (CUDA when usable), 'cpu' or 'cuda[:n]'")
    seed: int | None = Field(None, description="training seed (None: the run's seed, or 0 without a run)")
    processes: int = Field(1, ge=1, description="data-parallel training processes on this machine, each on its "
                           "share of every batch's crystals (1: this process; docs/cluster.md)")


class DiffCSP(StructureGenerator):
    """DiffCSP: crystal structures for given compositions by joint equivariant diffusion of lattice
    and fractional coordinates, steerable toward a target Tc (DiffCSP-SC).

    - Lattice: DDPM with the cosine schedule on the lattice matrix divided by n^(1/3) c (n atoms; c
      the training crystals' median cube root of volume per atom), so that every cell size trains
      at unit scale.
    - Fractional coordinates: score matching on the wrapped normal (periodic), sigmas geometric from
      ``sigma_begin`` to ``sigma_end``; sampled by predictor-corrector (Langevin corrector of step
      ``step_lr`` (sigma_t / sigma_begin)^2, then a reverse-diffusion predictor), starting uniform.
    - Denoiser: CSPNet (:mod:`.cspnet`): message passing on the fully connected graph of each crystal
      with lattice inner products L L^T and Fourier features of fractional differences, so it is
      rotation/reflection and permutation invariant (scores permute with the atoms) and consistent
      under periodic translations.
    - Atom types are given (crystal structure prediction): a composition becomes its smallest
      integer formula times Z, Z from the training frequencies for formulas of that many atoms (the
      most frequent first), Z <= ``max_z`` and at most ``max_atoms`` atoms. A composition with no
      integer formula within ``max_atoms`` gets no structure.
    - ``fit(structures, y)`` trains on the ordered structures only (disordered ones and cells above
      ``max_atoms`` are skipped and counted in the log and in ``skipped_``). With ``y`` (Tc, K, > 0)
      a time-dependent regressor of ln Tc on noised crystals is trained beside the denoiser; with
      ``guidance_scale`` > 0 and a target Tc, sampling adds the gradient of -(f - ln Tc*)^2 / 2
      (standardised) to the scores (:mod:`.guidance`).
    - Seeded (``random_state``: same structures); checkpoints and resume with a run as the torch
      generators do; ``save``/``load`` keep state dicts (``weights_only=True``).
    - ``processes`` > 1 (or torchrun) trains data-parallel as the torch generators do: every process
      draws the random numbers of the whole batch and takes its share of the crystals and their
      atoms (:meth:`_train_step`); the loss curve is that of one process up to rounding.
    """

    name = "diffcsp"
    steerable = True
    requires = ("torch", "torch_geometric", "pymatgen")
    Params = DiffCSPParams
    quick: ClassVar[dict[str, Any]] = {"epochs": 3, "hidden": 32, "layers": 2, "timesteps": 50}

    def citations(self) -> list[str]:
        return [
            "R. Jiao et al., Crystal Structure Prediction by Joint Equivariant Diffusion, NeurIPS 2023; "
            "arXiv:2309.04475.",
            "P. Chen et al., Learning Superconductivity from Ordered and Disordered Material Structures "
            "(DiffCSP-SC), NeurIPS 2024 Datasets and Benchmarks.",
            "Y. Song et al., Score-Based Generative Modeling through Stochastic Differential Equations, "
            "ICLR 2021 (predictor-corrector sampling).",
        ]

    def provenance(self) -> dict[str, Any]:
        import torch
        import torch_geometric

        return {"torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
                "device": resolve_device(self.params.device)}  # fmt: skip

    # -- training ----------------------------------------------------------------------------

    def fit(self, structures, y: np.ndarray | None = None, *, run=None) -> DiffCSP:
        """Train on the ordered ``structures`` (and their Tc ``y`` in K for the steering guide)."""
        import torch  # noqa: F401  (resolve_device asks the torch that is loaded)

        from .cells import ZTable, formula_atoms_and_z, structure_arrays

        p = self.params
        structures = list(structures)
        if y is not None:
            y = np.asarray(y, dtype=float).reshape(-1)
            if len(y) != len(structures):
                raise UserError(f"diffcsp: y needs one Tc per structure ({len(structures)}), got {len(y)}")
        kept, tcs, disordered, too_big = [], [], 0, 0
        for i, structure in enumerate(structures):
            if not structure.is_ordered:
                disordered += 1
                continue
            if p.primitive:
                structure = structure.get_primitive_structure()
            if len(structure) > p.max_atoms:
                too_big += 1
                continue
            kept.append(structure)
            if y is not None:
                tcs.append(y[i])
        self.skipped_ = {"disordered": disordered, "above_max_atoms": too_big}
        log(run, f"diffcsp: training on {len(kept)} ordered structures; skipped {disordered} disordered and "
                 f"{too_big} with more than max_atoms={p.max_atoms} atoms")  # fmt: skip
        if not kept:
            raise UserError(
                f"diffcsp: no ordered structure of at most max_atoms={p.max_atoms} atoms to train on "
                f"({disordered} disordered, {too_big} too large)",
                hint="give ordered structures, or raise max_atoms",
            )
        if y is not None and not (np.isfinite(tcs) & (np.asarray(tcs) > 0)).all():
            raise UserError("diffcsp: the Tc guide learns ln Tc, so y must be finite and > 0 for every ordered structure",
                            hint="drop those structures or fit without y")  # fmt: skip
        arrays = [structure_arrays(s) for s in kept]
        self.z_table_ = ZTable([formula_atoms_and_z(s) for s in kept])
        self.length_scale_ = float(np.median([(s.volume / len(s)) ** (1 / 3) for s in kept]))
        if y is not None:
            log_tc = np.log(np.asarray(tcs))
            self.tc_mean_, self.tc_std_ = float(log_tc.mean()), float(log_tc.std() or 1.0)
        seed = p.seed if p.seed is not None else (run.seed if run is not None else 0)
        targets = None if y is None else (log_tc - self.tc_mean_) / self.tc_std_
        train = functools.partial(self._train, seed=seed)
        self.denoiser_, self.tc_predictor_, self.history_ = data_parallel(
            self.name, train, arrays, targets, run, p.processes, resolve_device(p.device)
        )
        return self

    def _train(self, arrays, targets, run, shard: Shard, *, seed: int) -> tuple:
        """The training loop in one process, ``shard`` of the data-parallel processes (each builds
        the same seeded networks and draws the random numbers of the whole batch): (denoiser, Tc
        guide or None, history) on the CPU. Rank 0 alone (the one given ``run``) reads and writes
        the checkpoint; the others start from the one it read."""
        import torch

        p = self.params
        device = torch.device(shard.device(resolve_device(p.device)))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            denoiser, tc_predictor = self._networks(with_tc=targets is not None)
        nets = {"denoiser": denoiser} | ({"tc_predictor": tc_predictor} if targets is not None else {})
        for net in nets.values():
            net.to(device).train()
        optimizers = {name: torch.optim.Adam(net.parameters(), lr=p.learning_rate) for name, net in nets.items()}
        shard.average_gradients(*optimizers.values())
        rngs = {"data": torch.Generator().manual_seed(seed), "noise": torch.Generator(device=device).manual_seed(seed + 1)}
        fingerprint = self._fingerprint(arrays, targets, seed, device.type)
        checkpoint, saved = None, None
        history, start = [], 0
        if run is not None and p.checkpoint_every > 0:
            checkpoint = Path(run.checkpoint_dir(self.name)) / CHECKPOINT_FILE
            saved = read_checkpoint(checkpoint, fingerprint, p.epochs, run, "diffcsp")
        saved = shard.from_rank0(saved)
        if saved is not None:
            for name, net in nets.items():
                net.load_state_dict(saved["nets"][name])
            for name, optimizer in optimizers.items():
                optimizer.load_state_dict(saved["optimizers"][name])
            for name, rng in rngs.items():
                rng.set_state(saved["rngs"][name])
            history, start = list(saved["history"]), int(saved["epoch"])
            log(run, f"diffcsp: resuming from epoch {start} of {p.epochs}")
        data = _Crystals(arrays, self.length_scale_, targets, device)
        schedules = self._schedules(device)
        with progress(run, "training diffcsp", total=p.epochs) as bar:
            if start:
                bar.advance(start)
            for epoch in range(start, p.epochs):
                order = torch.randperm(len(arrays), generator=rngs["data"]).tolist()
                sums: dict[str, float] = {}
                for first in range(0, len(order), p.batch_size):
                    losses = self._train_step(data, order[first : first + p.batch_size], nets, optimizers,
                                              schedules, rngs["noise"], shard)  # fmt: skip
                    for key, value in losses.items():
                        sums[key] = sums.get(key, 0.0) + value
                if shard.world > 1:
                    summed = shard.average(torch.tensor(list(sums.values()), dtype=torch.float64)).tolist()
                    sums = dict(zip(sums, summed))
                row = {key: value / math.ceil(len(order) / p.batch_size) for key, value in sums.items()}
                if not all(math.isfinite(v) for v in row.values()):
                    raise StepError(f"diffcsp diverged at epoch {epoch + 1} (a loss is not finite)",
                                    hint="lower learning_rate")  # fmt: skip
                history.append({"epoch": epoch + 1, **row})
                bar.advance(**row)
                done = epoch + 1
                if checkpoint is not None and (done % p.checkpoint_every == 0 or done == p.epochs):
                    write_checkpoint(checkpoint, {
                        "fingerprint": fingerprint, "epoch": done, "history": history,
                        "nets": {name: net.state_dict() for name, net in nets.items()},
                        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
                        "rngs": {name: rng.get_state() for name, rng in rngs.items()},
                    })  # fmt: skip
        for net in nets.values():
            net.cpu().eval()
        return denoiser, tc_predictor, history

    def _train_step(self, data, rows: list[int], nets, optimizers, schedules, rng, shard: Shard) -> dict[str, float]:
        """One step on the crystals ``rows``: the random numbers are drawn for all of them, and with
        several processes this one takes its contiguous share of the crystals (and of their atoms),
        weighting each mean by its share of the crystals (lattice, Tc) or atoms (coordinates); a
        process without a crystal (a last batch of fewer crystals than processes) runs the first
        at weight 0."""
        import torch

        from .diffusion import noise_lattice
        from .wrapped_normal import wrapped_normal_score

        batch = data.batch(rows)
        device = batch.coords.device
        n_crystals = len(batch.counts)
        t = torch.randint(1, schedules.timesteps + 1, (n_crystals,), generator=rng, device=device)
        eps = torch.randn(batch.lattices.shape, generator=rng, device=device)
        lattices = noise_lattice(batch.lattices, t, schedules, eps)
        sigma = schedules.sigmas[t][batch.crystal][:, None]
        displacement = sigma * torch.randn(batch.coords.shape, generator=rng, device=device)
        coords = (batch.coords + displacement).remainder(1.0)
        target = wrapped_normal_score(displacement, sigma.expand_as(displacement))
        target = target / schedules.sigma_norms[t][batch.crystal][:, None].sqrt()
        crystal_weight = atom_weight = 1.0
        if shard.world > 1:
            part = shard.part(n_crystals, empty=True)
            mine = part if part.stop > part.start else slice(0, 1)
            ends = [0, *torch.cumsum(batch.counts, 0).tolist()]
            atoms = slice(ends[mine.start], ends[mine.stop])
            crystal_weight = shard.weight(n_crystals)
            atom_weight = (ends[part.stop] - ends[part.start]) * shard.world / ends[-1]
            batch, t, eps = data.batch(rows[mine]), t[mine], eps[mine]
            coords, lattices, target = coords[atoms], lattices[mine], target[atoms]
        noised = batch.replace(coords=coords, lattices=lattices)
        predicted_eps, predicted_score = nets["denoiser"](noised, t)
        loss_lattice = ((predicted_eps - eps) ** 2).mean() * crystal_weight
        loss_coords = ((predicted_score - target) ** 2).mean() * atom_weight
        losses = {"loss_lattice": loss_lattice, "loss_coords": loss_coords}
        total = {"denoiser": loss_lattice + loss_coords}
        if "tc_predictor" in nets:
            total["tc_predictor"] = losses["loss_tc"] = (
                ((nets["tc_predictor"](noised, t) - batch.targets) ** 2).mean() * crystal_weight
            )
        for name, loss in total.items():
            optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[name].step()
        return {key: float(value.detach()) for key, value in losses.items()}

    # -- sampling ----------------------------------------------------------------------------

    def generate(self, compositions, k: int = 1, *, random_state: int | None = None, run=None,
                 target: float | None = None) -> list[list]:  # fmt: skip
        """Up to ``k`` structures per composition (see the class docstring); ``target`` (Tc, K)
        steers toward that Tc when ``guidance_scale`` > 0 (default: the ``target_tc`` parameter)."""
        import torch
        from pymatgen.core import Lattice, Structure

        from sc_toolkit import SYMBOLS

        from .cells import integer_formula, species_list

        p = self.params
        if not hasattr(self, "denoiser_"):
            raise UserError("diffcsp is not fitted", hint="call fit(structures) before generate")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise UserError(f"diffcsp: k must be a positive integer, got {k!r}")
        target = p.target_tc if target is None else target
        guided = p.guidance_scale > 0 and target is not None
        if guided and self.tc_predictor_ is None:
            raise UserError("diffcsp: steering toward a Tc needs the Tc guide", hint="fit with y (Tc in K), or set guidance_scale = 0")
        if guided and not target > 0:
            raise UserError(f"diffcsp: target Tc must be > 0 K, got {target!r}")
        wanted = as_compositions(compositions)
        rng = np.random.default_rng(random_state)
        jobs: list[tuple[int, list[int]]] = []
        for index, fractions in enumerate(wanted.fractions):
            formula = integer_formula(np.asarray(fractions, dtype=float), p.max_atoms)
            if formula is None:
                log(run, f"diffcsp: {wanted.formulas[index]} has no integer formula of at most {p.max_atoms} atoms")
                continue
            size = sum(formula.values())
            jobs += [(index, species_list(formula, z)) for z in self.z_table_.choices(size, int(k), p.max_atoms, p.max_z, rng)]
        device = torch.device(resolve_device(p.device))
        generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
        goal = None if not guided else (math.log(target) - self.tc_mean_) / self.tc_std_
        out: list[list] = [[] for _ in range(len(wanted))]
        with progress(run, "sampling diffcsp", total=len(jobs)) as bar:
            for first in range(0, len(jobs), p.sample_batch):
                chunk = jobs[first : first + p.sample_batch]
                lattices, coords, counts = self._sample([species for _, species in chunk], device, generator,
                                                        goal)  # fmt: skip
                starts = np.concatenate([[0], np.cumsum(counts)])
                for j, (index, species) in enumerate(chunk):
                    lattice = lattices[j] * len(species) ** (1 / 3) * self.length_scale_
                    if np.isfinite(lattice).all() and abs(np.linalg.det(lattice)) > 1e-6:
                        out[index].append(Structure(Lattice(lattice), [SYMBOLS[z - 1] for z in species],
                                                    coords[starts[j] : starts[j + 1]]))  # fmt: skip
                bar.advance(len(chunk))
        return out

    def _sample(self, species_lists, device, generator, goal):
        """Denoise one batch of crystals from the prior; (scaled lattices (B, 3, 3), fractional
        coordinates (N, 3), atoms per crystal (B,)) as numpy."""
        import torch

        from .cspnet import CrystalBatch
        from .diffusion import corrector_step, lattice_step, predictor_step
        from .guidance import tc_log_likelihood_gradients

        p = self.params
        net = self.denoiser_.to(device)
        guide = self.tc_predictor_.to(device) if goal is not None else None
        schedules = self._schedules(device)
        counts = torch.tensor([len(s) for s in species_lists], device=device)
        species = torch.tensor([z for s in species_lists for z in s], device=device)
        n_atoms, n_crystals = int(counts.sum()), len(species_lists)
        coords = torch.rand((n_atoms, 3), generator=generator, device=device)
        lattices = torch.randn((n_crystals, 3, 3), generator=generator, device=device)
        batch = CrystalBatch.of(species, coords, lattices, counts)

        def scores(batch, t_batch, t):
            eps, score = net(batch, t_batch)
            score = score * schedules.sigma_norms[t].sqrt()
            if guide is not None:
                grad_lattices, grad_coords = tc_log_likelihood_gradients(guide, batch, t_batch, goal)
                score = score + p.guidance_scale * grad_coords
                eps = eps - p.guidance_scale * (1 - schedules.alpha_bars[t]).sqrt() * grad_lattices
            return eps, score

        with torch.no_grad():
            for t in range(schedules.timesteps, 0, -1):
                t_batch = torch.full((n_crystals,), t, device=device, dtype=torch.long)
                if p.step_lr > 0:
                    _, score = scores(batch, t_batch, t)
                    noise = torch.randn(coords.shape, generator=generator, device=device) if t > 1 else torch.zeros_like(coords)
                    coords = corrector_step(coords, score, t, schedules, p.step_lr, noise)
                    batch = batch.replace(coords=coords)
                eps, score = scores(batch, t_batch, t)
                coords = predictor_step(coords, score, t, schedules,
                                        torch.randn(coords.shape, generator=generator, device=device))
                lattices = lattice_step(lattices, eps, t, schedules,
                                        torch.randn(lattices.shape, generator=generator, device=device))
                batch = batch.replace(coords=coords, lattices=lattices)
        net.cpu()
        if guide is not None:
            guide.cpu()
        return lattices.double().cpu().numpy(), coords.double().cpu().numpy(), counts.cpu().numpy()

    # -- helpers -----------------------------------------------------------------------------

    def _networks(self, with_tc: bool):
        from .cspnet import CSPNet, TcPredictor

        p = self.params
        denoiser = CSPNet(p.hidden, p.layers, p.n_frequencies, p.timesteps)
        return denoiser, (TcPredictor(p.hidden, p.layers, p.n_frequencies, p.timesteps) if with_tc else None)

    def _schedules(self, device):
        from .diffusion import Schedules

        p = self.params
        schedules = Schedules.make(p.timesteps, p.sigma_begin, p.sigma_end)
        for name in ("betas", "alphas", "alpha_bars", "sigmas", "sigma_norms"):
            setattr(schedules, name, getattr(schedules, name).to(device))
        return schedules

    def _fingerprint(self, arrays, targets, seed: int, device: str) -> str:
        digest = hashlib.sha256()
        digest.update(repr((self.name, len(arrays), seed, device)).encode())
        digest.update(self.params.model_dump_json(exclude=SAMPLING_ONLY | {"seed", "processes"}).encode())
        for species, coords, lattice in arrays:
            digest.update(species.tobytes() + coords.tobytes() + lattice.tobytes())
        if targets is not None:
            digest.update(np.asarray(targets, dtype=float).tobytes())
        return digest.hexdigest()

    def _save_state(self, directory: Path) -> None:
        import torch

        if not hasattr(self, "denoiser_"):
            return
        torch.save({
            "denoiser": self.denoiser_.state_dict(),
            "tc_predictor": None if self.tc_predictor_ is None else self.tc_predictor_.state_dict(),
            "length_scale": self.length_scale_,
            "tc": [getattr(self, "tc_mean_", 0.0), getattr(self, "tc_std_", 1.0)],
            "z_table": self.z_table_.to_state(),
            "skipped": self.skipped_,
        }, directory / STATE_FILE)  # fmt: skip

    def _load_state(self, directory: Path) -> None:
        import torch

        from .cells import ZTable

        path = directory / STATE_FILE
        if not path.is_file():
            return
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.denoiser_, self.tc_predictor_ = self._networks(with_tc=state["tc_predictor"] is not None)
        self.denoiser_.load_state_dict(state["denoiser"])
        self.denoiser_.eval()
        if self.tc_predictor_ is not None:
            self.tc_predictor_.load_state_dict(state["tc_predictor"])
            self.tc_predictor_.eval()
        self.length_scale_ = float(state["length_scale"])
        self.tc_mean_, self.tc_std_ = state["tc"]
        self.z_table_ = ZTable.from_state(state["z_table"])
        self.skipped_ = dict(state["skipped"])


class _Crystals:
    """Training crystals as tensors on the device, batched by index lists."""

    def __init__(self, arrays, length_scale: float, targets, device):
        import torch

        self.species = [torch.tensor(s, device=device) for s, _, _ in arrays]
        self.coords = [torch.tensor(c, dtype=torch.float32, device=device) for _, c, _ in arrays]
        self.lattices = torch.tensor(
            np.stack([lattice / (len(s) ** (1 / 3) * length_scale) for s, _, lattice in arrays]),
            dtype=torch.float32, device=device,
        )  # fmt: skip
        self.targets = None if targets is None else torch.tensor(targets, dtype=torch.float32, device=device)
        self.device = device

    def batch(self, rows: list[int]):
        import torch

        from .cspnet import CrystalBatch

        counts = torch.tensor([len(self.species[i]) for i in rows], device=self.device)
        batch = CrystalBatch.of(torch.cat([self.species[i] for i in rows]), torch.cat([self.coords[i] for i in rows]),
                                self.lattices[rows], counts)  # fmt: skip
        batch.targets = None if self.targets is None else self.targets[rows]
        return batch
