"""CSPNet, DiffCSP's denoiser, and the graph batching it runs on.

Each crystal is a fully connected graph over its atoms (self-loops included). A message from atom
j to atom i sees both node states, the lattice inner products L L^T (rows of L are the lattice
vectors) and Fourier features sin/cos(2 pi k (f_j - f_i)) of the fractional-coordinate
difference. Hence the outputs are

- invariant to rotations and reflections of the lattice (only L L^T enters),
- invariant to a common translation of all fractional coordinates and periodic in each of them
  (only differences enter, through periodic functions),
- equivariant to permutations of the atoms (mean aggregation over all pairs).

Heads: per atom a 3-vector (the fractional-coordinate score, invariant), per crystal a 3x3 matrix
M (mean over atoms) multiplied into the lattice, eps = M L, which rotates with L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch_geometric.utils import scatter

#: Atomic numbers 1..118 (0 unused).
N_SPECIES = 119


@dataclass
class CrystalBatch:
    """Crystals as flat tensors: ``species`` (N,), ``coords`` fractional (N, 3), ``lattices``
    (B, 3, 3), ``crystal`` index of each atom (N,), ``counts`` atoms per crystal (B,) and the
    fully connected edges ``src``/``dst`` (E,) within each crystal."""

    species: torch.Tensor
    coords: torch.Tensor
    lattices: torch.Tensor
    crystal: torch.Tensor
    counts: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor

    @classmethod
    def of(cls, species, coords, lattices, counts) -> CrystalBatch:
        device = species.device
        counts = counts.to(device)
        crystal = torch.repeat_interleave(torch.arange(len(counts), device=device), counts)
        offsets = torch.cumsum(counts, 0) - counts
        pairs = counts**2
        pair_crystal = torch.repeat_interleave(torch.arange(len(counts), device=device), pairs)
        within = torch.arange(int(pairs.sum()), device=device) - torch.repeat_interleave(torch.cumsum(pairs, 0) - pairs, pairs)
        n = counts[pair_crystal]
        src = offsets[pair_crystal] + within % n
        dst = offsets[pair_crystal] + torch.div(within, n, rounding_mode="floor")
        return cls(species, coords, lattices, crystal, counts, src, dst)

    def replace(self, coords=None, lattices=None) -> CrystalBatch:
        return CrystalBatch(self.species, self.coords if coords is None else coords,
                            self.lattices if lattices is None else lattices, self.crystal, self.counts,
                            self.src, self.dst)  # fmt: skip


def time_embedding(t: torch.Tensor, dim: int, steps: int) -> torch.Tensor:
    """Sinusoidal embedding of the fraction t / steps, (B, dim)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / max(half - 1, 1))
    angles = (t.float() / steps * 1000.0)[:, None] * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class _Layer(nn.Module):
    def __init__(self, hidden: int, n_edge: int):
        super().__init__()
        self.edge = nn.Sequential(nn.Linear(2 * hidden + n_edge, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h, edge_features, batch: CrystalBatch):
        x = self.norm(h)
        messages = self.edge(torch.cat([x[batch.dst], x[batch.src], edge_features], dim=-1))
        aggregated = scatter(messages, batch.dst, dim=0, dim_size=len(h), reduce="mean")
        return h + self.node(torch.cat([x, aggregated], dim=-1))


class CSPNet(nn.Module):
    """Invariant message passing over fully connected crystals (see the module docstring).

    ``forward(batch, t)`` gives per-crystal hidden states pooled over atoms (B, hidden) when
    ``heads`` is False, else (lattice eps (B, 3, 3), coordinate scores (N, 3))."""

    def __init__(self, hidden: int, layers: int, n_frequencies: int, timesteps: int, heads: bool = True):
        super().__init__()
        self.hidden, self.n_frequencies, self.timesteps = hidden, n_frequencies, timesteps
        self.species = nn.Embedding(N_SPECIES, hidden)
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU())
        self.embed = nn.Linear(2 * hidden, hidden)
        n_edge = 9 + 6 * n_frequencies
        self.layers = nn.ModuleList(_Layer(hidden, n_edge) for _ in range(layers))
        self.out_norm = nn.LayerNorm(hidden)
        self.heads = heads
        if heads:
            self.coord_head = nn.Linear(hidden, 3, bias=False)
            self.lattice_head = nn.Linear(hidden, 9, bias=False)

    def edge_features(self, batch: CrystalBatch) -> torch.Tensor:
        difference = batch.coords[batch.src] - batch.coords[batch.dst]
        k = torch.arange(1, self.n_frequencies + 1, device=difference.device, dtype=difference.dtype)
        angles = 2 * math.pi * difference[..., None] * k
        fourier = torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(1)
        inner = (batch.lattices @ batch.lattices.transpose(1, 2)).flatten(1)
        return torch.cat([inner[batch.crystal[batch.dst]], fourier], dim=-1)

    def forward(self, batch: CrystalBatch, t: torch.Tensor):
        time = self.time(time_embedding(t, self.hidden, self.timesteps))
        h = self.embed(torch.cat([self.species(batch.species), time[batch.crystal]], dim=-1))
        edges = self.edge_features(batch)
        for layer in self.layers:
            h = layer(h, edges, batch)
        h = self.out_norm(h)
        if not self.heads:
            return scatter(h, batch.crystal, dim=0, dim_size=len(batch.counts), reduce="mean")
        matrix = scatter(self.lattice_head(h), batch.crystal, dim=0, dim_size=len(batch.counts), reduce="mean")
        return matrix.view(-1, 3, 3) @ batch.lattices, self.coord_head(h)


class TcPredictor(nn.Module):
    """Time-dependent regressor of (standardised) ln Tc from a noised crystal: a CSPNet trunk
    without heads, pooled over atoms, and a small MLP. Invariant like the trunk."""

    def __init__(self, hidden: int, layers: int, n_frequencies: int, timesteps: int):
        super().__init__()
        self.trunk = CSPNet(hidden, layers, n_frequencies, timesteps, heads=False)
        self.out = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, batch: CrystalBatch, t: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(batch, t)).squeeze(-1)
