"""Atomic fractions over a fixed element list, the encoding of ScGAN-style composition generators."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import sc_toolkit
from sc_toolkit import N_ELEMENTS, SYMBOLS, Compositions, UserError

from .element_range import amounts_within

#: Largest multiplier tried to turn a decoded formula's amounts into whole numbers (AlO1.5 -> Al2O3).
MAX_MULTIPLIER = 4
#: Largest change of any atomic fraction that the rounding of a decoded formula may cause, per unit
#: of the amounts' resolution (5e-4 at 2 decimals), unless the scarcest element is at 1 (then amounts
#: are >= 1 and the change is smaller still in practice).
FRACTION_ERROR_PER_RESOLUTION = 0.05


class ElementFractions(sc_toolkit.Encoder):
    """Atomic fractions of the elements H..max_z (default 96, H..Cm as in ScGAN); invertible.

    ``encode`` gives one row per material, one column per element (rows sum to 1). Materials are
    Compositions, formulas, or a table with a 'formula' column; a formula holding an element beyond
    ``max_z`` is a UserError naming it.

    ``decode`` turns any real matrix of that width (a generator's output) back into compositions:
    negative values become 0, fractions below ``min_fraction`` are dropped, the rest renormalised.
    Amounts are then written the way chemists write formulas, in three steps:

    1. one element is given the amount 1: the one that makes the most amounts whole numbers (within
       half the resolution), and among equally good choices the scarcest element (so the smallest
       amount is 1); a choice is only made if rounding keeps every atomic fraction within 0.05
       resolutions (0.0005 at 2 decimals), else the scarcest element is at 1 (so a dopant never
       rounds away);
    2. when the smallest whole multiplier up to 4 makes every amount whole, it is applied
       (AlO1.5 -> Al2O3);
    3. amounts are rounded once onto the grid: multiples of 10**-``decimals`` (0.01 by default), or
       of ``amount_step`` when it is set. The formula written holds exactly these amounts, and it
       is what ``smact-valid`` and the evaluation judge.

    So YBa2Cu3O7 and La1.85Sr0.15CuO4 decode to themselves, and a generated row with no simple ratio
    reads as e.g. BaO2.68Cu3.22. With ``amount_step = 0.05`` a generated La0.263Sr0.0294Cu0.143O0.564
    reads as La1.8Sr0.2CuO4, the way doping levels are written in SuperCon: near-identical samples
    then decode to the same formula, so uniqueness and recovery of known compositions mean what they
    mean for the papers' discrete encodings. A row left with no element decodes to formula '' and
    zero amounts.
    """

    name: ClassVar[str] = "element-fractions"
    invertible: ClassVar[bool] = True

    class Params(sc_toolkit.Params):
        max_z: int = Field(96, ge=1, le=N_ELEMENTS, description="last atomic number encoded (96 = Cm, as in ScGAN)")
        min_fraction: float = Field(
            0.01, ge=0.0, lt=1.0, description="decode: atomic fractions below this are dropped as noise"
        )
        decimals: int = Field(
            2, ge=0, le=6,
            description="decode: the amounts' grid, multiples of 10**-decimals; the formula holds exactly these amounts",
        )
        amount_step: float | None = Field(
            None, gt=0.0, le=1.0,
            description="decode: round amounts to multiples of this step (e.g. 0.05) instead of to decimals",
        )

    def encode(self, materials) -> np.ndarray:
        """Atomic fractions, shape (n_materials, max_z)."""
        amounts = amounts_within(materials, self.params.max_z, self.name)
        return amounts / amounts.sum(axis=1, keepdims=True)

    def feature_labels(self) -> list[str]:
        """Element symbols H..max_z."""
        return list(SYMBOLS[: self.params.max_z])

    def decode(self, features: np.ndarray) -> Compositions:
        """Compositions of encoded (or generated) rows; see the class docstring for the convention."""
        X = np.asarray(features, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.params.max_z:
            raise UserError(
                f"element-fractions decodes rows of {self.params.max_z} values, got shape {X.shape}",
                hint="decode with the encoder (and max_z) the features were made with",
            )
        X = np.where(np.isfinite(X), np.clip(X, 0.0, None), 0.0)
        fractions = _normalised(X)
        fractions[fractions < self.params.min_fraction] = 0.0
        amounts = np.zeros((len(X), N_ELEMENTS))
        resolution = self.params.amount_step or 10.0**-self.params.decimals
        amounts[:, : X.shape[1]] = _readable_amounts(_normalised(fractions), resolution)
        return Compositions.from_matrix(amounts, decimals=max(self.params.decimals, _places(resolution)))

    def citations(self) -> list[str]:
        return [
            "Jha et al., ElemNet: deep learning the chemistry of materials from only elemental "
            "composition, Sci. Rep. 8, 17593 (2018)",
            "Kim & Dordevic, ScGAN: a generative adversarial network to predict hypothetical "
            "superconductors, arXiv:2209.03444 (2022)",
        ]

    def provenance(self) -> dict[str, Any]:
        return {
            "elements": f"H..{SYMBOLS[self.params.max_z - 1]}",
            **self.params.model_dump(),
            "decode_convention": "most whole amounts with one element at 1, whole multiplier <= "
            f"{MAX_MULTIPLIER}, rounded to "
            + (f"multiples of {self.params.amount_step}" if self.params.amount_step else f"{self.params.decimals} decimals"),
        }


def _normalised(X: np.ndarray) -> np.ndarray:
    """Rows divided by their sums; all-zero rows stay zero."""
    totals = X.sum(axis=1, keepdims=True)
    return np.divide(X, totals, out=np.zeros_like(X), where=totals > 0)


def _places(resolution: float) -> int:
    """Decimal places needed to print multiples of ``resolution`` (0.05 -> 2)."""
    return next(p for p in range(7) if abs(resolution * 10**p - round(resolution * 10**p)) < 1e-9)


def _on_grid(amounts: np.ndarray, resolution: float) -> np.ndarray:
    """``amounts`` rounded to multiples of ``resolution``."""
    return np.round(np.round(amounts / resolution) * resolution, 10)


def _is_whole(amounts: np.ndarray, resolution: float) -> np.ndarray:
    """Amounts that round to a whole number of at least 1 at ``resolution``."""
    return (np.abs(amounts - np.round(amounts)) < 0.5 * resolution) & (amounts >= 0.5)


def _readable_amounts(fractions: np.ndarray, resolution: float) -> np.ndarray:
    """Amounts proportional to ``fractions`` (rows summing to 1 or 0), scaled as documented in
    :class:`ElementFractions` and rounded to multiples of ``resolution``."""
    present = fractions > 0
    width = max(int(present.sum(axis=1).max(initial=0)), 1)
    # Each row's present elements first: (n, width) fractions, zero where padded.
    order = np.argsort(~present, axis=1, kind="stable")[:, :width]
    candidate = np.take_along_axis(fractions, order, axis=1)
    valid = candidate > 0
    # scales[i, c] gives candidate c of row i the amount 1; scaled[i, c, :] are then its amounts.
    scales = np.divide(1.0, candidate, out=np.zeros_like(candidate), where=valid)
    scaled = scales[:, :, None] * candidate[:, None, :]
    whole = (_is_whole(scaled, resolution) & valid[:, None, :]).sum(axis=2)
    # A scale is usable when rounding keeps every fraction within the allowed error; the largest
    # scale (scarcest element at 1) always is, as all its amounts are >= 1.
    rounded = _on_grid(scaled, resolution)
    error = np.abs(rounded / rounded.sum(axis=2, keepdims=True).clip(1e-300) - candidate[:, None, :]).max(axis=2)
    largest = scales.max(axis=1, keepdims=True)
    usable = valid & ((error <= FRACTION_ERROR_PER_RESOLUTION * resolution) | (scales == largest))
    # Most whole amounts first, then the largest scale.
    score = np.where(usable, whole * (1.0 + largest) + scales, -1.0)
    best = np.argmax(score, axis=1)
    amounts = fractions * scales[np.arange(len(fractions)), best][:, None]
    multiplier = np.ones((len(fractions), 1))
    settled = np.zeros(len(fractions), dtype=bool)
    for m in range(1, MAX_MULTIPLIER + 1):
        fits = ~settled & (_is_whole(amounts * m, resolution) | ~present).all(axis=1)
        multiplier[fits] = m
        settled |= fits
    return _on_grid(amounts * multiplier, resolution)
