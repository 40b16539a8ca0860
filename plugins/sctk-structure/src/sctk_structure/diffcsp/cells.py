"""From compositions to cells to fill, and from pymatgen structures to arrays.

A composition of atomic fractions is placed as its smallest integer formula (n atoms) times Z
formula units. Z comes from the training crystals whose integer formula has the same number of
atoms (all training crystals when none has): the most frequent Z first, further samples drawn in
proportion to the frequencies; only Z with n Z <= ``max_atoms`` and Z <= ``max_z`` are used.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from sc_toolkit import SYMBOLS, atomic_number


def integer_formula(fractions: np.ndarray, max_atoms: int, atol: float = 1e-3) -> dict[str, int] | None:
    """The smallest integer amounts {symbol: count} with these atomic fractions (over ``SYMBOLS``), or
    None when no formula of at most ``max_atoms`` atoms has them."""
    present = np.flatnonzero(fractions > 0)
    shares = fractions[present] / fractions[present].sum()
    for n in range(len(present), max_atoms + 1):
        counts = shares * n
        rounded = np.round(counts)
        if (rounded >= 1).all() and rounded.sum() == n and np.abs(counts - rounded).max() <= atol * n:
            return {SYMBOLS[i]: int(c) for i, c in zip(present, rounded)}
    return None


def formula_atoms_and_z(structure) -> tuple[int, int]:
    """(atoms in the smallest integer formula, formula units Z) of an ordered structure."""
    reduced, factor = structure.composition.get_reduced_composition_and_factor()
    return int(round(reduced.num_atoms)), int(round(factor))


class ZTable:
    """Frequencies of Z per formula size, learnt from training structures (see the module docstring)."""

    def __init__(self, pairs: list[tuple[int, int]]):
        self.by_size: dict[int, Counter] = {}
        for size, z in pairs:
            self.by_size.setdefault(size, Counter())[z] += 1
        self.overall = Counter(z for _, z in pairs)

    def to_state(self) -> list[list[int]]:
        return [[size, z, count] for size, counter in sorted(self.by_size.items()) for z, count in sorted(counter.items())]

    @classmethod
    def from_state(cls, rows) -> ZTable:
        return cls([(int(size), int(z)) for size, z, count in rows for _ in range(int(count))])

    def choices(self, size: int, k: int, max_atoms: int, max_z: int, rng: np.random.Generator) -> list[int]:
        """``k`` values of Z for a formula of ``size`` atoms (empty when none fits ``max_atoms``)."""
        allowed = lambda z: z <= max_z and z * size <= max_atoms  # noqa: E731
        counter = Counter({z: c for z, c in self.by_size.get(size, Counter()).items() if allowed(z)})
        if not counter:
            counter = Counter({z: c for z, c in self.overall.items() if allowed(z)})
        if not counter:
            return [1] * k if size <= max_atoms else []
        zs = sorted(counter, key=lambda z: (-counter[z], z))
        weights = np.array([counter[z] for z in zs], dtype=float)
        drawn = rng.choice(zs, size=max(k - 1, 0), p=weights / weights.sum()) if k > 1 else []
        return [zs[0], *map(int, drawn)]


def species_list(formula: dict[str, int], z: int) -> list[int]:
    """Atomic numbers of a cell of ``z`` formula units, grouped by element."""
    return [atomic_number(symbol) for symbol, count in formula.items() for _ in range(count * z)]


def structure_arrays(structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(atomic numbers (n,), fractional coordinates in [0, 1) (n, 3), lattice rows (3, 3))."""
    species = np.array([site.specie.Z for site in structure], dtype=np.int64)
    return species, np.mod(structure.frac_coords, 1.0), np.asarray(structure.lattice.matrix, dtype=float)
