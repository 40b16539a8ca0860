"""Torch networks of the generators (imported lazily: loading the plugin registry must not import torch)."""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATION_SLOPE = 0.2
#: Outputs whose last layer gives each group one extra value (its scale, through softplus).
SCALED_OUTPUTS = ("softmax-scaled", "softmax-scaled-hard", "adjusted-onehot")


def _mlp(sizes: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(ACTIVATION_SLOPE)]
    return layers


def grouped_output(out: torch.Tensor, groups: int, width: int, output: str) -> torch.Tensor:
    """Map raw outputs onto the data's range (flat rows of ``groups * width`` values):

    - "softmax": softmax over each group of ``width`` values (each group on the simplex);
    - "sparsemax": sparsemax over each group (Martins & Astudillo 2016): the Euclidean projection
      onto the simplex, so a group can hold exact zeros, as element fractions do;
    - "softmax-scaled": ``out`` holds ``groups * (width + 1)`` values; each group is a softmax over
      ``width`` values times a positive scale (softplus of the extra value), so one dominant slot can
      hold any positive value (ScGAN's rows: the slot is the level k, the value v / k);
    - "softmax-scaled-hard": the same, but the forward pass keeps only the group's largest slot (a
      one-hot times the scale, what decoding by the largest value reads), while gradients flow as
      through "softmax-scaled" (straight-through estimator, Bengio et al. 2013);
    - "adjusted-onehot": rows of an adjusted one-hot matrix, as decoding reads them: the forward
      pass keeps one slot per group (a one-hot at the largest of ``width`` logits), slot 0 (absent)
      holding exactly 1 and a level slot a positive value (softplus of the group's extra value);
      gradients flow as through "softmax-scaled" (straight-through). Unlike "softmax-scaled-hard",
      the absent slot is never scaled, so the critic cannot tell generated rows by absent elements
      whose 1 is slightly off;
    - "sigmoid": values in [0, 1]; "linear": unbounded.
    """
    if output == "softmax":
        return torch.softmax(out.float().view(-1, groups, width), dim=-1).view(-1, groups * width)
    if output == "sparsemax":
        return sparsemax(out.float().view(-1, groups, width)).view(-1, groups * width)
    if output in SCALED_OUTPUTS:
        out = out.float().view(-1, groups, width + 1)
        probabilities = torch.softmax(out[..., :width], dim=-1)
        if output != "softmax-scaled":
            hard = nn.functional.one_hot(probabilities.argmax(dim=-1), width).to(probabilities.dtype)
            probabilities = hard + (probabilities - probabilities.detach())
        scale = nn.functional.softplus(out[..., width:])
        if output == "adjusted-onehot":
            scale = torch.cat([torch.ones_like(scale), scale.expand(-1, -1, width - 1)], dim=-1)
        return (probabilities * scale).reshape(-1, groups * width)
    if output == "sigmoid":
        return torch.sigmoid(out.float())
    return out


