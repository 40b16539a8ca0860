"""``alpha2f-ensemble``: BETE-NET-style bootstrapped ensemble of tempered equivariant networks that
predict the Eliashberg spectral function alpha2F(omega) and, from it, Tc.

Contract:

- ``X`` is a list of ``crystal-graph`` graphs (BETE-NET uses ``node_features="mass-weighted"`` and a
  4 A cutoff). Each network (see :mod:`sctk_crystal._nets`) outputs alpha2F on the 51-bin grid of
  :mod:`sctk_crystal.eliashberg` as softplus(output - 3) >= 0 (the shift starts lambda near 1).
- ``y`` picks the training signal (``train_on="auto"``): shape (n, 51) = spectra, loss MSE on
  alpha2F; shape (n, 2) or a DataFrame with ``lambda`` and ``omega_log`` (K) = moments, loss on the
  moments of the predicted spectrum (JARVIS gives only these); shape (n,) = Tc (K), loss on the Tc
  (``tc_formula``) of the predicted spectrum. ``loss="mse"``: squared error of each quantity divided
  by its training spread; ``loss="log"``: squared error of ln(lambda + 0.01), ln(omega_log + 1 K)
  and ln(1 + Tc / K), each divided by its training spread, so the many materials with small
  lambda and Tc near 0 weigh as much as the few strong couplers (spectra: MSE either way).
- ``fit`` trains ``n_models`` members, member m on a bootstrap resample of the rows, validated on
  its out-of-bag rows with BETE-NET's tempered early stopping
  (:class:`~sctk_crystal._nets.TemperedStopper`, ``patience_stages``). With ``groups`` (the runner
  passes composition keys) the bootstrap draws groups, not rows: a drawn group brings all its rows,
  and the out-of-bag rows are the groups never drawn, so no composition is both trained on and
  validated on by one member. If every group (row) was drawn, one drawn group is moved out of the
  bag so the out-of-bag set is never empty. ``valid_rows_[m]`` are member m's out-of-bag rows.
  Seeded like ``sodnet``. The members are independent tasks (:func:`sc_toolkit.map_tasks`): one after
  the other in this process, or Ray tasks of one CPU (one torch thread) each on a run with
  ``[run] executor = "ray"``; member m is a function of its seed and the data only, so it is the same
  network either way up to the rounding of torch's multi-threaded sums (a Ray member has no epoch
  progress bar and writes no checkpoint). With ``processes`` > 1 (or under torchrun) each member
  trains data-parallel as in ``sodnet``: its processes start when the member does (a Ray member
  holds ``processes`` CPUs).
- ``predict(X)`` is the Tc (K, ``mu_star``) of the ensemble-mean spectrum by ``tc_formula``:
  Allen-Dynes with f1 f2 (default) or McMillan's form, which is how JARVIS computed its Tc from
  lambda and omega_log (with mu* = 0.085; the mean is taken in alpha2F space, then the moments, as
  BETE-NET does); ``return_std`` adds the standard
  deviation of the members' Tc. ``predict_spectrum`` gives the mean and std spectra,
  ``predict_moments`` lambda, omega_log, omega_2, Tc McMillan and Allen-Dynes with their spreads.
- ``save``/``load`` keep the members' state dicts (``weights_only=True``); with a run, each member's
  kept state is also written to ``run.checkpoint_dir("alpha2f-ensemble")/member_<m>.pt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sc_toolkit import Predictor, UserError
from sc_toolkit import log, map_tasks, resolve_device

from .eliashberg import N_BINS
from .sodnet import NetworkParams

STATE_FILE = "members.pt"
#: Network outputs are shifted by this before the softplus, so an untrained member starts near
#: lambda ~ 1 instead of ~ 17.
OUTPUT_SHIFT = 3.0


class Alpha2FParams(NetworkParams):
    n_models: int = Field(5, ge=1, description="bootstrap members (BETE-NET: 100)")
    patience_stages: tuple[int, int, int] = Field(
        (15, 500, 5000), description="tempered early stopping: patience of stages 1 (descent), 2 (bump), 3"
    )
    mu_star: float = Field(0.10, ge=0, lt=0.5, description="Coulomb pseudopotential for Tc")
    tc_formula: Literal["allen-dynes", "mcmillan"] = Field(
        "allen-dynes", description="Tc that predict returns and 'tc' training uses: Allen-Dynes (f1 f2) or McMillan"
    )
    loss: Literal["mse", "log"] = Field(
        "mse", description="moments / Tc loss: standardised squared error, or the same on ln(lambda), ln(omega_log), ln(1+Tc)"
    )
    train_on: Literal["auto", "spectrum", "moments", "tc"] = Field(
        "auto", description="training signal; 'auto' reads it from the shape of y"
    )


class Alpha2FEnsemble(Predictor):
    """BETE-NET-style bootstrap ensemble of tempered e3nn networks predicting alpha2F(omega) and Tc."""

    name = "alpha2f-ensemble"
    supports_std = True
    requires = ("torch", "e3nn", "torch_geometric")
    Params = Alpha2FParams
    quick: ClassVar[dict[str, Any]] = {"epochs": 3, "n_models": 2, "layers": 2, "scalars": 16, "vectors": 4,
                                       "tensors": 2, "patience_stages": (2, 2, 2)}  # fmt: skip

    def citations(self) -> list[str]:
        return [
            "J. B. Gibson et al., Accelerating superconductor discovery through tempered deep learning of "
            "the electron-phonon spectral function, npj Comput. Mater. 11, 7 (2025).",
            "P. B. Allen and R. C. Dynes, Phys. Rev. B 12, 905 (1975); W. L. McMillan, Phys. Rev. 167, 331 (1968).",
        ]

    def fit(self, X, y, *, groups=None, run=None) -> Alpha2FEnsemble:
        """Train the members on graphs ``X`` and spectra, moments or Tc ``y`` (see the module docstring);
        ``groups`` (one label per row, e.g. composition keys) makes the bootstrap draw whole groups."""
        import torch

        from . import _nets
        from ._splits import group_ids

        p = self.params
        graphs = _nets.check_graphs(X)
        mode, target = _targets(y, p.train_on)
        if len(target) != len(graphs) or len(graphs) < 2:
            raise UserError(f"alpha2f-ensemble needs one target per graph and >= 2 graphs, got {len(graphs)} / {len(target)}")
        if not np.isfinite(target).all():
            raise UserError("alpha2f-ensemble targets contain NaN", hint="drop rows without targets first")
        self.mode_ = mode
        target = _loss_space(target, mode, p.loss)
        self.scale_ = [float(s) if s > 0 else 1.0 for s in np.atleast_1d(target.std(axis=0))]
        loss_fn = self._loss(mode, torch.tensor(self.scale_, dtype=torch.float32))
        targets = torch.tensor(target, dtype=torch.float32)
        seed = p.seed if p.seed is not None else (run.seed if run is not None else 0)
        self.n_elements_, self.n_basis_ = graphs[0].x.shape[1], graphs[0].edge_attr.shape[1]
        ids = group_ids(groups, len(graphs), self.name)
        self.members_, self.histories_, self.valid_rows_ = [], [], []
        members = enumerate(np.random.SeedSequence(seed).spawn(p.n_models))
        gpus = p.processes if resolve_device(p.device).startswith("cuda") else 0  # a GPU per process of a member
        trained = map_tasks(run, self._fit_member, members, shared=(graphs, targets, ids, loss_fn), cpus=p.processes,
                            gpus=gpus)
        for m, (model, out_of_bag, history) in enumerate(trained):  # a log line per member, as it comes back
            log(run, f"alpha2f member {m}: {history['epochs']} epochs, best out-of-bag loss {history['best_valid']:.4f}")
            self.members_.append(model)
            self.valid_rows_.append(out_of_bag)
            self.histories_.append(history)
        return self

    def _fit_member(self, member: tuple, data: tuple, run=None) -> tuple:
        """Member ``m`` of ``member`` = (m, its SeedSequence), a function of its arguments only: (the
        network on the CPU, its out-of-bag rows, its history) trained on the bootstrap drawn from the
        seed; ``data`` is (graphs, targets, group ids, loss). With a run, its epochs are shown and its
        kept state is checkpointed."""
        import torch

        from . import _nets
        from ._splits import group_bootstrap

        p = self.params
        m, member_seed = member
        graphs, targets, ids, loss_fn = data
        rng = np.random.default_rng(member_seed)
        rows, out_of_bag = group_bootstrap(ids, rng)
        torch.manual_seed(int(rng.integers(2**31 - 1)))
        model = _nets.NonNegative(self._network(), OUTPUT_SHIFT)
        checkpoint = None if run is None else Path(run.checkpoint_dir(self.name)) / f"member_{m}.pt"
        history = _nets.train(
            model, graphs, targets, rows, out_of_bag, loss_fn, name=self.name,
            stopper=_nets.TemperedStopper(p.patience_stages), epochs=p.epochs, batch_size=p.batch_size,
            lr=p.lr, weight_decay=p.weight_decay, seed=int(rng.integers(2**31 - 1)),
            device=resolve_device(p.device), processes=p.processes, run=run,
            description=f"training alpha2f-ensemble {m + 1}/{p.n_models}", checkpoint=checkpoint,
        )  # fmt: skip
        kept = {k: history[k] for k in ("epochs", "best_valid", "train", "valid")}
        return model.cpu(), out_of_bag, kept

    def predict(self, X, return_std: bool = False):
        """Tc (K, by ``tc_formula``) of the mean spectrum (and the members' Tc spread with ``return_std``)."""
        moments = self.predict_moments(X)
        column = "tc_allen_dynes" if self.params.tc_formula == "allen-dynes" else "tc_mcmillan"
        tc = moments[column].to_numpy()
        return (tc, moments[f"{column}_std"].to_numpy()) if return_std else tc

    def predict_spectrum(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) over the members of the predicted alpha2F, each (n, 51) on ``OMEGA_MEV``."""
        spectra = self._member_spectra(X)
        return spectra.mean(axis=0), spectra.std(axis=0)

    def predict_moments(self, X):
        """DataFrame, one row per graph: ``lambda``, ``omega_log``, ``omega_2`` (K), ``tc_mcmillan``,
        ``tc_allen_dynes`` (K, ``mu_star``) of the ensemble-mean spectrum, and ``<column>_std``, the
        standard deviation of that quantity over the members' own spectra."""
        import pandas as pd

        from .eliashberg import spectrum_summary

        spectra = self._member_spectra(X)
        mean = spectrum_summary(spectra.mean(axis=0), self.params.mu_star)
        members = spectrum_summary(spectra, self.params.mu_star)
        columns = {}
        for key, value in mean.items():
            columns[key] = value
            columns[f"{key}_std"] = members[key].std(axis=0)
        return pd.DataFrame(columns)

    def provenance(self) -> dict[str, Any]:
        import e3nn
        import torch

        return {"torch": torch.__version__, "e3nn": e3nn.__version__, "device": resolve_device(self.params.device)}

    def _member_spectra(self, X) -> np.ndarray:
        """(n_models, n, 51) spectra of every member."""
        from . import _nets

        if not hasattr(self, "members_"):
            raise UserError("alpha2f-ensemble is not fitted", hint="call fit first")
        graphs = _nets.check_graphs(X)
        device = resolve_device(self.params.device)
        spectra = np.stack([_nets.predict(m, graphs, self.params.batch_size, device) for m in self.members_])
        for member in self.members_:
            member.cpu()
        return spectra

    def _loss(self, mode: str, scale) -> _Loss:
        return _Loss(mode, scale, self.params.mu_star, self.params.loss, self.params.tc_formula)

    def _network(self):
        from ._nets import EquivariantGraphAttention

        p = self.params
        return EquivariantGraphAttention(
            n_elements=self.n_elements_, n_basis=self.n_basis_, out_dim=N_BINS, layers=p.layers,
            scalars=p.scalars, vectors=p.vectors, tensors=p.tensors, heads=p.heads, radial_hidden=p.radial_hidden,
        )  # fmt: skip

    def _save_state(self, directory: Path) -> None:
        import torch

        if hasattr(self, "members_"):
            torch.save(
                {
                    "members": [m.state_dict() for m in self.members_],
                    "shape": [self.n_elements_, self.n_basis_],
                    "mode": self.mode_,
                    "scale": self.scale_,
                },
                directory / STATE_FILE,
            )

    def _load_state(self, directory: Path) -> None:
        import torch

        path = directory / STATE_FILE
        if not path.is_file():
            return
        from ._nets import NonNegative

        state = torch.load(path, map_location="cpu", weights_only=True)
        self.n_elements_, self.n_basis_ = state["shape"]
        self.mode_, self.scale_ = state["mode"], state["scale"]
        self.members_ = []
        for member_state in state["members"]:
            model = NonNegative(self._network(), OUTPUT_SHIFT)
            model.load_state_dict(member_state)
            self.members_.append(model.eval())


#: ``loss="log"`` offsets of ln(lambda + 0.01) and ln(omega_log + 1 K).
LOG_OFFSETS = (0.01, 1.0)


@dataclass(frozen=True)
class _Loss:
    """The training loss of ``mode`` (a module-level callable: data-parallel processes unpickle it):
    a mean over rows of the squared error of spectra, or of moments / Tc in ``kind``'s space
    divided by their training spread ``scale``."""

    mode: str
    scale: Any
    mu_star: float
    kind: str
    formula: str

    def __call__(self, a2f, target):
        import torch

        from .eliashberg import moments, tc_allen_dynes, tc_mcmillan

        if self.mode == "spectrum":
            return torch.nn.functional.mse_loss(a2f, target)
        lam, omega_log, omega_2 = moments(a2f)
        if self.mode == "moments":
            predicted = torch.stack([lam, omega_log], dim=1)
        elif self.formula == "mcmillan":
            predicted = tc_mcmillan(lam, omega_log, self.mu_star)[:, None]
        else:
            predicted = tc_allen_dynes(lam, omega_log, omega_2, self.mu_star)[:, None]
        return (((_loss_space(predicted, self.mode, self.kind) - target) / self.scale.to(a2f.device)) ** 2).mean()


def _loss_space(values, mode: str, loss: str):
    """Moments (n, 2) or Tc (n, 1), numpy or torch, in the space the loss compares them in."""
    if loss != "log" or mode == "spectrum":
        return values
    if isinstance(values, np.ndarray):
        return np.log(values.clip(0.0) + (np.array(LOG_OFFSETS) if mode == "moments" else 1.0))
    import torch

    offsets = torch.tensor(LOG_OFFSETS, dtype=values.dtype, device=values.device) if mode == "moments" else 1.0
    return torch.log(values.clamp_min(0.0) + offsets)


def _targets(y, train_on: str) -> tuple[str, np.ndarray]:
    """(mode, 2-D float target array) from ``y`` and the ``train_on`` parameter."""
    if hasattr(y, "columns"):
        if {"lambda", "omega_log"} <= set(y.columns):
            y = y[["lambda", "omega_log"]]
        y = y.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    by_width = {N_BINS: "spectrum", 2: "moments", 1: "tc"}
    mode = by_width.get(y.shape[1]) if train_on == "auto" else train_on
    expected = {"spectrum": N_BINS, "moments": 2, "tc": 1}
    if mode is None or y.ndim != 2 or y.shape[1] != expected[mode]:
        raise UserError(
            f"alpha2f-ensemble targets of shape {y.shape} do not fit train_on='{train_on}'",
            hint=f"give spectra (n, {N_BINS}), moments (n, 2: lambda, omega_log in K) or Tc (n,)",
        )
    return mode, y
