"""Chemical formulas: parsing, formatting and reduction.

The parser reads what chemists write in tables such as SuperCon: element symbols with integer or
decimal amounts, nested groups in ``()`` or ``[]`` with a multiplier (``Ba(Fe0.9Co0.1)2As2``).
It never guesses: anything else (SuperCon's ``-X`` / ``+Y`` oxygen markers, stray characters,
unknown symbols) raises :class:`~sc_toolkit.errors.FormulaError` with the reason, so that a
dataset loader can report the row and skip it.

Amounts are written with the ASCII digits ``0-9`` only: other Unicode digits (Arabic-Indic ``٣``,
full-width ``２``, superscripts) and full-width letters are refused, naming the character, rather
than read as numbers. Every amount is finite and at most :data:`MAX_AMOUNT`: a written amount, or an
element's amount once brackets are multiplied out (``(Cu1000)2000``), above it is refused as a
typo; so is a number too long to be represented (``Cu`` followed by 400 nines).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping

from ..errors import FormulaError
from .elements import ELECTRONEGATIVITY, INDEX

#: Largest amount of one element in one formula, written or after multiplying out brackets. Real
#: formula units hold at most a few thousand atoms of an element (large supercells, polymers); a
#: larger number is a typo or an overflow, which would turn into infinite or NaN features.
MAX_AMOUNT = 1e6

_TOKEN = re.compile(r"([A-Z][a-z]?)|([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)|([(\[])|([)\]])|(\s+)")
_CLOSE_FOR = {"(": ")", "[": "]"}


def parse_formula(formula: str) -> dict[str, float]:
    """Amount of each element in ``formula`` (order of first appearance, amounts summed).

    Raises FormulaError naming the position and the reason when the text is not a formula: an
    unknown symbol or character, a non-ASCII digit, unbalanced brackets, or an amount that is not
    finite or exceeds :data:`MAX_AMOUNT` (see the module docstring). Every returned amount is
    finite, positive and at most :data:`MAX_AMOUNT`.
    """
    if not isinstance(formula, str):
        raise FormulaError(
            f"a formula must be text, got {type(formula).__name__} {repr(formula)[:60]}",
            hint="give a formula such as 'YBa2Cu3O7'",
        )
    if not formula.strip():
        raise FormulaError("empty formula", hint="give a formula such as 'YBa2Cu3O7'")
    stack: list[dict[str, float]] = [{}]
    openers: list[str] = []
    pos = 0
    last_group: dict[str, float] | None = None
    last_symbol: str | None = None
    while pos < len(formula):
        match = _TOKEN.match(formula, pos)
        if match is None:
            raise _unexpected(formula, pos)
        symbol, number, opener, closer, _space = match.groups()
        if symbol:
            if symbol not in INDEX:
                raise FormulaError(f"unknown element {symbol!r} in {_short(formula)}", hint=_hint_for(symbol))
            stack[-1][symbol] = stack[-1].get(symbol, 0.0) + 1.0
            _check_amount(stack[-1][symbol], symbol, formula)
            last_symbol, last_group = symbol, None
        elif number:
            value = float(number)
            shown = number if len(number) <= 20 else f"{number[:12]}... ({len(number)} digits)"
            if not value <= MAX_AMOUNT:  # also catches inf from a number too long to represent
                raise FormulaError(
                    f"amount {shown} at position {pos + 1} exceeds {MAX_AMOUNT:g} in {_short(formula)}",
                    hint="check the formula for a typo; amounts are atoms per formula unit",
                )
            if last_symbol is not None:
                stack[-1][last_symbol] += value - 1.0
                _check_amount(stack[-1][last_symbol], last_symbol, formula)
            elif last_group is not None:
                for element, amount in last_group.items():
                    stack[-1][element] = stack[-1].get(element, 0.0) + amount * (value - 1.0)
                    _check_amount(stack[-1][element], element, formula)
            else:
                raise FormulaError(
                    f"amount {shown!r} at position {pos + 1} follows no element in {_short(formula)}",
                    hint="write amounts after the element or bracket they multiply",
                )
            last_symbol, last_group = None, None
        elif opener:
            stack.append({})
            openers.append(opener)
            last_symbol, last_group = None, None
        elif closer:
            if not openers or _CLOSE_FOR[openers[-1]] != closer:
                raise FormulaError(f"unbalanced {closer!r} at position {pos + 1} in {_short(formula)}")
            openers.pop()
            group = stack.pop()
            for element, amount in group.items():
                stack[-1][element] = stack[-1].get(element, 0.0) + amount
                _check_amount(stack[-1][element], element, formula)
            last_symbol, last_group = None, group
        pos = match.end()
    if openers:
        raise FormulaError(f"unclosed {openers[-1]!r} in {_short(formula)}")
    amounts = {element: amount for element, amount in stack[0].items() if amount != 0.0}
    if not amounts:
        raise FormulaError(f"no element with a non-zero amount in {_short(formula)}")
    return amounts


def _short(formula: str) -> str:
    return repr(formula) if len(formula) <= 80 else repr(formula[:60] + "...") + f" ({len(formula)} characters)"


def _check_amount(amount: float, symbol: str, formula: str) -> None:
    if not amount <= MAX_AMOUNT:
        raise FormulaError(
            f"amount of {symbol} exceeds {MAX_AMOUNT:g} in {_short(formula)}",
            hint="check the formula for a typo; amounts are atoms per formula unit",
        )


def _unexpected(formula: str, pos: int) -> FormulaError:
    char = formula[pos]
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    where = f"at position {pos + 1} in {_short(formula)}"
    if char.isdigit():
        return FormulaError(
            f"non-ASCII digit {char!r} ({name}) {where}",
            hint="write amounts with the ASCII digits 0-9",
        )
    if not char.isascii():
        return FormulaError(
            f"unexpected character {char!r} ({name}) {where}",
            hint="a formula holds ASCII element symbols, digits 0-9 and brackets only",
        )
    return FormulaError(
        f"unexpected character {char!r} {where}",
        hint="a formula holds element symbols, amounts and brackets only",
    )


def _hint_for(symbol: str) -> str:
    if symbol in ("D", "T"):
        return f"'{symbol}' marks a hydrogen isotope; write 'H' if the isotope does not matter"
    return "element symbols are case-sensitive, e.g. 'Co' (cobalt) vs 'CO'"


def _format_amount(amount: float, decimals: int) -> str:
    if abs(amount - 1.0) < 10.0**-decimals / 2:
        return ""
    text = f"{amount:.{decimals}f}".rstrip("0").rstrip(".")
    return text


def ordered(symbols: Iterable[str]) -> list[str]:
    """Symbols ordered as in conventional formulas: increasing electronegativity, then symbol."""

    def key(symbol: str) -> tuple[float, str]:
        x = ELECTRONEGATIVITY[INDEX[symbol]]
        return (x if not math.isnan(x) else math.inf, symbol)

    return sorted(symbols, key=key)


def format_formula(amounts: Mapping[str, float], *, decimals: int = 6) -> str:
    """Formula text of ``amounts`` in conventional element order; amounts of 1 are left out."""
    return "".join(symbol + _format_amount(amounts[symbol], decimals) for symbol in ordered(amounts))


def reduced_amounts(amounts: Mapping[str, float], *, tolerance: float = 1e-6) -> dict[str, float]:
    """Amounts divided by their greatest common divisor when all are integers; unchanged otherwise.

    This is pymatgen's convention for reduced formulas: 'Y2Ba4Cu6O14' -> 'Ba2YCu3O7', while a doped
    formula such as 'La1.85Sr0.15CuO4' keeps its amounts.
    """
    values = list(amounts.values())
    if not all(abs(v - round(v)) < tolerance for v in values):
        return dict(amounts)
    divisor = math.gcd(*(int(round(v)) for v in values))
    return {symbol: round(v) / divisor for symbol, v in amounts.items()}


def reduced_formula(formula_or_amounts: str | Mapping[str, float]) -> str:
    """Reduced formula (see :func:`reduced_amounts`) in conventional element order."""
    amounts = (
        parse_formula(formula_or_amounts) if isinstance(formula_or_amounts, str) else formula_or_amounts
    )
    return format_formula(reduced_amounts(amounts))


def composition_key(amounts: Mapping[str, float], *, decimals: int = 4) -> str:
    """Identity of a composition, independent of formula units: atomic fractions rounded to
    ``decimals``, elements by atomic number ('Ba0.1538 Cu0.2308 ...' for YBa2Cu3O7 and Y2Ba4Cu6O14).

    Two formulas are the same material for novelty, uniqueness and grouped splits when their keys
    are equal.
    """
    total = sum(amounts.values())
    parts = sorted((INDEX[s], s, a / total) for s, a in amounts.items())
    return " ".join(f"{s}{f:.{decimals}f}" for _, s, f in parts)

