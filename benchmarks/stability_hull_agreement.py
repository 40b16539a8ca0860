"""Distance to the convex hull from predicted formation energies, checked on held-out MP compositions.

Held out: the first fold (20 % of the compositions, grouped by composition key) of
``stability_formation_energy.py``, whose out-of-fold predictions (``--save``) this script reads: the
formation-energy model of that fold never saw these compositions. The hull is built from the MP
phases that were kept (optionally with the JARVIS-DFT and OQMD phases of compositions that are not
held out). The "true" e_above_hull of a held-out composition is its MP formation energy against the
hull of the kept MP phases; the predicted one is the model's formation energy against the hull named
in each row. On-hull means e_above_hull <= 0.1 eV/atom (the ``stable`` filter's default).

Reported: precision and recall of "on hull", MAE of e_above_hull, beside the trivial baseline that
calls every composition on-hull (e_above_hull 0), and the DFT energies against the mixed hulls (what
the hull's source alone changes). Then the speed of ``ReferenceHull.e_above_hull`` on 2,000
cuprate-like compositions (SuperCon cuprates with amounts scaled by log-normal noise, sigma 0.1,
rounded to 0.01) against all three sources.

    export SCTK_DATA_DIR=/path/to/data
    uv run python benchmarks/stability_hull_agreement.py --predictions /tmp/mp_oof.npz
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import time

import numpy as np
import pandas as pd

from sc_toolkit import Compositions, ReferenceHull, load_dataset, load_registry, reference_phases

ON_HULL = 0.1  # eV/atom
SOURCES = ["mp-e-form", "jarvis-dft-3d", "oqmd"]


def scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """On-hull precision and recall (positive: e_above_hull <= ON_HULL) and MAE of e_above_hull."""
    t, p = true <= ON_HULL, pred <= ON_HULL
    return {"precision": (t & p).sum() / max(p.sum(), 1), "recall": (t & p).sum() / max(t.sum(), 1),
            "predicted on-hull": p.mean(), "MAE e_hull": np.abs(pred - true).mean()}  # fmt: skip


def cuprate_like(registry, n: int, seed: int) -> Compositions:
    """``n`` SuperCon cuprates drawn with replacement, each amount scaled by exp(N(0, 0.1)), to 0.01."""
    supercon = load_dataset(registry.dataset("supercon")).table
    base = Compositions.from_formulas(supercon.loc[supercon["class"] == "cuprate", "formula"].tolist())
    rng = np.random.default_rng(seed)
    amounts = base.amounts[rng.choice(len(base), n)]
    return Compositions.from_matrix(np.round(amounts * rng.lognormal(0.0, 0.1, size=amounts.shape), 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predictions", required=True, help="npz written by stability_formation_energy.py --save")
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold")
    parser.add_argument("--n-speed", type=int, default=2000, help="cuprate-like compositions timed (0: skip)")
    args = parser.parse_args()
    start = time.time()
    registry = load_registry()
    oof = np.load(args.predictions)
    held = oof["fold"] == args.fold
    keys, y, pred = oof["composition_key"][held], oof["y"][held], oof["pred"][held]
    compositions = Compositions.from_formulas(oof["formula"][held].tolist())

    t0 = time.time()
    phases = reference_phases(registry, SOURCES)
    phases = phases[~phases["composition_key"].isin(set(keys))]
    print(f"reference phases without the {held.sum():,} held-out compositions: "
          f"{phases['source'].value_counts().to_dict()} ({time.time() - t0:.0f} s)", flush=True)  # fmt: skip

    t0 = time.time()
    mp_hull = ReferenceHull(phases[phases["source"] == "mp-e-form"]).hull_energy(compositions)
    print(f"hull of kept MP phases at {len(keys):,} compositions: {time.time() - t0:.0f} s", flush=True)
    true = y - mp_hull
    rows = {
        "predicted e_form, hull of kept MP": scores(true, pred - mp_hull),
        "baseline: every composition on-hull": scores(true, np.zeros_like(true)),
    }
    for combine in ("lowest", "first"):
        t0 = time.time()
        mixed = ReferenceHull(phases, combine=combine).hull_energy(compositions)
        print(f"hull of kept MP + JARVIS + OQMD ({combine}): {time.time() - t0:.0f} s", flush=True)
        rows[f"predicted e_form, hull MP + JARVIS + OQMD ({combine})"] = scores(true, pred - mixed)
        rows[f"MP DFT e_form, hull MP + JARVIS + OQMD ({combine})"] = scores(true, y - mixed)

    print(f"\nHeld-out MP compositions: {len(keys):,} (fold {args.fold} of the grouped CV); on-hull (true "
          f"e_above_hull <= {ON_HULL}): {(true <= ON_HULL).mean():.3f}; formation-energy MAE "
          f"{np.abs(pred - y).mean():.4f} eV/atom")  # fmt: skip
    print(pd.DataFrame(rows).T.round(4).to_string())

    if args.n_speed:
        candidates = cuprate_like(registry, args.n_speed, seed=0)
        t0 = time.time()
        hull = ReferenceHull(reference_phases(registry, SOURCES))
        t1 = time.time()
        hull.e_above_hull(candidates, np.zeros(len(candidates)))
        t2 = time.time()
        hull.e_above_hull(candidates, np.zeros(len(candidates)))
        t3 = time.time()
        n_systems = len(np.unique(candidates.amounts > 0, axis=0))
        print(f"\nspeed: {len(candidates):,} cuprate-like compositions in {n_systems} chemical systems, "
              f"{hull.provenance()['n_phases']:,} reference phases; reference tables read and combined in "
              f"{t1 - t0:.1f} s; e_above_hull {t2 - t1:.1f} s ({1000 * (t2 - t1) / len(candidates):.1f} ms per "
              f"composition), again with the hulls cached {t3 - t2:.2f} s")  # fmt: skip

    names = ("sc-toolkit", "pymatgen", "scipy", "numpy", "pandas")
    print(f"\npython {platform.python_version()}, " + ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names))
    print(f"time {time.time() - start:.0f} s, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
