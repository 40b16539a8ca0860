"""The ``mlp`` predictor: a feed-forward network on composition features (ElemNet-style).

Jha et al. (2018) showed that a plain deep network on composition vectors learns materials
properties; on composition features its errors differ from those of boosted trees, so it is a
useful blend member beside them. Each member of the ensemble is a network trained from its own
seed; the ensemble's spread is the uncertainty. torch is imported inside the methods that use it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sc_toolkit import Params, Predictor, UserError
from sc_toolkit import map_tasks, progress

from ._data import as_features, as_targets, ensemble_labels

METADATA = "mlp.json"
WEIGHTS = "mlp_member{index}.npz"


class MLPParams(Params):
    """Parameters of the network ensemble."""

    task: Literal["regression", "classification"] = Field(
        "regression", description="'regression' (a number such as Tc) or 'classification' (labels)"
    )
    hidden: list[int] = Field([512, 256, 128], min_length=1, description="widths of the hidden layers (SiLU)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout after each hidden layer but the last")
    epochs: int = Field(100, ge=1, description="passes over the training rows (no early stopping)")
    batch_size: int = Field(128, ge=1, description="rows per batch")
    learning_rate: float = Field(2e-3, gt=0, description="peak learning rate of AdamW's one-cycle schedule")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW's decoupled weight decay")
    huber_delta: float | None = Field(
        0.1, gt=0, description="regression: Huber (smooth L1) loss on the standardised target with this "
        "threshold; None for the squared error",
    )
    n_models: int = Field(3, ge=1, description="networks in the ensemble (seeds random_state, +1, ...)")
    random_state: int = Field(0, description="seed of the first network")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto': CUDA when available")


class MLPPredictor(Predictor):
    """Ensemble of feed-forward networks on standardised features; regression or classification.

    Contract:

    - ``fit(X, y)`` standardises each feature column with the training mean and std (a constant
      column is centred only) and, for regression, the target likewise; every network trains for
      ``epochs`` with AdamW under a one-cycle learning-rate schedule. Features must be finite.
      ``groups`` is accepted and unused: nothing is held out (no early stopping).
    - A network extrapolates linearly, and a rare element's fraction column has a tiny training
      std, so a new composition rich in it lies hundreds of stds out (one such UCI row was once
      predicted at -9,000 K). So features are clipped to the training range of each column before
      they enter a network, and regression predictions to the training range of the target.
    - ``predict(X, return_std=True)``: regression gives the members' mean and std; classification
      gives the label of the highest mean probability and the std of the members' probability of
      that label. ``predict_proba`` gives the members' mean class probabilities.
    - The same ``random_state`` on the CPU gives the same weights. Each network's weights are saved
      as a ``.npz`` of its state dict (read without pickle), the scalers and classes as JSON.
    """

    name = "mlp"
    Params: ClassVar[type[MLPParams]] = MLPParams
    requires = ("torch",)
    supports_std = True

    def fit(self, X: np.ndarray, y: np.ndarray, *, groups=None, run=None) -> MLPPredictor:
        """Train ``n_models`` networks; sets ``members_``, ``n_features_in_``, the scalers and, for
        classifiers, ``classes_``. Returns self."""
        X = as_features(X, allow_nan=False)
        target, classes = as_targets(y, len(X), self.task)
        p = self.params
        self.n_features_in_ = X.shape[1]
        self.x_mean_, self.x_scale_ = X.mean(axis=0), X.std(axis=0)
        self.x_scale_[self.x_scale_ == 0] = 1.0
        self.x_min_, self.x_max_ = X.min(axis=0), X.max(axis=0)
        if classes is not None:
            self.classes_ = classes
            self.y_mean_, self.y_scale_ = 0.0, 1.0
        else:
            self.y_mean_, self.y_scale_ = float(target.mean()), float(target.std() or 1.0)
            self.y_range_ = (float(target.min()), float(target.max()))
        device = self._device()
        if classes is None:
            labels = ((target - self.y_mean_) / self.y_scale_).astype(np.float32)
        else:
            labels = np.asarray(target, dtype=np.int64)
        # members as tasks of the run's executor (one after the other here, or Ray tasks, a GPU each on CUDA)
        members = map_tasks(run, self._fit_member, range(p.n_models), shared=(self._scaled(X), labels),
                            gpus=int(device.startswith("cuda")))
        self.members_ = [net.to(device) for net in members]
        return self

    def _fit_member(self, index: int, data: tuple, run=None):
        """Member ``index``, a function of its arguments only: the network (on the CPU) trained from
        seed ``random_state + index`` on ``data`` = (scaled features, labels); its epochs are shown
        in a run."""
        import torch

        p = self.params
        device = self._device()
        inputs, labels = (torch.as_tensor(array, device=device) for array in data)
        net = self._train(inputs, labels, p.random_state + index, device, run, f"mlp {index + 1}/{p.n_models}")
        return net.to("cpu")

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Mean prediction of the members (and their std with ``return_std``)."""
        outputs = self._outputs(X)
        if self.task == "classification":
            return ensemble_labels(outputs, self.classes_, return_std)
        values = np.clip(outputs * self.y_scale_ + self.y_mean_, *self.y_range_)
        return (values.mean(axis=0), values.std(axis=0)) if return_std else values.mean(axis=0)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Mean class probabilities of the members, columns in ``classes_`` order."""
        if self.task != "classification":
            raise NotImplementedError("predictor 'mlp' is a regressor; set task: classification")
        return self._outputs(X).mean(axis=0)

    def citations(self) -> list[str]:
        return [
            "Jha, D. et al. ElemNet: Deep Learning the Chemistry of Materials From Only Elemental "
            "Composition. Sci. Rep. 8, 17593 (2018).",
            "Loshchilov, I. & Hutter, F. Decoupled Weight Decay Regularization. ICLR (2019).",
        ]

    def provenance(self) -> dict[str, Any]:
        import torch

        return {"torch": torch.__version__}

    # ------------------------------------------------------------------------------------- helpers

    def _device(self) -> str:
        import torch

        if self.params.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.params.device == "cuda" and not torch.cuda.is_available():
            raise UserError("predictor 'mlp': device 'cuda' asked but no CUDA GPU is visible", hint="set device = 'auto'")
        return self.params.device

    def _network(self):
        from torch import nn

        p = self.params
        layers: list[nn.Module] = []
        width = self.n_features_in_
        for depth, size in enumerate(p.hidden):
            layers += [nn.Linear(width, size), nn.SiLU()]
            if p.dropout and depth < len(p.hidden) - 1:
                layers.append(nn.Dropout(p.dropout))
            width = size
        outputs = len(self.classes_) if self.task == "classification" else 1
        return nn.Sequential(*layers, nn.Linear(width, outputs))

    def _train(self, inputs, labels, seed: int, device: str, run, label: str):
        import torch

        p = self.params
        torch.manual_seed(seed)
        net = self._network().to(device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=p.learning_rate, weight_decay=p.weight_decay)
        n = len(inputs)
        batch = min(p.batch_size, n)
        steps_per_epoch = -(-n // batch)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=p.learning_rate,
                                                       total_steps=p.epochs * steps_per_epoch)
        shuffle = torch.Generator().manual_seed(seed)
        net.train()
        with progress(run, f"training {label}", total=p.epochs) as bar:
            for _ in range(p.epochs):
                order = torch.randperm(n, generator=shuffle).to(device)
                for start in range(0, n, batch):
                    rows = order[start : start + batch]
                    loss = self._loss(net(inputs[rows]), labels[rows])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                bar.advance(1)
        return net.eval()

    def _loss(self, output, labels):
        import torch.nn.functional as F

        if self.task == "classification":
            return F.cross_entropy(output, labels)
        if self.params.huber_delta is None:
            return F.mse_loss(output.squeeze(1), labels)
        return F.smooth_l1_loss(output.squeeze(1), labels, beta=self.params.huber_delta)

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        """Standardised features, each column first clipped to its training range."""
        return ((np.clip(X, self.x_min_, self.x_max_) - self.x_mean_) / self.x_scale_).astype(np.float32)

    def _outputs(self, X: np.ndarray) -> np.ndarray:
        """Per member: standardised predictions (n,) or class probabilities (n, k); shape (members, ...)."""
        import torch

        if not hasattr(self, "members_"):
            raise UserError("predictor 'mlp' is not fitted", hint="call fit(X, y) first")
        X = as_features(X, n_features=self.n_features_in_, allow_nan=False)
        device = next(self.members_[0].parameters()).device
        inputs = torch.as_tensor(self._scaled(X), device=device)
        out = []
        with torch.no_grad():
            for net in self.members_:
                raw = net(inputs).float()
                out.append((torch.softmax(raw, dim=1) if self.task == "classification" else raw.squeeze(1)).cpu().numpy())
        return np.stack(out)

    def _save_state(self, directory: Path) -> None:
        if not hasattr(self, "members_"):
            return
        for index, net in enumerate(self.members_):
            np.savez(directory / WEIGHTS.format(index=index), **{k: v.cpu().numpy() for k, v in net.state_dict().items()})
        meta = {"n_features": self.n_features_in_, "x_mean": self.x_mean_.tolist(), "x_scale": self.x_scale_.tolist(),
                "x_min": self.x_min_.tolist(), "x_max": self.x_max_.tolist(), "y_mean": self.y_mean_,
                "y_scale": self.y_scale_, "y_range": getattr(self, "y_range_", None), "n_members": len(self.members_),
                "classes": self.classes_.tolist() if hasattr(self, "classes_") else None}
        (directory / METADATA).write_text(json.dumps(meta) + "\n")

    def _load_state(self, directory: Path) -> None:
        if not (directory / METADATA).exists():  # saved before fitting
            return
        import torch

        meta = json.loads((directory / METADATA).read_text())
        self.n_features_in_ = meta["n_features"]
        self.x_mean_, self.x_scale_ = np.asarray(meta["x_mean"]), np.asarray(meta["x_scale"])
        self.x_min_, self.x_max_ = np.asarray(meta["x_min"]), np.asarray(meta["x_max"])
        self.y_mean_, self.y_scale_ = meta["y_mean"], meta["y_scale"]
        if meta["y_range"] is not None:
            self.y_range_ = tuple(meta["y_range"])
        if meta["classes"] is not None:
            self.classes_ = np.asarray(meta["classes"])
        device = self._device()
        self.members_ = []
        for index in range(meta["n_members"]):
            net = self._network()
            with np.load(directory / WEIGHTS.format(index=index), allow_pickle=False) as saved:
                net.load_state_dict({k: torch.from_numpy(saved[k]) for k in saved.files})
            self.members_.append(net.to(device).eval())
