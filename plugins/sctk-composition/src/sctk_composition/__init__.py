"""sctk-composition: composition encoders (element fractions, Magpie) and candidate filters
(SMACT validity, novelty, uniqueness, element rules, thresholds, value selections)."""

from .element_fractions import ElementFractions
from .filters import Elements, Novel, Threshold, Unique, Values
from .magpie import Magpie
from .smact_valid import SmactValid

__all__ = ["ElementFractions", "Elements", "Magpie", "Novel", "SmactValid", "Threshold", "Unique", "Values"]
