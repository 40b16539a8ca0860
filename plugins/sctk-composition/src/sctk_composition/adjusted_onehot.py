""""Adjusted one-hot" composition matrices of ScGAN (Kim & Dordevic 2022) and Lim's conditional WGAN.

Both place each element's amount v in a column of rows: the row k says roughly how much (an integer
level) and the value v / k at that row says exactly how much, so k * value gives v back. An absent
element has a 1 in row 0. The two differ in the element list, the number of rows and how k is chosen
(see each class); docs/data.md compares them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import sc_toolkit
from sc_toolkit import N_ELEMENTS, SYMBOLS, Compositions, UserError

from .element_range import amounts_within


def _one_hot(amounts: np.ndarray, levels: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, weights), both (n, n_elements, n_rows): rows has a 1 at row ``levels`` of each present
    element and at row 0 of each absent one; weights has amount / level at that row and the same 1
    at row 0 of absent elements."""
    present = amounts > 0
    level = np.where(present, levels, 0)
    rows = (np.arange(n_rows) == level[..., None]).astype(float)
    weight = np.where(present, amounts / np.maximum(level, 1), 1.0)
    return rows, rows * weight[..., None]


def _decode_amounts(rows: np.ndarray, weights: np.ndarray, decimals: int) -> Compositions:
    """Compositions from (n, n_elements, n_rows) row scores and weights: per element the row k with
    the highest score (the first on ties), amount k * weight there rounded once onto the grid of
    multiples of 10**-decimals; row 0, or an amount that rounds to <= 0, means absent. The formulas
    hold exactly these amounts."""
    k = np.argmax(rows, axis=2)
    weight = np.take_along_axis(weights, k[..., None], axis=2)[..., 0]
    amounts = np.round(np.where(np.isfinite(weight), k * weight, 0.0), decimals)
    full = np.zeros((len(amounts), N_ELEMENTS))
    full[:, : amounts.shape[1]] = np.clip(amounts, 0.0, None)
    return Compositions.from_matrix(full, decimals=decimals)


def _as_batch(features: np.ndarray, shape: tuple[int, ...], encoder: str) -> np.ndarray:
    """``features`` as (n, *shape), from that shape or flattened rows; UserError otherwise."""
    X = np.asarray(features, dtype=float)
    if X.shape[1:] == shape or (X.ndim == 2 and X.shape[1] == int(np.prod(shape))):
        return X.reshape(len(X), *shape)
    raise UserError(
        f"{encoder} decodes arrays of shape (n, {', '.join(map(str, shape))}) or their flattened rows, "
        f"got {X.shape}",
        hint="decode with the encoder the features were made with",
    )


_DECIMALS = Field(
    3, ge=0, le=6,
    description="decode: the amounts' grid, multiples of 10**-decimals; the formula holds exactly these amounts",
)


