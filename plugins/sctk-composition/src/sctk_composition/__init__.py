"""sctk-composition: composition encoders (element fractions, Magpie, Hamidieh's statistics, ScGAN's
and Lim's adjusted one-hot matrices) and candidate filters (SMACT validity, novelty, uniqueness, element rules,
thresholds, value selections, predicted stability)."""

from .adjusted_onehot import LimMatrix, ScganOnehot
from .element_fractions import ElementFractions
from .filters import Elements, Novel, Threshold, Unique, Values
from .hamidieh import HamidiehStatistics
from .magpie import Magpie
from .smact_valid import SmactValid
from .stable import Stable

__all__ = [
    "ElementFractions", "Elements", "HamidiehStatistics", "LimMatrix", "Magpie", "Novel", "ScganOnehot", "SmactValid",
    "Stable", "Threshold", "Unique", "Values",
]  # fmt: skip