def sparsemax(z: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row of ``z`` (along the last axis) onto the probability simplex:
    ``max(z - tau, 0)`` with ``tau`` chosen so the row sums to 1. Differentiable almost everywhere;
    the gradient flows to the entries left positive."""
    ordered, _ = torch.sort(z, dim=-1, descending=True)
    rank = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    excess = ordered.cumsum(dim=-1) - 1
    support = (ordered - excess / rank > 0).sum(dim=-1, keepdim=True)
    tau = excess.gather(-1, support - 1) / support.to(z.dtype)
    return torch.clamp(z - tau, min=0)


def output_width(groups: int, width: int, output: str) -> int:
    return groups * (width + 1) if output in SCALED_OUTPUTS else groups * width


class GeneratorNet(nn.Module):
    """Noise (+ one-hot label) -> a flat sample; ``output`` maps the last layer onto the data's range
    (see :func:`grouped_output`)."""

    def __init__(self, noise_dim: int, n_classes: int, hidden: list[int], groups: int, width: int, output: str):
        super().__init__()
        self.noise_dim, self.n_classes = noise_dim, n_classes
        self.groups, self.width, self.output = groups, width, output
        self.body = nn.Sequential(
            *_mlp([noise_dim + n_classes, *hidden]), nn.Linear(hidden[-1], output_width(groups, width, output))
        )

    def forward(self, noise: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = noise if onehot is None else torch.cat([noise, onehot.to(noise.dtype)], dim=1)
        return grouped_output(self.body(h), self.groups, self.width, self.output)


class CriticNet(nn.Module):
    """A flat sample (+ one-hot label) -> an unbounded score (no normalisation layers, as the
    gradient penalty is taken per sample)."""

    def __init__(self, n_features: int, n_classes: int, hidden: list[int]):
        super().__init__()
        self.body = nn.Sequential(*_mlp([n_features + n_classes, *hidden]), nn.Linear(hidden[-1], 1))

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = x if onehot is None else torch.cat([x, onehot.to(x.dtype)], dim=1)
        return self.body(h).squeeze(1)


# ------------------------------------------------------------------------------ Lim's conv WGAN

#: (out channels, kernel, stride, padding) of the eight transposed convolutions of Lim's generator,
#: from the slides' layer table: [512,1,1] -> [256,3,3] -> [128,5,5] -> [128,5,5] -> [64,11,11]
#: -> [64,11,11] -> [32,23,11] -> [32,47,11] -> [2,94,11].
LIM_GENERATOR = [
    (256, (3, 3), (2, 2), 0),
    (128, (3, 3), (2, 2), 1),
    (128, (3, 3), (1, 1), 1),
    (64, (3, 3), (2, 2), 0),
    (64, (3, 3), (1, 1), 1),
    (32, (5, 3), (2, 1), 1),
    (32, (5, 3), (2, 1), 1),
    (2, (4, 3), (2, 1), 1),
]
#: The critic's eight convolutions: [2+C,94,11] -> [32,47,11] -> [32,23,11] -> [64,11,11]
#: -> [64,11,11] -> [128,5,5] -> [128,5,5] -> [256,3,3] -> [512,1,1], then a linear layer.
LIM_CRITIC = [
    (32, (4, 3), (2, 1), 1),
    (32, (5, 3), (2, 1), 1),
    (64, (5, 3), (2, 1), 1),
    (64, (3, 3), (1, 1), 1),
    (128, (3, 3), (2, 2), 0),
    (128, (3, 3), (1, 1), 1),
    (256, (3, 3), (2, 2), 1),
    (512, (3, 3), (2, 2), 0),
]


class LimGenerator(nn.Module):
    """Lim's generator: Fc(noise + one-hot label -> 512) -> reshape [512, 1, 1] -> eight transposed
    convolutions -> [2, 94, 11]. ``width`` scales every channel count but the output's (1 = the
    slides). Between layers: batch norm and ReLU (DCGAN practice; the slides name no activation).
    Output: channel 0 (the adjusted one-hot) a softmax over the 11 rows of each element, channel 1
    (the weights v / k) a sigmoid."""

    def __init__(self, noise_dim: int, n_classes: int, width: float = 1.0):
        super().__init__()
        self.noise_dim = noise_dim
        scale = lambda c: max(1, round(c * width))  # noqa: E731
        self.first = scale(512)
        self.fc = nn.Linear(noise_dim + n_classes, self.first)
        layers: list[nn.Module] = []
        channels = self.first
        for i, (out, kernel, stride, padding) in enumerate(LIM_GENERATOR):
            last = i == len(LIM_GENERATOR) - 1
            out = out if last else scale(out)
            layers.append(nn.ConvTranspose2d(channels, out, kernel, stride, padding))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        self.body = nn.Sequential(*layers)

    def forward(self, noise: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = noise if onehot is None else torch.cat([noise, onehot.to(noise.dtype)], dim=1)
        out = self.body(nn.functional.relu(self.fc(h)).view(-1, self.first, 1, 1)).float()
        return torch.stack([torch.softmax(out[:, 0], dim=-1), torch.sigmoid(out[:, 1])], dim=1)


class LimCritic(nn.Module):
    """Lim's critic: the sample with the one-hot label broadcast as extra channels (2 + C, 94, 11)
    -> eight convolutions with LeakyReLU(0.2) (no normalisation: the gradient penalty is per sample)
    -> flatten [512] -> Fc -> score."""

    def __init__(self, n_classes: int, width: float = 1.0, in_channels: int = 2):
        super().__init__()
        scale = lambda c: max(1, round(c * width))  # noqa: E731
        layers: list[nn.Module] = []
        channels = in_channels + n_classes
        for out, kernel, stride, padding in LIM_CRITIC:
            layers += [nn.Conv2d(channels, scale(out), kernel, stride, padding), nn.LeakyReLU(ACTIVATION_SLOPE)]
            channels = scale(out)
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        if onehot is not None:
            maps = onehot.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, maps], dim=1)
        return self.fc(self.body(x).flatten(1)).squeeze(1)


# ------------------------------------------------------------------------------------------- VAE

class VAENet(nn.Module):
    """Conditional VAE: encoder MLP(x + one-hot) -> (mu, log variance); decoder MLP(z + one-hot) ->
    raw outputs mapped by :func:`grouped_output` (the decoder returns logits for the loss too)."""

    def __init__(self, n_features: int, n_classes: int, hidden: list[int], latent_dim: int,
                 groups: int, width: int, output: str):
        super().__init__()
        self.latent_dim, self.groups, self.width, self.output = latent_dim, groups, width, output
        self.encoder = nn.Sequential(*_mlp([n_features + n_classes, *hidden]), nn.Linear(hidden[-1], 2 * latent_dim))
        self.decoder = nn.Sequential(
            *_mlp([latent_dim + n_classes, *reversed(hidden)]),
            nn.Linear(hidden[0], output_width(groups, width, output)),
        )

    @staticmethod
    def _with(h: torch.Tensor, onehot: torch.Tensor | None) -> torch.Tensor:
        return h if onehot is None else torch.cat([h, onehot.to(h.dtype)], dim=1)

    def encode(self, x, onehot=None):
        mu, log_var = self.encoder(self._with(x, onehot)).float().chunk(2, dim=1)
        return mu, log_var.clamp(-12, 8)

    def decode_raw(self, z, onehot=None):
        return self.decoder(self._with(z, onehot)).float()

    def forward(self, z, onehot=None):
        """Samples from latent codes ``z`` (what sampling calls)."""
        return grouped_output(self.decode_raw(z, onehot), self.groups, self.width, self.output)


# ------------------------------------------------------------------------------------- diffusion

def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (integer or fractional) timesteps ``t``, shape (len(t), dim)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * frequencies[None]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return nn.functional.pad(embedding, (0, dim % 2))


class _ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.condition = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h, shift):
        return h + self.fc2(nn.functional.silu(self.fc1(self.norm(h)) + shift))


class Denoiser(nn.Module):
    """Noise-prediction MLP: x_t -> Linear -> ``depth`` residual blocks (LayerNorm, SiLU), each
    shifted by a projection of the condition c = time embedding (sinusoidal + MLP) + learned class
    embedding (index ``n_classes`` is the null class of classifier-free guidance) -> Linear ->
    predicted noise. The condition path runs once per distinct (t, label) pair of the batch, not once
    per row (when sampling, a step has one t and a few labels)."""

    def __init__(self, n_features: int, n_classes: int, width: int, depth: int, time_dim: int = 128):
        super().__init__()
        self.time_dim, self.n_classes = time_dim, n_classes
        self.time = nn.Sequential(nn.Linear(time_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.label = nn.Embedding(n_classes + 1, width) if n_classes else None
        self.inp = nn.Linear(n_features, width)
        self.blocks = nn.ModuleList(_ResidualBlock(width) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, n_features))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        use_labels = self.label is not None and labels is not None
        key = t * (self.n_classes + 1) + labels if use_labels else t
        unique, inverse = torch.unique(key, return_inverse=True)
        t_unique = unique // (self.n_classes + 1) if use_labels else unique
        c = self.time(timestep_embedding(t_unique, self.time_dim))
        if use_labels:
            c = c + self.label(unique % (self.n_classes + 1))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, block.condition(c)[inverse])
        return self.out(h)
