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


class SmactValid(sc_toolkit.Filter):
    """Keep compositions that SMACT 4's ``smact_validity`` accepts, after scaling amounts to integers.

    SMACT truncates fractional amounts with ``int()`` (La1.85Sr0.15CuO4 would be read as La1CuO4,
    Sr dropped). Here every amount is first rounded to ``decimals`` decimal places and the formula
    multiplied by the least common multiple of the denominators (La1.85Sr0.15CuO4 -> La37Sr3Cu20O80);
    elements whose amount rounds to 0 are left out. The integer formula is then judged by SMACT's rules:

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
    include_alloys, oxidation_states_set=...)`` with SMACT's other options at their defaults; it is
    computed without enumerating every oxidation-state combination (a subset-sum over charges per
    electronegativity cut), once per distinct integer formula. Rows whose formula does not parse fail.
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
        decimals: int = Field(
            2, ge=0, le=4, description="amounts are rounded to this many decimal places before scaling to integers"
        )

    def columns(self) -> tuple[str, ...]:
        return ("formula",)

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        amounts, parsed = formula_amounts(table)
        counts = integer_counts(amounts, self.params.decimals)
        unique, inverse = np.unique(counts, axis=0, return_inverse=True)
        data = _oxidation_data(self.params.oxidation_states_set)
        verdicts = np.array([self._valid(row, data) for row in unique], dtype=bool)
        return parsed & verdicts[inverse.reshape(-1)]

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
        if not self.params.use_pauling_test:
            return _can_be_neutral(n, states)
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
            "integer_scaling": f"amounts rounded to {self.params.decimals} decimals, times the LCM of denominators",
        }


def integer_counts(amounts: np.ndarray, decimals: int) -> np.ndarray:
    """Smallest integer formula of each row after rounding amounts to ``decimals`` decimal places."""
    counts = np.round(amounts * 10**decimals).astype(np.int64)
    divisor = np.gcd.reduce(counts, axis=1)
    return counts // np.maximum(divisor, 1)[:, None]


def _can_be_neutral(counts: list[int], states: list[tuple[int, ...]]) -> bool:
    """Whether sum(counts[i] * o_i) == 0 for some o_i in states[i]: reachable charge totals as the
    set bits of an integer (bit ``offset`` is charge 0)."""
    offset = sum(n * max(abs(o) for o in s) for n, s in zip(counts, states))
    reachable = 1 << offset
    for n, s in zip(counts, states):
        step = 0
        for o in s:
            shift = n * o
            step |= reachable << shift if shift >= 0 else reachable >> -shift
        reachable = step
    return bool(reachable >> offset & 1)


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
