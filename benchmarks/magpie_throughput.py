"""Magpie featurisation throughput: sctk-composition's numpy encoder vs matminer, on the UCI table.

Builds the 21,263 compositions of Hamidieh's UCI table (element counts, no formula column) from
``$SCTK_DATA_DIR/uci_superconductivity/unique_m_elements_tc.csv``, featurises all of them with the
``magpie`` encoder (best of 3) and a seeded subsample with matminer's
``ElementProperty.from_preset("magpie", impute_nan=True)``, whose rate is extrapolated to the
whole table. Checks that both agree on the subsample, then prints a table.

    .venv/bin/python benchmarks/magpie_throughput.py [--matminer-rows 2000]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sc_toolkit import N_ELEMENTS, Compositions, atomic_number
from sctk_composition import Magpie

DATA_DIR = Path(os.environ["SCTK_DATA_DIR"])
UCI_FILE = DATA_DIR / "uci_superconductivity" / "unique_m_elements_tc.csv"
N_ELEMENT_COLUMNS = 86  # H..Rn; the 87th column is the target (both it and technetium are named 'Tc')


def uci_compositions() -> Compositions:
    """The UCI rows as Compositions, amounts taken from the element-count columns."""
    frame = pd.read_csv(UCI_FILE)
    counts = frame.iloc[:, :N_ELEMENT_COLUMNS]
    symbols = [name.split(".")[0] for name in counts.columns]  # pandas renames the duplicate 'Tc'
    amounts = np.zeros((len(frame), N_ELEMENTS))
    amounts[:, [atomic_number(s) - 1 for s in symbols]] = counts.to_numpy(dtype=float)
    return Compositions.from_matrix(amounts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matminer-rows", type=int, default=2000, help="subsample featurised by matminer")
    args = parser.parse_args()

    compositions = uci_compositions()
    n = len(compositions)
    encoder = Magpie(impute_nan=True)
    encoder.encode(compositions[np.arange(10)])  # reads the element tables once
    ours_seconds = []
    for _ in range(3):
        start = time.perf_counter()
        ours = encoder.encode(compositions)
        ours_seconds.append(time.perf_counter() - start)
    ours_rate = n / min(ours_seconds)

    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    subsample = np.random.default_rng(0).choice(n, size=min(args.matminer_rows, n), replace=False)
    structures = [Composition(d) for d in compositions[subsample].as_dicts()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        featurizer = ElementProperty.from_preset("magpie", impute_nan=True)
        start = time.perf_counter()
        theirs = np.array([featurizer.featurize(c) for c in structures], dtype=float)
        matminer_seconds = time.perf_counter() - start
    matminer_rate = len(subsample) / matminer_seconds
    agree = np.allclose(ours[subsample], theirs, rtol=1e-6, atol=1e-9, equal_nan=True)

    rows = [
        ("sctk magpie (numpy)", n, min(ours_seconds), ours_rate),
        (f"matminer (on {len(subsample):,}, extrapolated)", n, n / matminer_rate, matminer_rate),
    ]
    print(f"Magpie features (132) of the {n:,} UCI compositions, impute_nan=True, one process")
    print(f"{'featuriser':<40} {'rows':>8} {'seconds':>9} {'compositions/s':>15}")
    for label, rows_, seconds, rate in rows:
        print(f"{label:<40} {rows_:>8,} {seconds:>9.2f} {rate:>15,.0f}")
    print(f"speed-up: {ours_rate / matminer_rate:,.0f}x   identical to matminer on the subsample: {agree}")
    versions = {p: importlib.metadata.version(p) for p in ("matminer", "pymatgen", "numpy")}
    print("versions: " + ", ".join(f"{p} {v}" for p, v in versions.items()))


if __name__ == "__main__":
    main()
