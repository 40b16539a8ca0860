"""``sodnet``: E(3)-equivariant graph attention regressor of Tc on occupancy-aware crystal graphs.

A compact, faithful variant of SODNet (Chen et al., NeurIPS 2024): e3nn irreps up to l = 2,
spherical-harmonic messages, attention weights from invariant features, gated nonlinearities,
occupancy in the node embeddings and on the edges (see :mod:`sctk_crystal._nets` and
:mod:`sctk_crystal.graphs`). Contract:

- ``X`` is a list of ``crystal-graph`` graphs (never indexed by a mask), ``y`` Tc in K (> 0 when
  ``log_target``, the default: the network learns ln(Tc) as SODNet does and ``predict`` returns
  exp of it, in K).
- ``fit`` trains ``n_models`` members; member m holds out a seeded ``valid_fraction`` of the rows
  (at least one), trains with AdamW and keeps its best-validation epoch (early stopping with
  ``patience``). With ``groups`` (the runner passes composition keys) member m holds out a seeded
  ``valid_fraction`` of the groups instead, whole (:func:`sc_toolkit.group_holdout`; at least one
  group out, one in), so no composition is on both sides of its early stopping; the rows each
  member validated on are ``valid_rows_[m]``. The same seed on the same device gives the same
  weights. With ``processes`` > 1 (or under torchrun) each member trains data-parallel: every
  process takes its share of each batch's graphs (:func:`sctk_crystal._nets.train`), and the
  losses are those of one process up to the order of floating-point sums.
- ``predict(X, return_std=True)`` gives the members' mean and standard deviation (in K; with
  ``log_target`` the mean and spread are taken in ln(Tc) and mapped back: exp(mean), and the std
  by the delta method exp(mean) x std_ln). ``n_models = 1`` has no spread: return_std is then an
  error.
- With a run, progress shows train/validation losses, and each member's best state is written to
  ``run.checkpoint_dir("sodnet")/member_<m>.pt``. ``save``/``load`` keep the state dicts
  (``weights_only=True``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from sc_toolkit import Params, Predictor, UserError
from sc_toolkit import log, map_tasks, resolve_device

STATE_FILE = "members.pt"


class NetworkParams(Params):
    """Shape of the equivariant network and its training (shared by the structure predictors)."""

    layers: int = Field(3, ge=1, description="equivariant attention layers")
    scalars: int = Field(64, ge=1, description="channels of l = 0 features")
    vectors: int = Field(16, ge=1, description="channels of l = 1 features")
    tensors: int = Field(8, ge=1, description="channels of l = 2 features")
    heads: int = Field(4, ge=1, description="attention heads")
    radial_hidden: int = Field(64, ge=1, description="width of the radial and attention MLPs")
    epochs: int = Field(300, ge=1, description="maximum epochs per member")
    batch_size: int = Field(16, ge=1)
    lr: float = Field(5e-4, gt=0, description="AdamW learning rate")
    weight_decay: float = Field(1e-2, ge=0, description="AdamW weight decay")
    device: str = Field("auto", description="'auto' (CUDA when present), 'cpu' or 'cuda[:n]'")
    seed: int | None = Field(None, description="training seed (None: the run's seed, or 0 without a run)")
    processes: int = Field(1, ge=1, description="data-parallel training processes on this machine, each on its "
                           "share of every batch's graphs (1: this process; docs/cluster.md)")


class SODNetParams(NetworkParams):
    log_target: bool = Field(True, description="learn ln(Tc) (SODNet's target); y must then be > 0")
    n_models: int = Field(3, ge=1, description="ensemble members (spread = return_std; 1 = no std)")
    valid_fraction: float = Field(0.1, gt=0, lt=1, description="share of the rows (of the groups, given groups) "
                                  "each member holds out for early stopping")
    patience: int = Field(30, ge=1, description="epochs without validation improvement before stopping")


class SODNet(Predictor):
    """SODNet-style E(3)-equivariant graph attention network for Tc on ordered and disordered crystals."""

    name = "sodnet"
    supports_std = True
    requires = ("torch", "e3nn", "torch_geometric")
    Params = SODNetParams
    quick: ClassVar[dict[str, Any]] = {"epochs": 3, "n_models": 2, "layers": 2, "scalars": 16,
                                       "vectors": 4, "tensors": 2}  # fmt: skip

    def citations(self) -> list[str]:
        return [
            "P. Chen et al., Learning Superconductivity from Ordered and Disordered Material Structures, "
            "NeurIPS 2024 Datasets and Benchmarks.",
            "M. Geiger and T. Smidt, e3nn: Euclidean Neural Networks, arXiv:2207.09453 (2022).",
        ]

    def fit(self, X, y, *, groups=None, run=None) -> SODNet:
        """Train the members on graphs ``X`` and Tc ``y`` (K); ``groups`` (one label per row, e.g.
        composition keys) makes each member's validation hold-out whole groups."""
        import torch

        from . import _nets
        from ._splits import group_ids

        p = self.params
        graphs = _nets.check_graphs(X)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(graphs) or len(graphs) < 2:
            raise UserError(f"sodnet needs one target per graph and at least 2 graphs, got {len(graphs)} / {len(y)}")
        if p.log_target and not (y > 0).all():
            raise UserError("log_target needs Tc > 0 for every row", hint="filter tc > 0, or set log_target = false")
        target = np.log(y) if p.log_target else y
        self.target_mean_, self.target_std_ = float(target.mean()), float(target.std() or 1.0)
        scaled = torch.tensor((target - self.target_mean_) / self.target_std_, dtype=torch.float32)[:, None]
        seed = p.seed if p.seed is not None else (run.seed if run is not None else 0)
        self.n_elements_, self.n_basis_ = graphs[0].x.shape[1], graphs[0].edge_attr.shape[1]
        ids = group_ids(groups, len(graphs), self.name)
        self.members_, self.histories_, self.valid_rows_ = [], [], []
        members = enumerate(np.random.SeedSequence(seed).spawn(p.n_models))
        gpus = p.processes if resolve_device(p.device).startswith("cuda") else 0  # a GPU per process of a member
        trained = map_tasks(run, self._fit_member, members, shared=(graphs, scaled, ids), cpus=p.processes, gpus=gpus)
        for m, (model, valid_rows, history) in enumerate(trained):  # a log line per member, as it comes back
            log(run, f"sodnet member {m}: {history['epochs']} epochs, best validation MSE {history['best_valid']:.4f}")
            self.members_.append(model)
            self.valid_rows_.append(valid_rows)
            self.histories_.append(history)
        return self

    def _fit_member(self, member: tuple, data: tuple, run=None) -> tuple:
        """Member ``m`` of ``member`` = (m, its SeedSequence), a function of its arguments only: (the
        network on the CPU, its validation rows, its history) trained with the hold-out drawn from
        the seed; ``data`` is (graphs, scaled targets, group ids). With a run, its epochs are shown
        and its kept state is checkpointed."""
        import torch

        from . import _nets
        from ._splits import group_holdout

        p = self.params
        m, member_seed = member
        graphs, scaled, ids = data
        rng = np.random.default_rng(member_seed)
        train_rows, valid_rows = group_holdout(ids, p.valid_fraction, rng)
        torch.manual_seed(int(rng.integers(2**31 - 1)))
        model = self._network()
        checkpoint = None if run is None else Path(run.checkpoint_dir(self.name)) / f"member_{m}.pt"
        history = _nets.train(
            model, graphs, scaled, train_rows, valid_rows, torch.nn.functional.mse_loss, name=self.name,
            stopper=_nets.PatienceStopper(p.patience), epochs=p.epochs, batch_size=p.batch_size,
            lr=p.lr, weight_decay=p.weight_decay, seed=int(rng.integers(2**31 - 1)), device=resolve_device(p.device),
            processes=p.processes, run=run, description=f"training sodnet {m + 1}/{p.n_models}", checkpoint=checkpoint,
        )  # fmt: skip
        return model.cpu(), valid_rows, {k: history[k] for k in ("epochs", "best_valid", "train", "valid")}

    def predict(self, X, return_std: bool = False):
        """Tc in K (and the members' spread in K with ``return_std``)."""
        from . import _nets

        if not hasattr(self, "members_"):
            raise UserError("sodnet is not fitted", hint="call fit first")
        if return_std and len(self.members_) < 2:
            raise UserError("return_std needs an ensemble", hint="fit with n_models >= 2")
        graphs = _nets.check_graphs(X)
        device = resolve_device(self.params.device)
        outputs = np.stack(
            [_nets.predict(m, graphs, self.params.batch_size, device)[:, 0] for m in self.members_]
        ) * self.target_std_ + self.target_mean_
        for member in self.members_:
            member.cpu()
        mean, std = outputs.mean(axis=0), outputs.std(axis=0)
        if self.params.log_target:
            mean = np.exp(mean)
            std = mean * std
        return (mean, std) if return_std else mean

    def provenance(self) -> dict[str, Any]:
        import e3nn
        import torch

        return {"torch": torch.__version__, "e3nn": e3nn.__version__, "device": resolve_device(self.params.device)}

    def _network(self):
        from ._nets import EquivariantGraphAttention

        p = self.params
        return EquivariantGraphAttention(
            n_elements=self.n_elements_, n_basis=self.n_basis_, out_dim=1, layers=p.layers, scalars=p.scalars,
            vectors=p.vectors, tensors=p.tensors, heads=p.heads, radial_hidden=p.radial_hidden,
        )  # fmt: skip

    def _save_state(self, directory: Path) -> None:
        import torch

        if hasattr(self, "members_"):
            torch.save(
                {
                    "members": [m.state_dict() for m in self.members_],
                    "shape": [self.n_elements_, self.n_basis_],
                    "target": [self.target_mean_, self.target_std_],
                },
                directory / STATE_FILE,
            )

    def _load_state(self, directory: Path) -> None:
        import torch

        path = directory / STATE_FILE
        if not path.is_file():
            return
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.n_elements_, self.n_basis_ = state["shape"]
        self.target_mean_, self.target_std_ = state["target"]
        self.members_ = []
        for member_state in state["members"]:
            model = self._network()
            model.load_state_dict(member_state)
            self.members_.append(model.eval())
