"""The element range an encoder covers (H up to some element), shared by the composition encoders."""

from __future__ import annotations

import numpy as np

from sc_toolkit import SYMBOLS, UserError, as_compositions


def amounts_within(materials, n_elements: int, encoder: str) -> np.ndarray:
    """Amounts of the first ``n_elements`` elements as written in each formula; UserError naming
    the first formula that holds a heavier element."""
    compositions = as_compositions(materials)
    beyond = compositions.amounts[:, n_elements:] > 0
    if beyond.any():
        row = int(np.flatnonzero(beyond.any(axis=1))[0])
        extra = [SYMBOLS[n_elements + c] for c in np.flatnonzero(beyond[row])]
        raise UserError(
            f"formula {compositions.formulas[row]!r} (row {row}) holds {', '.join(extra)}, beyond the "
            f"{n_elements} elements H..{SYMBOLS[n_elements - 1]} that {encoder} encodes",
            hint="remove such materials with the 'elements' filter",
        )
    return compositions.amounts[:, :n_elements]
