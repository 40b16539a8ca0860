"""Torch networks of the WGAN-GP (imported lazily: loading the plugin registry must not import torch)."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATION_SLOPE = 0.2


def _mlp(sizes: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(ACTIVATION_SLOPE)]
    return layers


class GeneratorNet(nn.Module):
    """Noise (+ one-hot label) -> a flat sample; ``output`` maps the last layer onto the data's range:
    "softmax" over the last data axis (``groups`` rows of ``width`` values, each row on the simplex),
    "sigmoid" into [0, 1], "linear" unbounded."""

    def __init__(self, noise_dim: int, n_classes: int, hidden: list[int], groups: int, width: int, output: str):
        super().__init__()
        self.noise_dim, self.n_classes = noise_dim, n_classes
        self.groups, self.width, self.output = groups, width, output
        self.body = nn.Sequential(*_mlp([noise_dim + n_classes, *hidden]), nn.Linear(hidden[-1], groups * width))

    def forward(self, noise: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = noise if onehot is None else torch.cat([noise, onehot.to(noise.dtype)], dim=1)
        out = self.body(h)
        if self.output == "softmax":
            return torch.softmax(out.float().view(-1, self.groups, self.width), dim=-1).view(-1, self.groups * self.width)
        if self.output == "sigmoid":
            return torch.sigmoid(out.float())
        return out


class CriticNet(nn.Module):
    """A flat sample (+ one-hot label) -> an unbounded score (no normalisation layers, as the
    gradient penalty is taken per sample)."""

    def __init__(self, n_features: int, n_classes: int, hidden: list[int]):
        super().__init__()
        self.body = nn.Sequential(*_mlp([n_features + n_classes, *hidden]), nn.Linear(hidden[-1], 1))

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = x if onehot is None else torch.cat([x, onehot.to(x.dtype)], dim=1)
        return self.body(h).squeeze(1)