class ScganOnehot(sc_toolkit.Encoder):
    """ScGAN's 96x8 "adjusted one-hot" matrix (Kim & Dordevic 2022); invertible.

    ``encode`` gives an array of shape (n, 96, 8): axis 1 the elements H..Cm (Z = 1..96), axis 2 the
    rows m = 0..7. For each element with amount v (as written in the formula: Y2Ba4Cu6O14 and
    YBa2Cu3O7 differ), k is the nearest integer to v within 1..7 (halves round up: 1.5 -> 2;
    v < 1.5 -> 1; v >= 6.5 -> 7) and A[element, k] = v / k, every other row 0; an absent element has
    A[element, 0] = 1 (the paper's eq. 1, A_mi = delta_mk v_i / k). So 0.15 -> row 1, value 0.15;
    1.25 -> row 1, 1.25; 6.98 -> row 7, 0.997; 46 -> row 7, 6.571. Generators flatten the matrix;
    ``feature_labels`` names the flattened values ('Cu:3' is Cu's row 3).

    ``decode`` takes that shape or its flattened rows (a generator's output): per element the row
    with the largest value (the first on ties), row 0 meaning absent, else amount = k * value there,
    rounded once onto the grid of multiples of 10**-``decimals`` (0.001 by default); amounts that
    round to <= 0 are dropped. The formula written is exactly the grid amounts (Ba2.085Cu2.123O7.234),
    and it is what ``smact-valid`` and the evaluation judge. Encoded formulas decode to their own
    amounts up to that rounding.
    """

    name: ClassVar[str] = "scgan-onehot"
    invertible: ClassVar[bool] = True
    N_ELEMENTS: ClassVar[int] = 96
    N_ROWS: ClassVar[int] = 8

    class Params(sc_toolkit.Params):
        decimals: int = _DECIMALS

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of one encoded material: (elements, rows)."""
        return (self.N_ELEMENTS, self.N_ROWS)

    def encode(self, materials) -> np.ndarray:
        """Adjusted one-hot matrices, shape (n_materials, 96, 8)."""
        amounts = amounts_within(materials, self.N_ELEMENTS, self.name)
        levels = np.clip(np.floor(amounts + 0.5), 1, self.N_ROWS - 1).astype(int)
        return _one_hot(amounts, levels, self.N_ROWS)[1]

    def feature_labels(self) -> list[str]:
        """'<element>:<row>' for each value of the flattened (96, 8) matrix, in C order."""
        return [f"{s}:{m}" for s in SYMBOLS[: self.N_ELEMENTS] for m in range(self.N_ROWS)]

    def decode(self, features: np.ndarray) -> Compositions:
        """Compositions of encoded or generated matrices (see the class docstring)."""
        X = _as_batch(features, self.shape, self.name)
        return _decode_amounts(X, X, self.params.decimals)

    def citations(self) -> list[str]:
        return [
            "Kim & Dordevic, ScGAN: a generative adversarial network to predict hypothetical "
            "superconductors, arXiv:2209.03444 (2022)"
        ]

    def provenance(self) -> dict[str, Any]:
        return {"elements": "H..Cm", "rows": "k = nearest integer in 1..7 (halves up)", **self.params.model_dump()}


class LimMatrix(sc_toolkit.Encoder):
    """Lim's two-channel composition matrix (conditional WGAN-GP slides, 2024); invertible.

    ``encode`` gives an array of shape (n, 2, 94, 11): channel 0 the "composition matrix (adjusted
    one-hot)", channel 1 the "normalised weight matrix"; axis 2 the elements H..Pu (Z = 1..94), axis
    3 the rows 0..10. For an element with amount v (as written in the formula), k = ceil(v) within
    1..10; channel 0 has a 1 at row k, channel 1 has v / k at row k (in (0, 1] for v <= 10; v / 10 > 1
    above). An absent element has a 1 at row 0 in both channels.

    Our reading of the slides, which show only a garbled example and no formula: the weights 0.4,
    0.625, 1 and 0.997 of the example are those of Ca0.4Ba1.25La1.25Cu3O6.98 (a SuperCon formula)
    with k = ceil(v) (1.25 -> row 2, 0.625; 6.98 -> row 7, 0.997), not with ScGAN's nearest integer
    (1.25 -> row 1, 1.25); the example's row 0 holds 1 for absent elements in both matrices.
    ``feature_labels`` names the flattened values ('weight:Cu:3').

    ``decode`` takes that shape or its flattened rows: per element the row k with the largest value
    in channel 0 (the first on ties; row 0 means absent), amount = k * channel 1 at row k, rounded
    once onto the grid of multiples of 10**-``decimals`` (0.001 by default); amounts that round to
    <= 0 are dropped. The formula written is exactly the grid amounts, as ``scgan-onehot``'s.
    """

    name: ClassVar[str] = "lim-matrix"
    invertible: ClassVar[bool] = True
    N_ELEMENTS: ClassVar[int] = 94
    N_ROWS: ClassVar[int] = 11
    CHANNELS: ClassVar[tuple[str, str]] = ("onehot", "weight")

    class Params(sc_toolkit.Params):
        decimals: int = _DECIMALS

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one encoded material: (channels, elements, rows)."""
        return (len(self.CHANNELS), self.N_ELEMENTS, self.N_ROWS)

    def encode(self, materials) -> np.ndarray:
        """Two-channel matrices, shape (n_materials, 2, 94, 11)."""
        amounts = amounts_within(materials, self.N_ELEMENTS, self.name)
        levels = np.clip(np.ceil(amounts), 1, self.N_ROWS - 1).astype(int)
        return np.stack(_one_hot(amounts, levels, self.N_ROWS), axis=1)

    def feature_labels(self) -> list[str]:
        """'<channel>:<element>:<row>' for each value of the flattened (2, 94, 11) array, in C order."""
        elements = SYMBOLS[: self.N_ELEMENTS]
        return [f"{c}:{s}:{m}" for c in self.CHANNELS for s in elements for m in range(self.N_ROWS)]

    def decode(self, features: np.ndarray) -> Compositions:
        """Compositions of encoded or generated arrays (see the class docstring)."""
        X = _as_batch(features, self.shape, self.name)
        return _decode_amounts(X[:, 0], X[:, 1], self.params.decimals)

    def citations(self) -> list[str]:
        return ["F. H. Lim, A brief introduction of generative adversarial network for superconductivity (slides, 2024)"]

    def provenance(self) -> dict[str, Any]:
        return {"elements": "H..Pu", "rows": "k = ceil(v) in 1..10", **self.params.model_dump()}
