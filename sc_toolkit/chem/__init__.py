"""Chemistry shared by the core and every plugin: elements, formulas, batches of compositions."""

from .compositions import Compositions, RejectedFormula, as_compositions
from .elements import N_ELEMENTS, SYMBOLS, atomic_number
from .families import superconductor_class
from .formula import (
    composition_key,
    format_formula,
    ordered,
    parse_formula,
    reduced_amounts,
    reduced_formula,
)

__all__ = [
    "N_ELEMENTS",
    "SYMBOLS",
    "Compositions",
    "RejectedFormula",
    "as_compositions",
    "atomic_number",
    "composition_key",
    "format_formula",
    "ordered",
    "parse_formula",
    "reduced_amounts",
    "reduced_formula",
    "superconductor_class",
]
