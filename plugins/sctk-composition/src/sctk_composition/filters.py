"""Table filters: novelty and uniqueness of compositions, element rules, numeric and value selections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

import sc_toolkit
from sc_toolkit import SYMBOLS, Compositions, UserError, atomic_number, did_you_mean

from .table_compositions import formula_amounts

KEY = "composition_key"


class Novel(sc_toolkit.Filter):
    """Keep rows whose composition is not in the reference (training) table.

    Compositions are compared by ``composition_key`` (atomic fractions to 4 decimals, so
    Y2Ba4Cu6O14 is not novel next to YBa2Cu3O7). ``fit`` takes the keys from the reference's
    'composition_key' column or, when it has none, from its parsable 'formula' values.
    """

    name: ClassVar[str] = "novel"

    def columns(self) -> tuple[str, ...]:
        return (KEY,)

    def fit(self, reference: pd.DataFrame) -> Novel:
        if KEY in reference.columns:
            keys = reference[KEY].dropna()
        elif "formula" in reference.columns:
            keys = Compositions.parse(reference["formula"].astype(str).tolist())[0].keys()
        else:
            raise UserError(
                "the reference table has neither a 'composition_key' nor a 'formula' column",
                hint="fit 'novel' on the training table",
            )
        self.reference_keys_ = frozenset(map(str, keys))
        return self

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        if not hasattr(self, "reference_keys_"):
            raise UserError("filter 'novel' was not fitted", hint="call fit(reference_table) before keep")
        return ~table[KEY].isin(self.reference_keys_).to_numpy()

    def _save_state(self, directory: Path) -> None:
        if hasattr(self, "reference_keys_"):
            (directory / "reference_keys.json").write_text(json.dumps(sorted(self.reference_keys_)))

    def _load_state(self, directory: Path) -> None:
        path = directory / "reference_keys.json"
        if path.exists():
            self.reference_keys_ = frozenset(json.loads(path.read_text()))


class Unique(sc_toolkit.Filter):
    """Keep the first row of each composition (by ``composition_key``), drop later repeats."""

    name: ClassVar[str] = "unique"

    def columns(self) -> tuple[str, ...]:
        return (KEY,)

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        return ~table[KEY].duplicated(keep="first").to_numpy()


def _check_symbols(symbols: list[str]) -> list[str]:
    for symbol in symbols:
        if symbol not in SYMBOLS:
            by_case = {s.lower(): s for s in SYMBOLS}.get(symbol.lower())
            hint = f"did you mean '{by_case}'? symbols are case-sensitive" if by_case else did_you_mean(symbol, SYMBOLS)
            raise ValueError(f"'{symbol}' is not an element symbol" + (f" ({hint})" if hint else ""))
    return symbols


class Elements(sc_toolkit.Filter):
    """Keep rows whose formula satisfies element rules: required, any-of and forbidden elements, and
    a range of element counts. Rows whose formula does not parse fail; with no rule set, all others pass."""

    name: ClassVar[str] = "elements"

    class Params(sc_toolkit.Params):
        must_contain: list[str] = Field([], description="every one of these elements must be present")
        must_contain_any: list[str] = Field([], description="at least one of these elements must be present")
        must_not_contain: list[str] = Field([], description="none of these elements may be present")
        min_elements: int | None = Field(None, ge=1, description="fewest distinct elements allowed")
        max_elements: int | None = Field(None, ge=1, description="most distinct elements allowed")

        _symbols = field_validator("must_contain", "must_contain_any", "must_not_contain")(_check_symbols)

        @model_validator(mode="after")
        def _consistent(self):
            if self.min_elements and self.max_elements and self.min_elements > self.max_elements:
                raise ValueError(f"min_elements ({self.min_elements}) exceeds max_elements ({self.max_elements})")
            clash = set(self.must_contain) & set(self.must_not_contain)
            if clash:
                raise ValueError(f"{sorted(clash)} both required and forbidden")
            return self

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        amounts, parsed = formula_amounts(table)
        present = amounts > 0
        p = self.params

        def columns(symbols: list[str]) -> list[int]:
            return [atomic_number(s) - 1 for s in symbols]

        keep = parsed.copy()
        keep &= present[:, columns(p.must_contain)].all(axis=1)
        if p.must_contain_any:
            keep &= present[:, columns(p.must_contain_any)].any(axis=1)
        keep &= ~present[:, columns(p.must_not_contain)].any(axis=1)
        n_elements = present.sum(axis=1)
        if p.min_elements is not None:
            keep &= n_elements >= p.min_elements
        if p.max_elements is not None:
            keep &= n_elements <= p.max_elements
        return keep


def _numeric_column(table: pd.DataFrame, column: str, filter_name: str) -> np.ndarray:
    if column not in table.columns:
        raise UserError(
            f"filter '{filter_name}' reads column '{column}', which the table does not have",
            hint=did_you_mean(column, map(str, table.columns)),
        )
    values = table[column]
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise UserError(f"column '{column}' does not hold numbers", hint="use the 'values' filter for text")
    return values.to_numpy(dtype=float)


class Threshold(sc_toolkit.Filter):
    """Keep rows whose value in ``column`` meets every bound given (gt, ge, lt, le); NaN fails.

    At least one bound is required; at most one lower (gt or ge) and one upper (lt or le).
    """

    name: ClassVar[str] = "threshold"
    example_params: ClassVar[dict[str, Any]] = {"column": "tc", "gt": 0.0}

    class Params(sc_toolkit.Params):
        column: str = Field("tc", description="numeric column to test (e.g. tc, or a prediction 'tc_pred')")
        gt: float | None = Field(None, description="keep values strictly greater than this")
        ge: float | None = Field(None, description="keep values greater than or equal to this")
        lt: float | None = Field(None, description="keep values strictly less than this")
        le: float | None = Field(None, description="keep values less than or equal to this")

        @model_validator(mode="after")
        def _consistent(self):
            if self.gt is not None and self.ge is not None:
                raise ValueError("give one lower bound: gt or ge, not both")
            if self.lt is not None and self.le is not None:
                raise ValueError("give one upper bound: lt or le, not both")
            if all(bound is None for bound in (self.gt, self.ge, self.lt, self.le)):
                raise ValueError("give at least one bound: gt, ge, lt or le")
            low = self.gt if self.gt is not None else self.ge
            high = self.lt if self.lt is not None else self.le
            if low is not None and high is not None:
                empty = low > high or (low == high and (self.gt is not None or self.lt is not None))
                if empty:
                    raise ValueError(f"no value lies between the lower bound {low} and the upper bound {high}")
            return self

    def columns(self) -> tuple[str, ...]:
        return (self.params.column,)

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        values = _numeric_column(table, self.params.column, self.name)
        p = self.params
        keep = ~np.isnan(values)
        with np.errstate(invalid="ignore"):
            if p.gt is not None:
                keep &= values > p.gt
            if p.ge is not None:
                keep &= values >= p.ge
            if p.lt is not None:
                keep &= values < p.lt
            if p.le is not None:
                keep &= values <= p.le
        return keep


class Values(sc_toolkit.Filter):
    """Keep rows whose ``column`` holds one of ``allowed`` values, or none of ``excluded`` values
    (e.g. ``column = "class", allowed = ["cuprate"]`` selects one superconductor class).

    Values are compared as given (the text "1" differs from the number 1); a missing value (NaN) is
    never allowed and never excluded. Exactly one of ``allowed`` or ``excluded`` is required.
    """

    name: ClassVar[str] = "values"
    example_params: ClassVar[dict[str, Any]] = {"column": "class", "allowed": ["cuprate"]}

    class Params(sc_toolkit.Params):
        column: str = Field("class", description="column whose values are tested")
        allowed: list[str | int | float] | None = Field(None, description="keep only rows with one of these values")
        excluded: list[str | int | float] | None = Field(None, description="drop rows with one of these values")

        @model_validator(mode="after")
        def _one_list(self):
            if (self.allowed is None) == (self.excluded is None):
                raise ValueError("give exactly one of 'allowed' or 'excluded'")
            return self

    def columns(self) -> tuple[str, ...]:
        return (self.params.column,)

    def keep(self, table: pd.DataFrame, *, run=None) -> np.ndarray:
        column = self.params.column
        if column not in table.columns:
            raise UserError(
                f"filter 'values' reads column '{column}', which the table does not have",
                hint=did_you_mean(column, map(str, table.columns)),
            )
        values = table[column]
        if self.params.allowed is not None:
            return values.isin(self.params.allowed).to_numpy()
        return ~values.isin(self.params.excluded).to_numpy()

    def provenance(self) -> dict[str, Any]:
        return self.params.model_dump()
