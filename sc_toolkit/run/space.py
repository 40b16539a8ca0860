"""A composition space to screen: every composition of some elements with small integer amounts
(``sctk screen RUN_DIR --elements Y,Ba,Cu,O --max-amount 7``), enumerated lazily so that a space of
any size costs the memory of one batch.

For each set of ``min_elements`` to ``max_elements`` of the elements, every amount vector in
1..``max_amount`` whose amounts share no common divisor is one composition (Y1Ba2Cu3O7; Y2Ba4Cu6O14 is
the same composition and is not repeated). The formulas come in a fixed order: element sets by size,
then in the order the elements were given, amounts in lexicographic order.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations, islice, product
from math import comb, gcd

import pandas as pd

from ..chem import SYMBOLS
from ..errors import UserError


def check_space(elements: list[str], max_amount: int, min_elements: int, max_elements: int | None) -> int:
    """The largest number of elements per composition; UserError naming the problem otherwise."""
    unknown = [e for e in elements if e not in SYMBOLS]
    if unknown or not elements:
        raise UserError(f"--elements: {', '.join(unknown) or 'none given'} is not a list of element symbols",
                        hint="give symbols separated by commas, e.g. --elements Y,Ba,Cu,O")
    if len(set(elements)) < len(elements):
        raise UserError("--elements names an element twice", hint="give each element once")
    top = len(elements) if max_elements is None else max_elements
    if max_amount < 1 or not 1 <= min_elements <= top <= len(elements):
        raise UserError(f"no composition has {min_elements} to {top} of {len(elements)} elements with amounts "
                        f"1 to {max_amount}", hint="check --min-elements, --max-elements and --max-amount")
    return top


def space_size(n_elements: int, max_amount: int, min_elements: int, max_elements: int) -> int:
    """Formulas the space holds at most (amount vectors before removing common divisors)."""
    return sum(comb(n_elements, k) * max_amount ** k for k in range(min_elements, max_elements + 1))


def space_formulas(elements: list[str], max_amount: int, min_elements: int = 1,
                   max_elements: int | None = None) -> Iterator[str]:
    """Every composition of the space as a formula, each once (see the module's docstring)."""
    top = check_space(elements, max_amount, min_elements, max_elements)
    for k in range(min_elements, top + 1):
        for subset in combinations(elements, k):
            for amounts in product(range(1, max_amount + 1), repeat=k):
                if gcd(*amounts) == 1:
                    yield "".join(f"{e}{a}" for e, a in zip(subset, amounts))


def space_chunks(formulas: Iterator[str], chunk_size: int) -> Iterator[pd.DataFrame]:
    """The formulas ``chunk_size`` at a time, as tables with a 'formula' column."""
    while chunk := list(islice(formulas, chunk_size)):
        yield pd.DataFrame({"formula": chunk})
