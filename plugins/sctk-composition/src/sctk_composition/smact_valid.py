"""SMACT validity (charge neutrality + Pauling electronegativity order) for fractional formulas."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

import sc_toolkit
from sc_toolkit import SYMBOLS

from .table_compositions import formula_amounts

#: Named oxidation-state sets of SMACT 4 -> the ``smact.Element`` attribute holding them.
NAMED_SETS = {
    "smact14": "oxidation_states_smact14",
    "icsd16": "oxidation_states_icsd16",
    "icsd24": "oxidation_states_icsd24",
    "pymatgen_sp": "oxidation_states_sp",
}


#: Largest integer amount of one element that ``smact-valid`` judges by default (the bound that
#: ``parse_formula`` puts on written amounts).
MAX_COUNT = 1_000_000
#: Why a row is rejected without a SMACT verdict, in the order of the codes of :func:`integer_counts`.
UNJUDGED = ("formula does not parse", "amounts finer than max_decimals decimal places",
            "integer formula has an amount above max_count")


class SmactValid(sc_toolkit.Filter):
    """Keep compositions that SMACT 4's ``smact_validity`` accepts on the exact integer scaling of
    the written formula.

    SMACT truncates fractional amounts with ``int()`` (La1.85Sr0.15CuO4 would be read as La1CuO4,
    Sr dropped). Here each formula is read at its written precision: d is the fewest decimal places
    (at most ``max_decimals``) that hold every amount exactly, the amounts are multiplied by 10**d
    and divided by their greatest common divisor (La1.85Sr0.15CuO4 -> La37Sr3Cu20O80,
    Ba2.085Ca1.325Zn0.703Cu2.123Cl0.684O7.234 -> Ba2085Ca1325Zn703Cu2123Cl684O7234). Nothing is
    rounded: the formula judged is the formula written, so a decoder's grid (e.g. scgan-onehot's 3
    decimals) is the grid judged. A row is rejected without a verdict when its formula does not
    parse, when an amount needs more than ``max_decimals`` places, or when an integer amount exceeds
    ``max_count`` (default 1e6, the bound ``parse_formula`` puts on written amounts: beyond it the
    integer formula is no longer one SMACT's rules were made for, and it is not judged on a rounded
    one instead); the counts of such rows per reason are in ``provenance()['unjudged']`` after
    ``keep``. The integer formula is
    then judged by SMACT's rules:

    - a single element passes;
    - with ``include_alloys``, a composition made only of SMACT's metals passes without further test
      (as SMACT does): most intermetallic superconductors (Nb3Sn, MoRu, ...) have no charge-neutral
      ionic reading, so without this almost all of them fail; with it, validity says nothing about
      them. Report validity both ways for intermetallic-rich candidate sets;
    - otherwise some choice of one oxidation state per element (from ``oxidation_states_set``) must
      make the formula charge neutral and, with ``use_pauling_test``, put every cation below every
      anion in Pauling electronegativity (an element without one fails that test). An element
      without oxidation states in the set fails.

    The result equals ``smact.screening.smact_validity(integer_formula, use_pauling_test,
    include_alloys, oxidation_states_set=...)`` with SMACT's other options at their defaults. It is
    computed once per distinct integer formula, without SMACT's enumeration of the oxidation-state
    combinations (whose count is the product of the elements' state counts): first charge
    neutrality alone, then per electronegativity cut, by the cheaper of two exact searches: the
    charge totals reachable by each half of the elements met in the middle (for few elements, whose
    cost does not grow with the size of the integers), or every reachable total as one bit of an
    integer (for many elements, whose cost does not grow with the number of combinations).
    """

    name: ClassVar[str] = "smact-valid"
    requires: ClassVar[tuple[str, ...]] = ("smact",)

    class Params(sc_toolkit.Params):
        use_pauling_test: bool = Field(
            True, description="also require cations to be less electronegative than anions (Pauling scale)"
        )
        include_alloys: bool = Field(
            True, description="pass every all-metal composition untested, as SMACT does (report both ways)"
        )
        oxidation_states_set: Literal["default", "icsd24", "icsd16", "smact14", "pymatgen_sp"] = Field(
            "default",
            description="SMACT's oxidation states: 'default' is SMACT 4's default (ICSD 2024 states seen "
            "in >= 3 reports, no zero), or one of SMACT's named sets",
        )
        max_decimals: int = Field(
            6, ge=0, le=9,
            description="amounts are read exactly as written; a formula with an amount finer than this "
            "many decimal places is rejected",
        )
        max_count: int = Field(
            MAX_COUNT, ge=1, le=10**12,
            description="a formula whose exact integer scaling has an amount above this is rejected",
        )

    def __init__(self, params=None, **overrides: Any):
        super().__init__(params, **overrides)
        self._unjudged: dict[str, int] = {}

    def columns(self) -> tuple[str, ...]:
        return ("formula",)

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        amounts, parsed = formula_amounts(table)
        counts, code = integer_counts(amounts, self.params.max_decimals, self.params.max_count)
        code[~parsed] = 1
        self._unjudged = {reason: int((code == i + 1).sum()) for i, reason in enumerate(UNJUDGED)}
        unique, inverse = np.unique(counts, axis=0, return_inverse=True)
        data = _oxidation_data(self.params.oxidation_states_set)
        verdicts = np.array([self._valid(row, data) for row in unique], dtype=bool)
        return (code == 0) & verdicts[inverse.reshape(-1)]

    def _valid(self, counts: np.ndarray, data: _OxidationData) -> bool:
        columns = np.flatnonzero(counts)
        if len(columns) == 0:
            return False
        if len(columns) == 1:
            return True
        if self.params.include_alloys and all(data.is_metal[c] for c in columns):
            return True
        states = [data.states[c] for c in columns]
        if any(not s for s in states):
            return False
        n = [int(counts[c]) for c in columns]
        if not _can_be_neutral(n, states):
            return False
        if not self.params.use_pauling_test:
            return True
        eneg = [data.eneg[c] for c in columns]
        if any(x is None for x in eneg):
            return False
        # A Pauling-valid assignment has all cations below some cut t <= every anion's eneg.
        for cut in sorted(set(eneg)) + [np.inf]:
            allowed = [
                tuple(o for o in s if (o >= 0 if x < cut else o <= 0)) for s, x in zip(states, eneg)
            ]
            if all(allowed) and _can_be_neutral(n, allowed):
                return True
        return False

    def citations(self) -> list[str]:
        return [
            "Davies et al., SMACT: Semiconducting Materials by Analogy and Chemical Theory, "
            "J. Open Source Softw. 4, 1361 (2019)",
            "Davies et al., Computational screening of all stoichiometric inorganic materials, "
            "Chem 1, 617-627 (2016)",
        ]

    def provenance(self) -> dict[str, Any]:
        return {
            "smact": importlib.metadata.version("smact"),
            **self.params.model_dump(),
            "oxidation_states": _oxidation_data(self.params.oxidation_states_set).description,
            "integer_scaling": "exact: amounts at their written precision (at most "
            f"{self.params.max_decimals} decimals) times 10**decimals, divided by their gcd; "
            f"integer amounts up to {self.params.max_count}",
            "unjudged": dict(self._unjudged),
        }


def integer_counts(amounts: np.ndarray, max_decimals: int = 6, max_count: int = MAX_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """Exact smallest integer formula of each row of ``amounts`` (parsed from written formulas), and
    a code per row: 0 judged, 2 an amount needs more than ``max_decimals`` decimal places, 3 an
    integer amount exceeds ``max_count`` (rows with code != 0 get zero counts).

    A row is read at the fewest decimal places d that hold every amount: ``a * 10**d`` is within
    1e-6 (plus 1e-13 relative, for the float error of parsing and of brackets) of a whole number.
    A written amount with at most ``max_decimals`` places gives its own integers; one that needs
    more places is only read at a coarser grid when its extra digits are below 1e-6 of a grid
    step (more than 12 decimal places at the default).
    """
    places = np.full(len(amounts), -1)
    scaled = np.zeros(amounts.shape)
    for d in range(max_decimals + 1):
        open_rows = np.flatnonzero(places < 0)
        if not len(open_rows):
            break
        rows = amounts[open_rows]
        exact = rows * 10.0**d
        grid = np.round(exact)
        fits = (np.abs(exact - grid) <= 1e-6 + 1e-13 * grid).all(axis=1)
        places[open_rows[fits]] = d
        scaled[open_rows[fits]] = grid[fits]
    # Parsed amounts are at most MAX_AMOUNT (1e6), so 10**9 times them is an exact int64.
    counts = scaled.astype(np.int64)
    counts //= np.maximum(np.gcd.reduce(counts, axis=1), 1)[:, None]
    code = np.where(places < 0, 2, np.where(counts.max(axis=1, initial=0) > max_count, 3, 0))
    counts[code != 0] = 0
    return counts, code


#: Time to make one total in a Python set over the time to shift and OR one 64-bit word of an
#: integer (measured: about 330 ns against 7 ns), for :func:`_can_be_neutral`'s choice.
_SET_COST_PER_WORD = 50


def _can_be_neutral(counts: list[int], states: list[tuple[int, ...]]) -> bool:
    """Whether sum(counts[i] * o_i) == 0 for some o_i in states[i], by the cheaper of two exact
    searches: :func:`_met_in_the_middle` (work bounded by the products of state counts: cheap for
    few elements, whatever their counts) or :func:`_zero_reachable` (work bounded by the span of the
    totals: cheap for many elements with small counts)."""
    sizes = np.cumprod([float(len(s)) for s in states])  # float: 4**96 does not fit an int64
    split = int(np.argmin(np.maximum(sizes, sizes[-1] / sizes))) + 1
    totals_made = float(sizes[:split].sum() + (sizes[split:] / sizes[split - 1]).sum())
    span = sum(n * (max(s) - min(s)) for n, s in zip(counts, states))
    if totals_made * _SET_COST_PER_WORD <= sum(map(len, states)) * (span / 64 + 1):
        return _met_in_the_middle(counts, states, split)
    return _zero_reachable(counts, states)


def _met_in_the_middle(counts: list[int], states: list[tuple[int, ...]], split: int) -> bool:
    """Whether some total of the first ``split`` elements is the negated total of some choice for the rest."""
    left = _sums(counts[:split], states[:split])
    return any(-t in left for t in _sums(counts[split:], states[split:]))


def _sums(counts: list[int], states: list[tuple[int, ...]]) -> set[int]:
    """Every charge total sum(counts[i] * o_i) with o_i in states[i]."""
    totals = {0}
    for n, s in zip(counts, states):
        totals = {t + n * o for t in totals for o in s}
    return totals


def _zero_reachable(counts: list[int], states: list[tuple[int, ...]]) -> bool:
    """Whether 0 is among the totals, reachable totals t held as bits t - low of one integer."""
    reachable, low = 1, 0
    for n, s in zip(counts, states):
        lowest = min(s)
        shifted = 0
        for o in s:
            shifted |= reachable << (n * (o - lowest))
        reachable, low = shifted, low + n * lowest
    return low <= 0 and bool((reachable >> -low) & 1)


@dataclass(frozen=True)
class _OxidationData:
    """Per atomic number - 1: oxidation states (empty when SMACT has none), Pauling
    electronegativity (None when undefined) and whether SMACT counts it as a metal."""

    states: tuple[tuple[int, ...], ...]
    eneg: tuple[float | None, ...]
    is_metal: tuple[bool, ...]
    description: str


@lru_cache(maxsize=8)
def _oxidation_data(set_name: str) -> _OxidationData:
    import smact
    from smact.screening import ICSD24FilterConfig
    from smact.utils.oxidation import ICSD24OxStatesFilter

    if set_name == "default":
        config = ICSD24FilterConfig()
        table = ICSD24OxStatesFilter().filter(
            consensus=config.consensus, include_zero=config.include_zero, commonality=config.commonality
        )
        named = {str(e): [int(x) for x in str(o).split()] for e, o in zip(table["element"], table["oxidation_state"])}
        description = (
            f"ICSD24 filter: consensus={config.consensus}, include_zero={config.include_zero}, "
            f"commonality={config.commonality!r}"
        )
    else:
        named = None
        description = f"smact.Element.{NAMED_SETS[set_name]}"
    states, eneg = [], []
    for symbol in SYMBOLS:
        try:
            element = smact.Element(symbol)
        except (NameError, KeyError, ValueError):
            states.append(())
            eneg.append(None)
            continue
        found = named.get(symbol) if named is not None else getattr(element, NAMED_SETS[set_name])
        states.append(tuple(found or ()))
        eneg.append(element.pauling_eneg)
    metals = set(smact.metals)
    return _OxidationData(tuple(states), tuple(eneg), tuple(s in metals for s in SYMBOLS), description)
