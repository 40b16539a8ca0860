"""Hamidieh's composition statistics (Comput. Mater. Sci. 154, 2018): the 81 features of the UCI
superconductivity table, recomputed with numpy from matminer's Magpie element data."""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

import sc_toolkit
from sc_toolkit import as_compositions

from .magpie import CHUNK, MATMINER_CITATION, impute_column_means, read_property_tables

#: Hamidieh's 8 element properties: (matminer magpie_elementdata table, label as in his train.csv).
PROPERTIES = (
    ("AtomicWeight", "atomic_mass"),
    ("FirstIonizationEnergy", "fie"),
    ("AtomicRadius", "atomic_radius"),
    ("Density", "Density"),
    ("ElectronAffinity", "ElectronAffinity"),
    ("FusionEnthalpy", "FusionHeat"),
    ("ThermalConductivity", "ThermalConductivity"),
    ("NValence", "Valence"),
)
#: The 10 statistics, in the order of the features of each property (prefixes of train.csv).
STATISTICS = (
    "mean", "wtd_mean", "gmean", "wtd_gmean", "entropy", "wtd_entropy", "range", "wtd_range", "std", "wtd_std",
)  # fmt: skip


class HamidiehStatistics(sc_toolkit.Encoder):
    """Hamidieh's 81 features: the number of elements, then 8 element properties x 10 statistics.

    With t_i the property of element i present in the formula, p_i its atomic fraction, n the
    number of elements, w_i = t_i / sum(t), A_i = p_i w_i / sum(p w) (Hamidieh 2018, Table 2):
    mean = sum(t) / n; wtd_mean = sum(p t); gmean = prod(t)^(1/n); wtd_gmean = prod(t^p);
    entropy = -sum(w ln w); wtd_entropy = -sum(A ln A); range = max(t) - min(t);
    wtd_range = max(p t) - min(p t); std = sqrt(sum((t - mean)^2) / n);
    wtd_std = sqrt(sum(p (t - wtd_mean)^2)). 0 ln 0 is 0; a geometric mean with a zero property
    (electron affinity of some elements) is 0; an entropy whose property sum is 0 is 0.

    Properties (atomic mass, first ionisation energy, atomic radius, density, electron affinity,
    fusion heat, thermal conductivity, valence) come from matminer's ``magpie_elementdata``
    tables; an element missing a property takes that property's mean over the elements that have
    it (Hamidieh took his values from other sources, so figures differ slightly from his
    ``train.csv``). Columns are labelled as in that file ('number_of_elements',
    'wtd_gmean_atomic_mass', ...), property-major. A row with no element is all NaN.
    """

    name: ClassVar[str] = "hamidieh"
    requires: ClassVar[tuple[str, ...]] = ("matminer",)

    class Params(sc_toolkit.Params):
        pass

    def encode(self, materials) -> np.ndarray:
        """Features, shape (n_materials, 81)."""
        amounts = as_compositions(materials).amounts
        table = element_table()
        return np.concatenate(
            [_features(amounts[i : i + CHUNK], table) for i in range(0, len(amounts), CHUNK)]
            or [np.empty((0, 1 + len(PROPERTIES) * len(STATISTICS)))]
        )

    def feature_labels(self) -> list[str]:
        """'number_of_elements', then '{statistic}_{property}' as in Hamidieh's train.csv."""
        return ["number_of_elements"] + [f"{stat}_{label}" for _, label in PROPERTIES for stat in STATISTICS]

    def citations(self) -> list[str]:
        return [
            "Hamidieh, A data-driven statistical model for predicting the critical temperature of a "
            "superconductor, Comput. Mater. Sci. 154, 346-354 (2018)",
            MATMINER_CITATION,
        ]

    def provenance(self) -> dict[str, Any]:
        return {
            "matminer": importlib.metadata.version("matminer"),
            "element_data": "matminer/utils/data_files/magpie_elementdata",
            "properties": [table for table, _ in PROPERTIES],
        }


@lru_cache(maxsize=1)
def element_table() -> np.ndarray:
    """Hamidieh's properties, shape (118, 8): row z - 1 for atomic number z; missing values are
    the property's mean over the elements that have it."""
    table = impute_column_means(read_property_tables([prop for prop, _ in PROPERTIES]))
    table.setflags(write=False)
    return table


def _features(amounts: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The 81 features of each row of ``amounts`` (n, 118)."""
    present = amounts > 0
    width = max(int(present.sum(axis=1).max(initial=0)), 1)
    order = np.argsort(~present, axis=1, kind="stable")[:, :width]  # present elements first
    valid = np.take_along_axis(present, order, axis=1)[:, :, None]
    weights = np.where(valid[:, :, 0], np.take_along_axis(amounts, order, axis=1), 0.0)
    n = valid.sum(axis=1).astype(float)  # (rows, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (weights / weights.sum(axis=1, keepdims=True))[:, :, None]  # atomic fractions, 0 if absent
        t = np.where(valid, table[order], 0.0)  # (rows, width, 8)
        log_t = np.where(valid, np.log(t), 0.0)  # -inf for a zero property
        mean = t.sum(axis=1) / n
        wtd_mean = (p * t).sum(axis=1)
        gmean = np.exp(log_t.sum(axis=1) / n)
        wtd_gmean = np.exp(np.where(p > 0, p * log_t, 0.0).sum(axis=1))
        w = _share(t)
        a = _share(p * w)
        entropy, wtd_entropy = _entropy(w), _entropy(a)
        pt = p * t
        spread = lambda x: np.where(valid, x, -np.inf).max(axis=1) - np.where(valid, x, np.inf).min(axis=1)  # noqa: E731
        std = np.sqrt(np.where(valid, (t - mean[:, None]) ** 2, 0.0).sum(axis=1) / n)
        wtd_std = np.sqrt((p * (t - wtd_mean[:, None]) ** 2).sum(axis=1))
    stats = np.stack(
        [mean, wtd_mean, gmean, wtd_gmean, entropy, wtd_entropy, spread(t), spread(pt), std, wtd_std], axis=2
    ).reshape(len(amounts), -1)
    out = np.concatenate([n, stats], axis=1)
    out[~present.any(axis=1)] = np.nan
    return out


def _share(x: np.ndarray) -> np.ndarray:
    """``x`` over its sum along the elements axis; 0 where the sum is 0."""
    total = x.sum(axis=1, keepdims=True)
    return np.divide(x, total, out=np.zeros_like(x), where=total > 0)


def _entropy(share: np.ndarray) -> np.ndarray:
    """-sum(s ln s) along the elements axis, with 0 ln 0 = 0."""
    return 0.0 - np.where(share > 0, share * np.log(np.where(share > 0, share, 1.0)), 0.0).sum(axis=1)
