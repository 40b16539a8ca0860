"""The sc-toolkit hooks of sctk-composition: its encoders and filters (imports no heavy library)."""

from sc_toolkit import hookimpl

from .adjusted_onehot import LimMatrix, ScganOnehot
from .element_fractions import ElementFractions
from .hamidieh import HamidiehStatistics
from .filters import Elements, Novel, Threshold, Unique, Values
from .magpie import Magpie
from .site_valence import SiteValence
from .smact_valid import SmactValid
from .stable import Stable


@hookimpl
def register_encoders(register):
    register(ElementFractions)
    register(Magpie)
    register(HamidiehStatistics)
    register(SiteValence)
    register(ScganOnehot)
    register(LimMatrix)


@hookimpl
def register_filters(register):
    for cls in (SmactValid, Novel, Unique, Elements, Threshold, Values, Stable):
        register(cls)
