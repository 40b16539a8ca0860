"""A batch of compositions as one dense amounts matrix, the form every composition encoder reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import FormulaError
from .elements import INDEX, N_ELEMENTS, SYMBOLS
from .formula import MAX_AMOUNT, composition_key, format_formula, parse_formula, reduced_formula


@dataclass(frozen=True)
class RejectedFormula:
    """A formula that could not be read, with its row position and the reason."""

    row: int
    formula: str
    reason: str


@dataclass
class Compositions:
    """``amounts[i, z - 1]`` is the amount of the element with atomic number ``z`` in material ``i``.

    ``formulas`` keeps the text each row came from (or, for generated rows, the decoded formula).
    """

    formulas: list[str]
    amounts: np.ndarray
    _keys: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.amounts.ndim != 2 or self.amounts.shape[1] != N_ELEMENTS:
            raise ValueError(f"amounts must have shape (n, {N_ELEMENTS}), got {self.amounts.shape}")
        if len(self.formulas) != len(self.amounts):
            raise ValueError("formulas and amounts differ in length")

    @classmethod
    def from_formulas(cls, formulas: Iterable[str]) -> Compositions:
        """Parse every formula; raise FormulaError (naming the row) at the first bad one."""
        compositions, rejected = cls.parse(formulas)
        if rejected:
            bad = rejected[0]
            raise FormulaError(f"row {bad.row}: {bad.reason}", hint="fix or remove that formula")
        return compositions

    @classmethod
    def parse(cls, formulas: Iterable[str]) -> tuple[Compositions, list[RejectedFormula]]:
        """Parse what can be parsed; return the rest as :class:`RejectedFormula` (never altered)."""
        kept: list[str] = []
        rows: list[dict[str, float]] = []
        rejected: list[RejectedFormula] = []
        for i, text in enumerate(formulas):
            try:
                rows.append(parse_formula(text))
                kept.append(text)
            except FormulaError as error:
                rejected.append(RejectedFormula(i, str(text), error.message))
        return cls.from_amounts(rows, formulas=kept), rejected

    @classmethod
    def from_amounts(cls, rows: Sequence[dict[str, float]], *, formulas: list[str] | None = None):
        """Build from element -> amount mappings; formulas default to their formatted text.

        Raises FormulaError naming the row for an unknown element symbol or an amount that is
        negative, not finite or above :data:`~sc_toolkit.chem.formula.MAX_AMOUNT`.
        """
        amounts = np.zeros((len(rows), N_ELEMENTS))
        for i, row in enumerate(rows):
            for symbol, amount in row.items():
                if symbol not in INDEX:
                    raise FormulaError(f"row {i}: unknown element {symbol!r}")
                try:
                    value = float(amount)
                except (TypeError, ValueError):
                    raise FormulaError(f"row {i}: amount of {symbol} is not a number: {amount!r}") from None
                if not 0.0 <= value <= MAX_AMOUNT:
                    raise FormulaError(
                        f"row {i}: amount of {symbol} is {value!r}, not in [0, {MAX_AMOUNT:g}]",
                        hint="amounts are finite, non-negative atoms per formula unit",
                    )
                amounts[i, INDEX[symbol]] = value
        if formulas is None:
            formulas = [format_formula(row) for row in rows]
        return cls(list(formulas), amounts)

    @classmethod
    def from_matrix(cls, amounts: np.ndarray, *, decimals: int = 4) -> Compositions:
        """Build from an amounts matrix; formulas are formatted from the rows with ``decimals``
        places. Amounts on the grid of multiples of 10**-decimals (as decoders round them) are
        written exactly, so the formula and the amounts are the same composition; others are
        written rounded while ``amounts`` keeps them."""
        amounts = np.asarray(amounts, dtype=float)
        return cls([format_formula(d, decimals=decimals) for d in _row_dicts(amounts)], amounts)

    def __len__(self) -> int:
        return len(self.formulas)

    def __getitem__(self, index) -> Compositions:
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        keys = None if self._keys is None else self._keys[index]
        return Compositions([self.formulas[i] for i in index], self.amounts[index], keys)

    @property
    def fractions(self) -> np.ndarray:
        """Atomic fractions (rows sum to 1; a row with no element stays all zero)."""
        totals = self.amounts.sum(axis=1, keepdims=True)
        return np.divide(self.amounts, totals, out=np.zeros_like(self.amounts), where=totals > 0)

    @property
    def n_elements(self) -> np.ndarray:
        """Number of distinct elements per row."""
        return (self.amounts > 0).sum(axis=1)

    def as_dicts(self) -> list[dict[str, float]]:
        """Rows as element -> amount mappings."""
        return _row_dicts(self.amounts)

    def keys(self) -> np.ndarray:
        """Composition keys (see :func:`~sc_toolkit.chem.formula.composition_key`), cached."""
        if self._keys is None:
            self._keys = np.array([composition_key(d) for d in self.as_dicts()], dtype=object)
        return self._keys

    def reduced_formulas(self) -> list[str]:
        """Reduced formula of each row (pymatgen's convention)."""
        return [reduced_formula(d) for d in self.as_dicts()]


def _row_dicts(amounts: np.ndarray) -> list[dict[str, float]]:
    rows, cols = np.nonzero(amounts)
    out: list[dict[str, float]] = [{} for _ in range(len(amounts))]
    for r, c in zip(rows.tolist(), cols.tolist()):
        out[r][SYMBOLS[c]] = float(amounts[r, c])
    return out


def as_compositions(materials) -> Compositions:
    """Accept a :class:`Compositions`, a sequence of formula strings, or a table with a 'formula'
    column; return Compositions (raising FormulaError on a bad formula)."""
    if isinstance(materials, Compositions):
        return materials
    if hasattr(materials, "columns") and "formula" in materials.columns:
        materials = materials["formula"].tolist()
    return Compositions.from_formulas(list(materials))
