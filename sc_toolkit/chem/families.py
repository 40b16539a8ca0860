"""Superconductor families from composition alone, by documented element rules.

The rules look only at which elements are present (amount > 0), never at structure or doping:

- ``cuprate``: contains Cu and O.
- ``iron-based``: contains Fe and at least one of As, P (pnictides), S, Se, Te (chalcogenides).
- ``other``: everything else (conventional, heavy-fermion, MgB2, hydrides, nickelates, ...).

``scheme`` decides what happens when a composition holds both Cu and Fe:

- ``"scgan"`` (Kim & Dordevic's ScGAN classes): cuprate / iron-based / other; a composition that
  matches both rules counts as ``cuprate`` (the Cu-O rule is checked first).
- ``"lim"`` (Lim's conditional WGAN classes): cuprate / iron-based / both / other, where ``both``
  is a composition with Cu *and* Fe that matches either rule: Fe-substituted cuprates
  (YBa2Cu2.9Fe0.1O7) and Cu-substituted iron pnictides / chalcogenides (BaFe1.9Cu0.1As2), as well as
  intergrowths that match both rules (Sr2CuO2Fe2As2). Lim's slides name the four classes ("Both":
  "mixture of cuprate & iron pnictides/chalcogenides") without rules; requiring both rules at once
  would leave "both" empty on SuperCon (no SuperCon formula has Cu, O, Fe and a pnictogen or
  chalcogen), while Lim trained and sampled a "both" class, so this reading is ours.

These rules are deliberately crude: a Cu-O containing non-cuprate (e.g. a Cu-doped oxide) counts as a
cuprate, and Ni-based pnictides count as 'other'. They reproduce the way the papers label training
data, not a chemist's judgement.
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError, did_you_mean
from .compositions import as_compositions
from .elements import INDEX

#: Class names each scheme can return, in a fixed order.
SCHEMES: dict[str, tuple[str, ...]] = {
    "scgan": ("cuprate", "iron-based", "other"),
    "lim": ("cuprate", "iron-based", "both", "other"),
}

_IRON_PARTNERS = [INDEX[s] for s in ("As", "P", "S", "Se", "Te")]


def superconductor_class(compositions, *, scheme: str = "scgan") -> np.ndarray:
    """Family of each composition as a string array (see the module docstring for the rules).

    ``compositions`` is a :class:`~sc_toolkit.chem.Compositions`, a sequence of formulas or a table
    with a ``formula`` column. Vectorised over the amounts matrix.
    """
    if scheme not in SCHEMES:
        raise UserError(f"unknown superconductor class scheme '{scheme}'", hint=did_you_mean(scheme, SCHEMES))
    present = as_compositions(compositions).amounts > 0
    cuprate = present[:, INDEX["Cu"]] & present[:, INDEX["O"]]
    iron = present[:, INDEX["Fe"]] & present[:, _IRON_PARTNERS].any(axis=1)
    classes = np.full(len(present), "other", dtype="<U10")
    classes[iron] = "iron-based"
    classes[cuprate] = "cuprate"
    if scheme == "lim":
        classes[(cuprate | iron) & present[:, INDEX["Cu"]] & present[:, INDEX["Fe"]]] = "both"
    return classes


__all__ = ["SCHEMES", "superconductor_class"]
