"""Magpie composition features (Ward et al. 2016), computed with numpy from matminer's data files."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import sc_toolkit
from sc_toolkit import N_ELEMENTS, SYMBOLS, as_compositions

from .site_valence import SiteValence

#: The 22 element properties of matminer's ``ElementProperty.from_preset("magpie")``, in its order.
PROPERTIES = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row", "CovalentRadius",
    "Electronegativity", "NsValence", "NpValence", "NdValence", "NfValence", "NValence", "NsUnfilled",
    "NpUnfilled", "NdUnfilled", "NfUnfilled", "NUnfilled", "GSvolume_pa", "GSbandgap", "GSmagmom",
    "SpaceGroupNumber",
)  # fmt: skip
STATISTICS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
#: Last atomic number (Cm) of the element fractions appended with ``append_fractions``.
FRACTIONS_MAX_Z = 96
#: Rows featurised at once (bounds the (rows, elements, properties) work arrays).
CHUNK = 20_000


class Magpie(sc_toolkit.Encoder):
    """The 132 Magpie features: 22 element properties x (minimum, maximum, range, mean, avg_dev, mode).

    Numerically identical to matminer 0.10's ``ElementProperty.from_preset("magpie", impute_nan=...)``
    and labelled as it labels them ('MagpieData mean Number', ...), computed for all rows at once:

    - minimum, maximum, range: over the elements present; NaN when any present element lacks the
      property;
    - mean, avg_dev: weighted by the amounts (mean absolute deviation from the weighted mean);
    - mode: the property of the most abundant element; on a tie (amounts equal within numpy's
      ``isclose`` defaults) the smallest of the tied values.

    With ``impute_nan`` a missing element property is replaced by that property's mean over the
    elements that have it, so no feature is NaN; without it, features touching a missing property
    are NaN (e.g. GSmagmom or GSbandgap of some heavy elements).

    With ``append_fractions`` the atomic fractions of H..Cm (Z <= 96, the ``element-fractions``
    encoding) follow the 132 features as 96 more columns labelled ``frac_<El>``; a formula holding
    an element beyond Cm is then a UserError. Boosted trees on both sets beat either set alone in
    ``benchmarks/composition_uci_hamidieh.py``. With ``append_site_valence`` the three columns of the
    ``site-valence`` encoder (nominal Cu and Fe valence, Presland's cuprate dome) come last.
    """

    name: ClassVar[str] = "magpie"
    requires: ClassVar[tuple[str, ...]] = ("matminer",)

    class Params(sc_toolkit.Params):
        impute_nan: bool = Field(
            True,
            description="replace missing element properties by the property's mean over elements "
            "(True, matminer 0.10's default) or leave NaN features (False)",
        )
        append_fractions: bool = Field(
            False,
            description="append the atomic fractions of H..Cm (Z <= 96) after the 132 Magpie features, "
            "labelled 'frac_<El>' (228 columns; an element beyond Cm is an error)",
        )
        append_site_valence: bool = Field(
            False,
            description="append the site-valence encoder's 3 columns (nominal Cu and Fe valence by charge "
            "balance, Presland's cuprate dome; NaN where the site is absent) after everything else",
        )

    def encode(self, materials) -> np.ndarray:
        """Features, shape (n_materials, 132), plus 96 columns with ``append_fractions`` and 3 with
        ``append_site_valence``; the Magpie part of a row with no element is all NaN (its fractions
        are 0)."""
        compositions = as_compositions(materials)
        amounts = compositions.amounts
        table = element_table(self.params.impute_nan)
        features = np.concatenate(
            [_features(amounts[i : i + CHUNK], table) for i in range(0, len(amounts), CHUNK)]
            or [np.empty((0, len(PROPERTIES) * len(STATISTICS)))]
        )
        parts = [features]
        if self.params.append_fractions:
            from .element_fractions import ElementFractions  # same fractions and error as that encoder

            parts.append(ElementFractions(max_z=FRACTIONS_MAX_Z).encode(compositions))
        if self.params.append_site_valence:
            parts.append(SiteValence().encode(compositions))
        return np.concatenate(parts, axis=1)

    def feature_labels(self) -> list[str]:
        """matminer's labels: 'MagpieData {statistic} {property}', property-major; then
        'frac_H' .. 'frac_Cm' with ``append_fractions``; the site-valence labels with
        ``append_site_valence``."""
        labels = [f"MagpieData {stat} {prop}" for prop in PROPERTIES for stat in STATISTICS]
        if self.params.append_fractions:
            labels += [f"frac_{symbol}" for symbol in SYMBOLS[:FRACTIONS_MAX_Z]]
        if self.params.append_site_valence:
            labels += SiteValence.LABELS
        return labels

    def citations(self) -> list[str]:
        return [
            "Ward, Agrawal, Choudhary & Wolverton, A general-purpose machine learning framework for "
            "predicting properties of inorganic materials, npj Comput. Mater. 2, 16028 (2016)",
            MATMINER_CITATION,
        ]

    def provenance(self) -> dict[str, Any]:
        return {
            "matminer": importlib.metadata.version("matminer"),
            "element_data": "matminer/utils/data_files/magpie_elementdata",
            "impute_nan": self.params.impute_nan,
            "append_fractions": self.params.append_fractions,
            "append_site_valence": self.params.append_site_valence,
        }


MATMINER_CITATION = ("Ward et al., Matminer: an open source toolkit for materials data mining, Comput. Mater. "
                     "Sci. 152, 60-69 (2018)")


def _data_dir() -> Path:
    spec = importlib.util.find_spec("matminer")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise sc_toolkit.UserError("the magpie encoder needs matminer's element data", hint="pip install matminer")
    return Path(next(iter(spec.submodule_search_locations))) / "utils" / "data_files" / "magpie_elementdata"


def read_property_tables(properties) -> np.ndarray:
    """matminer's Magpie element data for ``properties`` (file stems), shape (118, len(properties)):
    row z - 1 for atomic number z, read as matminer reads them (unreadable or missing lines NaN)."""
    table = np.full((N_ELEMENTS, len(properties)), np.nan)
    directory = _data_dir()
    for j, prop in enumerate(properties):
        lines = (directory / f"{prop}.table").read_text().splitlines()
        for z, line in enumerate(lines[:N_ELEMENTS]):
            try:
                table[z, j] = float(line)
            except ValueError:
                pass
    return table


def impute_column_means(table: np.ndarray) -> np.ndarray:
    """NaN entries replaced by the mean of their column (matminer's ``impute_nan``)."""
    return np.where(np.isnan(table), np.nanmean(table, axis=0), table)


@lru_cache(maxsize=2)
def element_table(impute_nan: bool) -> np.ndarray:
    """Element properties, shape (118, 22) (see :func:`read_property_tables`), NaN imputed by
    column means when ``impute_nan``."""
    table = read_property_tables(PROPERTIES)
    if impute_nan:
        table = impute_column_means(table)
    table.setflags(write=False)
    return table


def _features(amounts: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Magpie statistics of each row of ``amounts`` (n, 118), shape (n, 132)."""
    present = amounts > 0
    width = max(int(present.sum(axis=1).max(initial=0)), 1)
    # Each row's present elements first: (n, width) element indices, amounts and a validity mask.
    order = np.argsort(~present, axis=1, kind="stable")[:, :width]
    valid = np.take_along_axis(present, order, axis=1)
    weights = np.where(valid, np.take_along_axis(amounts, order, axis=1), 0.0)
    values = table[order]  # (n, width, 22)
    mask = valid[:, :, None]
    minimum = np.where(mask, values, np.inf).min(axis=1)
    maximum = np.where(mask, values, -np.inf).max(axis=1)
    total = weights.sum(axis=1)[:, None]
    w = weights[:, :, None]
    mean = np.where(mask, values * w, 0.0).sum(axis=1) / total
    avg_dev = np.where(mask, np.abs(values - mean[:, None, :]) * w, 0.0).sum(axis=1) / total
    heaviest = weights.max(axis=1, keepdims=True)
    tied = valid & np.isclose(weights, heaviest)
    mode = np.where(tied[:, :, None], values, np.inf).min(axis=1)
    out = np.stack([minimum, maximum, maximum - minimum, mean, avg_dev, mode], axis=2)
    out[~present.any(axis=1)] = np.nan
    return out.reshape(len(amounts), -1)
