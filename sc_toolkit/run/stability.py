"""Thermodynamic stability of compositions against the convex hull of known phases.

:func:`reference_phases` reads the formation-energy tables of catalog datasets (one row per
composition per source, at its lowest energy); :class:`ReferenceHull` combines them into one phase
per composition and gives a composition's distance to the hull, ``e_above_hull`` (eV/atom).

Combination rules. ``combine="first"`` (the default): each composition comes from the first dataset
named that has it, so the first (``mp-e-form``, on whose scale the formation-energy model is trained)
sets the energy scale wherever it covers a composition and the others only add compositions it
lacks. ``combine="lowest"``: each composition at the lowest formation energy any source gives it.
Either way the source of every hull phase is recorded. MP (GGA/GGA+U with fitted anion and U
corrections), JARVIS (OptB88vdW, uncorrected) and OQMD (fitted elemental chemical potentials) differ
by 0.12-0.15 eV/atom on average on the compositions they share (docs/data.md); taking the lowest
mixes those scales and pulls the hull down, which on held-out MP compositions marks 5.5 % of the
on-hull ones off-hull from their own DFT energies (0.3 % with ``first``; docs/benchmarks.md,
docs/decisions.md).

Elements define 0 eV/atom: every element of a chemical system enters its hull at 0, and elemental
rows of the sources are not used.

The hull of a chemical system is pymatgen's ``PhaseDiagram`` construction (the same qhull call on
the same coordinates) done on numpy arrays, which a test checks against ``PhaseDiagram`` itself.
For the first few compositions of a system of many elements, each composition's hull energy is
instead the optimum of a small linear programme over the system's phases (scipy's HiGHS): the same
value (tests check both against each other and ``PhaseDiagram``), without the cost of a convex hull
in many dimensions. scipy is imported inside the functions that need it, so importing
this module stays cheap.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..chem import SYMBOLS, Compositions, as_compositions, parse_formula
from ..data import load
from ..errors import DataError, UserError, did_you_mean

#: Column holding formation energy per atom (eV/atom) in each catalog table usable as a reference.
FORMATION_ENERGY_COLUMNS = {
    "mp-e-form": "formation_energy",
    "jarvis-dft-3d": "formation_energy",
    "oqmd": "formation_enthalpy",
}

#: What each combination rule means, as recorded in :meth:`ReferenceHull.provenance`.
COMBINATION_RULES = {
    "lowest": "each composition at the lowest formation energy of any source (the winning source is recorded)",
    "first": "each composition from the first dataset that has it, in the order the datasets are named",
}

PHASE_COLUMNS = ("formula", "composition_key", "e_form", "source")

_PHASES_FILE = "phases.parquet"
_META_FILE = "hull.json"
_SYMBOL = re.compile(r"[A-Z][a-z]?")
_INDEX = {symbol: i for i, symbol in enumerate(SYMBOLS)}
#: Formation energy (eV/atom) below which a phase can be on the hull (pymatgen's formation_energy_tol).
_FORMATION_TOL = 1e-5
#: Distance above the hull of its own chemical system (eV/atom) within which a phase counts as on it
#: (:meth:`ReferenceHull.only_on_hull`).
ON_HULL_TOL = 1e-6
#: Which phases a hull keeps, as recorded in :meth:`ReferenceHull.provenance`.
PHASES_KEPT = {
    False: "every combined phase",
    True: f"only the phases on the hull of their own chemical system (within {ON_HULL_TOL:g} eV/atom): the same hull",
}
#: Most elements of a chemical system a hull is built for. The hull's cost grows steeply with the
#: dimension: one system took 0.04 s at 7 elements, 0.5 s at 8, 4 s at 9 and 72 s at 10 (2 CPU cores).
MAX_SYSTEM_SIZE = 8
#: Compositions of a chemical system of n elements (the key) whose hull energies are solved as linear
#: programmes, one each, before the system's convex hull is built instead (counted over every call of
#: a hull): about the hull's cost in programmes, measured on the main job's samples (1.4-14 ms a
#: programme, 1 ms-0.3 s a hull, from 3 to 8 elements; docs/decisions.md). None below 6 elements, whose
#: hull costs about one programme or less.
LP_ROWS_BEFORE_HULL = {6: 2, 7: 9, 8: 21}
#: HiGHS's primal and dual feasibility tolerance for those linear programmes (its default is 1e-7).
_LP_TOLERANCE = 1e-10


def reference_phases(registry, datasets: Sequence[str]) -> pd.DataFrame:
    """Known phases of the named catalog datasets, one row per composition per source.

    Columns: ``formula`` (reduced formula), ``composition_key``, ``e_form`` (formation energy,
    eV/atom, the lowest the source gives that composition), ``source`` (the dataset name). Rows
    without a formation energy (OQMD compositions known only from its band-gap tables) and elemental
    rows (elements are 0 by definition) are left out. Datasets come in the order named.

    Raises UserError for a dataset that is not a formation-energy table (see
    :data:`FORMATION_ENERGY_COLUMNS`) or that is named twice.
    """
    if not datasets:
        raise UserError("no reference dataset named", hint=f"name some of {sorted(FORMATION_ENERGY_COLUMNS)}")
    if len(set(datasets)) != len(datasets):
        raise UserError(f"a reference dataset is named twice: {list(datasets)}")
    parts = []
    for name in datasets:
        if name not in FORMATION_ENERGY_COLUMNS:
            raise UserError(
                f"dataset '{name}' has no formation-energy table for a hull",
                hint=did_you_mean(name, FORMATION_ENERGY_COLUMNS) or f"one of {sorted(FORMATION_ENERGY_COLUMNS)}",
            )
        table = load(registry.dataset(name)).table
        frame = pd.DataFrame(
            {
                "formula": table["reduced_formula"].astype(str),
                "composition_key": table["composition_key"].astype(str),
                "e_form": table[FORMATION_ENERGY_COLUMNS[name]].astype(float),
            }
        ).dropna(subset=["e_form"])
        frame = frame[frame["composition_key"].str.count(" ") > 0]  # two or more elements
        frame = frame.sort_values("e_form", kind="stable").drop_duplicates("composition_key")
        parts.append(frame.sort_index().assign(source=name))
    return pd.concat(parts, ignore_index=True)[list(PHASE_COLUMNS)]


def combine_phases(phases: pd.DataFrame, combine: Literal["lowest", "first"] = "first") -> pd.DataFrame:
    """One row per composition of a :func:`reference_phases` table, chosen by ``combine`` (see
    :data:`COMBINATION_RULES`; "first" follows the order of the rows' sources in the table);
    ``source`` names the source that supplied the row kept. Ties in ``lowest`` go to the earlier row."""
    if combine not in COMBINATION_RULES:
        raise UserError(f"unknown combination rule '{combine}'", hint=f"one of {sorted(COMBINATION_RULES)}")
    missing = [c for c in PHASE_COLUMNS if c not in phases.columns]
    if missing:
        raise DataError(f"reference phases lack column(s) {missing}", hint=f"columns are {list(PHASE_COLUMNS)}")
    ordered = phases[list(PHASE_COLUMNS)].reset_index(drop=True)
    if combine == "lowest":
        ordered = ordered.sort_values("e_form", kind="stable")
    return ordered.drop_duplicates("composition_key").sort_index().reset_index(drop=True)


class ReferenceHull:
    """The convex hull of known phases, queried per chemical system.

    ``phases`` is a :func:`reference_phases` table (one row per composition per source); it is
    combined by ``combine`` into one phase per composition (:attr:`phases`). For a candidate, the
    hull is that of pymatgen's ``PhaseDiagram`` of the phases whose elements all lie in the
    candidate's chemical system plus every element of that system at 0 eV/atom (so a system no
    source covers gets the hull of its elements alone). Hulls are built on first use and cached per
    chemical system; all compositions of one system are evaluated in one matrix product. The first
    few compositions of a system of 6 to 8 elements (``LP_ROWS_BEFORE_HULL``) are solved instead as
    linear programmes, one each (the same value): most systems a screening meets have only a few.
    """

    def __init__(
        self,
        phases: pd.DataFrame,
        *,
        combine: Literal["lowest", "first"] = "first",
        datasets: Sequence[str] | None = None,
        on_hull_only: bool = False,
    ) -> None:
        self.combine = combine
        self.on_hull_only = on_hull_only
        self.phases = combine_phases(phases, combine)
        self.datasets = list(datasets) if datasets is not None else list(dict.fromkeys(phases["source"]))
        self.rows_per_source = {str(k): int(v) for k, v in phases["source"].value_counts(sort=False).items()}
        self._planes: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._solved: dict[tuple[int, ...], int] = {}  # compositions solved as programmes, per system
        self._by_system: dict[tuple[int, ...], np.ndarray] | None = None
        self._formulas = self.phases["formula"].to_numpy()
        self._energies = self.phases["e_form"].to_numpy(dtype=float)
        self._parsed: dict[int, list[tuple[int, float]]] = {}

    @classmethod
    def from_datasets(
        cls, registry, datasets: Sequence[str], *, combine: Literal["lowest", "first"] = "first"
    ) -> ReferenceHull:
        """The hull of :func:`reference_phases` of ``datasets``."""
        return cls(reference_phases(registry, datasets), combine=combine, datasets=datasets)

    def hull_energy(self, compositions) -> np.ndarray:
        """Formation energy (eV/atom) of the hull of known phases at each composition: 0 for an
        element, NaN for a row with no element or more than ``MAX_SYSTEM_SIZE`` elements. ``compositions``: anything
        :func:`~sc_toolkit.as_compositions` accepts."""
        fractions = as_compositions(compositions).fractions
        present = fractions > 0
        hull = np.full(len(fractions), np.nan)
        if not len(fractions):
            return hull
        systems, inverse = np.unique(present, axis=0, return_inverse=True)
        for system_mask, rows in zip(systems, _group_rows(inverse.ravel(), len(systems))):
            system = tuple(np.flatnonzero(system_mask).tolist())
            if not system:
                continue
            if len(system) == 1:
                hull[rows] = 0.0
                continue
            if len(system) > MAX_SYSTEM_SIZE:  # no hull is built: the row keeps NaN
                continue
            solved = self._solved.get(system, 0) + len(rows)
            if system not in self._planes and solved <= LP_ROWS_BEFORE_HULL.get(len(system), 0):
                self._solved[system] = solved
                hull[rows] = self._solve_hull_energies(system, fractions[np.ix_(rows, system)])
                continue
            columns, planes = self._system_planes(system)
            x = np.concatenate([fractions[np.ix_(rows, columns)], np.ones((len(rows), 1))], axis=1)
            hull[rows] = (x @ planes.T).max(axis=1)
        return hull

    def e_above_hull(self, compositions: Compositions, e_form: np.ndarray) -> np.ndarray:
        """``e_form`` (eV/atom, one per composition) minus the hull energy of the known phases at
        that composition (:meth:`hull_energy`). Negative where a composition is given below the known
        hull (it would be a new stable phase); 0 for a known hull phase at its own energy; NaN where
        ``e_form`` is NaN or the hull energy is (no element, or more than ``MAX_SYSTEM_SIZE``)."""
        e_form = np.asarray(e_form, dtype=float)
        compositions = as_compositions(compositions)
        if e_form.shape != (len(compositions),):
            raise UserError(f"{len(compositions)} compositions but e_form has shape {e_form.shape}")
        return e_form - self.hull_energy(compositions)

    def only_on_hull(self) -> ReferenceHull:
        """The same hull from fewer phases: only those on the hull of their own chemical system
        (within ``ON_HULL_TOL`` eV/atom). Every vertex of the hull of any system is such a phase (it
        cannot lie above the lower hull of its own elements), so :meth:`hull_energy` is unchanged for
        every composition of up to ``MAX_SYSTEM_SIZE`` elements; phases of more elements, which no
        hull uses, are left out too. A shipped hull keeps about a third of the phases this way. The
        datasets and rows per source stay those of this hull."""
        above = self.e_above_hull(self.phases["formula"].tolist(), self._energies)
        kept = ReferenceHull(self.phases[above <= ON_HULL_TOL], combine=self.combine, datasets=self.datasets,
                             on_hull_only=True)
        kept.rows_per_source = dict(self.rows_per_source)
        return kept

    def _system_planes(self, system: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Fraction columns (element indices after the diagram's first element) and the affine
        functions of the lower-hull facets of ``system``: rows ``[w..., b]`` with energy
        ``w . x + b``. The lower hull is a convex function, so its value is the maximum of these."""
        if system not in self._planes:
            self._planes[system] = self._build_planes(system)
        return self._planes[system]

    def _build_planes(self, system: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The lower hull of ``system`` as pymatgen's ``PhaseDiagram`` computes it (qhull with
        options "Qt i", "QJ i" on failure, over the fractions of all but the first element and the
        formation energy, with an extra point above the centroid so that the hull is full-dimensional;
        phases at or above 0 eV/atom cannot touch it and are left out), on numpy arrays: building a
        ``PhaseDiagram`` of a cuprate system with its ~1,000 phases costs ~0.1 s of Python per system."""
        from scipy.spatial import ConvexHull, QhullError

        fractions, energies = self._system_points(system)
        points = np.concatenate([fractions[:, 1:], energies[:, None]], axis=1)
        extra = np.full(len(system), 1 / len(system))
        extra[-1] = points.max() + 1
        try:
            facets = ConvexHull(np.vstack([points, extra]), qhull_options="Qt i").simplices
        except QhullError:
            facets = ConvexHull(np.vstack([points, extra]), qhull_options="QJ i").simplices
        facets = facets[(facets < len(points)).all(axis=1)]
        matrices = np.concatenate([points[facets][..., :-1], np.ones((*facets.shape, 1))], axis=2)
        regular = np.abs(np.linalg.det(matrices)) > 1e-14
        planes = np.linalg.solve(matrices[regular], points[facets[regular]][..., -1:])[..., 0]
        # keep only supporting planes of the lower hull: no phase lies below them
        augmented = np.concatenate([points[:, :-1], np.ones((len(points), 1))], axis=1)
        below = (augmented @ planes.T) - points[:, -1:] > 1e-6
        columns = np.array(system[1:], dtype=int)
        return columns, planes[~below.any(axis=0)]

    def _solve_hull_energies(self, system: tuple[int, ...], queries: np.ndarray) -> np.ndarray:
        """Hull energy of each row of ``queries`` (atomic fractions over the elements of ``system``)
        as the optimum of the linear programme: minimise sum_i l_i E_i over l >= 0 with
        sum_i l_i x_i = x, for the phases i of the system below 0 eV/atom and its elements at 0
        (the lowest energy any mixture of phases reaches at x: the lower hull's value there)."""
        from scipy.optimize import linprog

        fractions, energies = self._system_points(system)
        options = {"primal_feasibility_tolerance": _LP_TOLERANCE, "dual_feasibility_tolerance": _LP_TOLERANCE}
        hull = np.empty(len(queries))
        for i, x in enumerate(queries):
            solution = linprog(energies, A_eq=fractions.T, b_eq=x, bounds=(0, None), method="highs", options=options)
            if solution.status != 0:
                raise RuntimeError(f"hull energy of {x} in system {system}: HiGHS says {solution.message}")
            hull[i] = solution.fun
        return hull

    def _system_points(self, system: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Atomic fractions (one column per element of ``system``) and formation energies of the
        phases of ``system`` and its subsystems below 0 eV/atom (the others cannot touch the lower
        hull), followed by the system's elements at 0 eV/atom."""
        by_system = self._system_index()
        subsets = (by_system.get(sub) for k in range(2, len(system) + 1) for sub in itertools.combinations(system, k))
        rows = np.concatenate([r for r in subsets if r is not None] or [np.zeros(0, dtype=int)])
        rows = rows[self._energies[rows] < -_FORMATION_TOL]
        position = {z: i for i, z in enumerate(system)}
        fractions = np.zeros((len(rows) + len(system), len(system)))
        for i, row in enumerate(rows.tolist()):
            for z, fraction in self._fractions(row):
                fractions[i, position[z]] = fraction
        fractions[len(rows) :] = np.eye(len(system))
        return fractions, np.concatenate([self._energies[rows], np.zeros(len(system))])

    def _fractions(self, row: int) -> list[tuple[int, float]]:
        """(element index, atomic fraction) of phase ``row``, parsed from its formula once."""
        if row not in self._parsed:
            amounts = parse_formula(self._formulas[row])
            total = sum(amounts.values())
            self._parsed[row] = [(_INDEX[symbol], amount / total) for symbol, amount in amounts.items()]
        return self._parsed[row]

    def _system_index(self) -> dict[tuple[int, ...], np.ndarray]:
        """Row indices of :attr:`phases` by chemical system (sorted element indices)."""
        if self._by_system is None:
            systems = [
                tuple(sorted(_INDEX[s] for s in _SYMBOL.findall(key))) for key in self.phases["composition_key"]
            ]
            codes, uniques = pd.factorize(pd.Series(systems, dtype=object))
            self._by_system = dict(zip(uniques, _group_rows(codes, len(uniques))))
        return self._by_system

    def provenance(self) -> dict[str, Any]:
        """Datasets, rows per source before and after combining, the rule and the pymatgen version."""
        return {
            "datasets": self.datasets,
            "combination": self.combine,
            "combination_rule": COMBINATION_RULES[self.combine],
            "elements": "every element at 0 eV/atom; elemental rows of the sources are not used",
            "rows_per_source": self.rows_per_source,
            "hull_phases_per_source": {
                str(k): int(v) for k, v in self.phases["source"].value_counts(sort=False).items()
            },
            "n_phases": len(self.phases),
            "phases_kept": PHASES_KEPT[self.on_hull_only],
            "hull": "lower convex hull per chemical system as pymatgen's PhaseDiagram builds it (qhull); for the "
                    "first compositions of a system of n elements (n: how many), its value at each as a linear "
                    f"programme (scipy's HiGHS): {LP_ROWS_BEFORE_HULL}",
            "pymatgen": version("pymatgen"),
            "scipy": version("scipy"),
        }

    def save(self, directory: Path | str) -> None:
        """Write the combined phases (``phases.parquet``) and the provenance (``hull.json``)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.phases.to_parquet(directory / _PHASES_FILE, index=False)
        (directory / _META_FILE).write_text(json.dumps(self.provenance(), indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path | str) -> ReferenceHull:
        """A hull written by :meth:`save`: the same phases, rule, datasets and source counts."""
        directory = Path(directory)
        for name in (_PHASES_FILE, _META_FILE):
            if not (directory / name).exists():
                raise DataError(f"{directory / name} is missing", hint="save the hull with ReferenceHull.save")
        meta = json.loads((directory / _META_FILE).read_text())
        hull = cls(pd.read_parquet(directory / _PHASES_FILE), combine=meta["combination"], datasets=meta["datasets"],
                   on_hull_only=meta.get("phases_kept") == PHASES_KEPT[True])
        hull.rows_per_source = {str(k): int(v) for k, v in meta["rows_per_source"].items()}
        return hull


def _group_rows(codes: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Row indices of each group code 0..n_groups-1."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n_groups)]
