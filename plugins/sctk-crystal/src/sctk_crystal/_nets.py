"""The E(3)-equivariant graph attention network and the training loop both structure predictors use.

Imported only when a predictor trains or predicts (it imports torch, e3nn and torch_geometric).

Network (a compact SODNet / Equiformer-style variant, on ``crystal-graph`` graphs):

- node input: a bias-free linear map of the occupancy-weighted species vector ``x`` (= the
  occupancy-weighted sum of species embeddings), giving ``scalars`` x 0e features;
- each layer: messages = e3nn tensor product of the neighbour's features with the spherical
  harmonics (l <= ``lmax``) of ``edge_vec``, weighted per path by a bias-free MLP of the edge's
  radial features (which carry occupancy_i x occupancy_j, so vacancies damp messages); attention:
  per head, a softmax over each centre's incoming edges of an MLP of (centre scalars, neighbour
  scalars, radial features) scales the message channels of that head; the summed messages plus a
  self-interaction go through an e3nn gated nonlinearity (SiLU on scalars, sigmoid gates on l > 0);
- readout: an MLP of the last layer's scalars, then the occupancy-weighted mean over sites.

Everything that enters an attention weight or the readout is invariant, so the output is invariant
under rotations, reflections and translations of the structure.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter, softmax

from sc_toolkit import Shard, data_parallel, progress


class _AttentionLayer(nn.Module):
    def __init__(self, irreps_in, irreps_sh, scalars: int, vectors: int, tensors: int, n_basis: int,
                 heads: int, radial_hidden: int):  # fmt: skip
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        wanted = {o3.Irrep("0e"), o3.Irrep("1o"), o3.Irrep("2e")}
        mid, instructions = [], []
        for i, (mul, ir_in) in enumerate(self.irreps_in):
            for j, (_, ir_sh) in enumerate(irreps_sh):
                for ir_out in ir_in * ir_sh:
                    if ir_out in wanted:
                        instructions.append((i, j, len(mid), "uvu", True))
                        mid.append((mul, ir_out))
        mid, permutation, _ = o3.Irreps(mid).sort()
        instructions = [(i, j, permutation[k], mode, train) for i, j, k, mode, train in instructions]
        self.tp = o3.TensorProduct(
            self.irreps_in, irreps_sh, mid, instructions, internal_weights=False, shared_weights=False
        )
        self.radial = FullyConnectedNet([n_basis, radial_hidden, self.tp.weight_numel], torch.nn.functional.silu)
        gated = o3.Irreps(f"{vectors}x1o + {tensors}x2e").simplify()
        self.gate = Gate(
            f"{scalars}x0e", [torch.nn.functional.silu],
            f"{gated.num_irreps}x0e", [torch.sigmoid],
            gated,
        )  # fmt: skip
        self.message_out = o3.Linear(mid, self.gate.irreps_in)
        self.self_interaction = o3.Linear(self.irreps_in, self.gate.irreps_in)
        self.irreps_out = self.gate.irreps_out
        self.heads = heads
        n_scalars_in = self.irreps_in.count("0e")
        self.attention = nn.Sequential(
            nn.Linear(2 * n_scalars_in + n_basis, radial_hidden), nn.SiLU(), nn.Linear(radial_hidden, heads)
        )
        # head of each component of the messages: channel u of every irrep block goes to head u % heads
        head_of = [u % heads for mul, ir in mid for u in range(mul) for _ in range(ir.dim)]
        self.register_buffer("head_of", torch.tensor(head_of, dtype=torch.long), persistent=False)
        self.n_scalars_in = n_scalars_in

    def forward(self, x, edge_src, edge_dst, edge_sh, edge_attr, n_nodes):
        messages = self.tp(x[edge_src], edge_sh, self.radial(edge_attr))
        s = x[:, : self.n_scalars_in]
        logits = self.attention(torch.cat([s[edge_dst], s[edge_src], edge_attr], dim=1))
        alpha = softmax(logits, edge_dst, num_nodes=n_nodes)  # (n_edges, heads), sums to 1 per centre
        messages = messages * alpha[:, self.head_of]
        aggregated = scatter(messages, edge_dst, dim=0, dim_size=n_nodes, reduce="sum")
        return self.gate(self.message_out(aggregated) + self.self_interaction(x))


class EquivariantGraphAttention(nn.Module):
    """Graphs (a torch_geometric ``Batch`` of ``crystal-graph`` graphs) -> (n_graphs, out_dim)."""

    def __init__(self, *, n_elements: int, n_basis: int, out_dim: int, layers: int = 3, scalars: int = 64,
                 vectors: int = 16, tensors: int = 8, lmax: int = 2, heads: int = 4, radial_hidden: int = 64):  # fmt: skip
        super().__init__()
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.embed = nn.Linear(n_elements, scalars, bias=False)
        irreps = o3.Irreps(f"{scalars}x0e")
        self.layers = nn.ModuleList()
        for _ in range(layers):
            layer = _AttentionLayer(irreps, self.irreps_sh, scalars, vectors, tensors, n_basis, heads, radial_hidden)
            self.layers.append(layer)
            irreps = layer.irreps_out
        self.scalars, self.out_dim = scalars, out_dim
        self.readout = nn.Sequential(nn.Linear(scalars, radial_hidden), nn.SiLU(), nn.Linear(radial_hidden, out_dim))

    def forward(self, batch) -> torch.Tensor:
        edge_src, edge_dst = batch.edge_index
        edge_sh = o3.spherical_harmonics(self.irreps_sh, batch.edge_vec, normalize=True, normalization="component")
        x = self.embed(batch.x)
        for layer in self.layers:
            x = layer(x, edge_src, edge_dst, edge_sh, batch.edge_attr, batch.num_nodes)
        per_site = self.readout(x[:, : self.scalars]) * batch.occupancy[:, None]
        total = scatter(per_site, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")
        weight = scatter(batch.occupancy, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")
        return total / weight.clamp_min(1e-6)[:, None]


class NonNegative(nn.Module):
    """``network`` followed by softplus(output - shift), e.g. a non-negative alpha2F spectrum."""

    def __init__(self, network: EquivariantGraphAttention, shift: float):
        super().__init__()
        self.network, self.shift, self.out_dim = network, shift, network.out_dim

    def forward(self, batch) -> torch.Tensor:
        return torch.nn.functional.softplus(self.network(batch) - self.shift)


def check_graphs(X) -> list:
    """``X`` as a list of ``crystal-graph`` graphs (TypeError naming what is wrong otherwise)."""
    graphs = list(X)
    for i, graph in enumerate(graphs):
        if not all(hasattr(graph, key) for key in ("x", "edge_index", "edge_vec", "edge_attr", "occupancy")):
            raise TypeError(f"X[{i}] is not a crystal-graph graph (encode structures with 'crystal-graph')")
    return graphs


def batches(graphs: list, indices: np.ndarray, batch_size: int, device) -> list:
    """Batches of ``graphs[indices]`` (in that order) on ``device``."""
    return [
        Batch.from_data_list([graphs[i] for i in indices[start : start + batch_size]]).to(device)
        for start in range(0, len(indices), batch_size)
    ]


class PatienceStopper:
    """Ordinary early stopping: keep the best validation state, stop after ``patience`` epochs
    without improvement."""

    def __init__(self, patience: int):
        self.patience, self.best, self.waited = patience, math.inf, 0

    def update(self, loss: float) -> tuple[bool, bool]:
        """(this epoch's state is the one to keep, stop now)."""
        if loss < self.best:
            self.best, self.waited = loss, 0
            return True, False
        self.waited += 1
        return False, self.waited >= self.patience


class TemperedStopper:
    """BETE-NET's "tempered" early stopping, as read from its ``utils/training.py``.

    Stage 1: ordinary early stopping; after ``patiences[0]`` epochs without improvement the
    validation loss is taken to be climbing the over-fitting bump. Stage 2: follow the bump, the
    reference being the last loss that did not fall below it; once the loss has stayed below the
    reference for ``patiences[1]`` epochs, the bump is over. Stage 3: ordinary early stopping from
    the reference with patience ``patiences[2]``. The state kept is the best of stage 3 when
    training reaches it (upstream's last checkpoint), else the best of stage 1.
    """

    def __init__(self, patiences: tuple[int, int, int]):
        self.patiences, self.stage, self.best, self.waited = patiences, 1, math.inf, 0

    def update(self, loss: float) -> tuple[bool, bool]:
        """(this epoch's state is the one to keep, stop now)."""
        if self.stage == 2:
            if loss >= self.best:
                self.best, self.waited = loss, 0
            else:
                self.waited += 1
                if self.waited >= self.patiences[1]:
                    self.stage, self.waited = 3, 0
            return False, False
        if loss < self.best:
            self.best, self.waited = loss, 0
            return True, False
        self.waited += 1
        if self.waited >= self.patiences[self.stage - 1]:
            if self.stage == 3:
                return False, True
            self.stage, self.waited = 2, 0
        return False, False


def train(
    model: nn.Module,
    graphs: list,
    targets: torch.Tensor,
    train_rows: np.ndarray,
    valid_rows: np.ndarray,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    name: str,
    stopper,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    device: str,
    processes: int,
    run,
    description: str,
    checkpoint: Path | None,
) -> dict:
    """Train ``model`` with AdamW on ``train_rows``, validate on ``valid_rows`` every epoch, keep the
    state ``stopper`` chooses (written to ``checkpoint`` when given) and load it back. Returns the
    history: epochs run, best validation loss and the per-epoch losses.

    Data-parallel (:func:`sc_toolkit.data_parallel`: ``processes`` started here on the resolved
    ``device``, or torchrun's group; ``name`` is the component's, for messages): each process takes
    its contiguous share of every batch's graphs and weights its loss (a mean over rows, which
    ``loss_fn`` must be) by its share of the rows, so the gradients averaged before each step are
    those of the whole batch. A process whose share is empty (a last batch of fewer graphs than
    processes) runs the batch's first graph at weight 0. Every process validates on all of
    ``valid_rows`` (the same weights give the same stopping decisions); rank 0 alone checkpoints,
    shows progress and returns the trained ``model`` (in place)."""
    step = functools.partial(_train_shard, model, train_rows, valid_rows, loss_fn, stopper=stopper, epochs=epochs,
                             batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed, device=device,
                             description=description, checkpoint=checkpoint)  # fmt: skip
    return data_parallel(name, step, graphs, targets, run, processes, device)


def _train_shard(model, train_rows, valid_rows, loss_fn, graphs, targets, run, shard: Shard, *, stopper,
                 epochs, batch_size, lr, weight_decay, seed, device, description, checkpoint) -> dict:  # fmt: skip
    """:func:`train` in one process, ``shard`` of the data-parallel processes."""
    if shard.rank != 0:  # torch.multiprocessing sent rank 0's very tensors (shared memory): train a copy
        model = copy.deepcopy(model)
    device = torch.device(shard.device(device))
    torch.manual_seed(seed)
    order_rng = np.random.default_rng(seed)
    model.to(device)
    targets = targets.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    shard.average_gradients(optimizer)
    valid = batches(graphs, valid_rows, batch_size, device)
    valid_targets = [targets[valid_rows[i : i + batch_size]] for i in range(0, len(valid_rows), batch_size)]
    best_state, history = copy.deepcopy(model.state_dict()), {"train": [], "valid": []}
    with progress(run, description, total=epochs) as bar:
        for _ in range(epochs):
            model.train()
            order = order_rng.permutation(train_rows)
            total = 0.0
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                mine = rows[shard.part(len(rows), empty=True)]
                mine = mine if len(mine) else rows[:1]  # weight 0 below: the same gradients to average, zero
                batch = Batch.from_data_list([graphs[i] for i in mine]).to(device)
                loss = loss_fn(model(batch), targets[mine]) * shard.weight(len(rows))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
            valid_loss = evaluate(model, valid, valid_targets, loss_fn)
            history["train"].append(shard.average(torch.tensor(total, dtype=torch.float64)).item() / len(order))
            history["valid"].append(valid_loss)
            keep, stop = stopper.update(valid_loss)
            if keep:
                best_state = copy.deepcopy(model.state_dict())
                if checkpoint is not None and shard.rank == 0:
                    torch.save(best_state, checkpoint)
            bar.advance(loss_train=history["train"][-1], loss_valid=valid_loss)
            if stop:
                break
    model.load_state_dict(best_state)
    model.eval()
    return {"epochs": len(history["valid"]), "best_valid": float(min(history["valid"])), **history}


@torch.no_grad()
def evaluate(model, valid: list, valid_targets: list, loss_fn) -> float:
    """Mean loss over the validation batches (weighted by batch size)."""
    model.eval()
    total, count = 0.0, 0
    for batch, target in zip(valid, valid_targets, strict=True):
        total += loss_fn(model(batch), target).item() * len(target)
        count += len(target)
    return total / max(count, 1)


@torch.no_grad()
def predict(model: nn.Module, graphs: list, batch_size: int, device) -> np.ndarray:
    """Model outputs for every graph, (n_graphs, out_dim), float64 numpy."""
    model.to(device).eval()
    rows = np.arange(len(graphs))
    outputs = [model(batch).double().cpu().numpy() for batch in batches(graphs, rows, batch_size, device)]
    return np.concatenate(outputs) if outputs else np.zeros((0, model.out_dim))
