"""CHGNet relaxation (the ``chgnet`` relaxer, default settings) on this CPU: wall-clock and CPU time
per structure for an 8-atom and a 40-atom cell, and CHGNet formation energies of simple binaries beside Materials
Project's (mp-e-form, the lowest MP value for that composition).

Cells: conventional rock-salt NaCl (8 atoms) and a 2x2x2 cubic perovskite SrTiO3 supercell (40
atoms), every atom displaced by a seeded random vector of length 0.1 A; ``--repeats`` seeds each.
The CHGNet model load and the elemental references are timed apart (once per process).

    python benchmarks/relax_timing.py [--repeats 3] [--threads 1] [--no-formation]

Formation energies need ``SCTK_DATA_DIR`` (mp-e-form) for the MP column.
"""

from __future__ import annotations

import argparse
import os
import time
from importlib.metadata import version

import numpy as np
from pymatgen.core import Lattice, Structure

from sc_toolkit import load_dataset, load_registry
from sctk_structure.relax import CHGNetRelaxer

#: (label, space group, a in A, species, fractional sites): experimental prototypes.
BINARIES = [
    ("NaCl rock salt", "Fm-3m", 5.64, ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ("MgO rock salt", "Fm-3m", 4.21, ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ("LiF rock salt", "Fm-3m", 4.03, ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ("NbN rock salt", "Fm-3m", 4.39, ["Nb", "N"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ("TiC rock salt", "Fm-3m", 4.33, ["Ti", "C"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ("CsCl", "Pm-3m", 4.12, ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    ("CaF2 fluorite", "Fm-3m", 5.46, ["Ca", "F"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
    ("Nb3Sn A15", "Pm-3n", 5.29, ["Nb", "Sn"], [[0.25, 0, 0.5], [0, 0, 0]]),
]


def perturbed(structure: Structure, seed: int, distance: float = 0.1) -> Structure:
    out = structure.copy()
    rng = np.random.default_rng(seed)
    for i in range(len(out)):
        vector = rng.normal(size=3)
        out.translate_sites([i], vector / np.linalg.norm(vector) * distance, frac_coords=False)
    return out


def cells() -> dict[str, Structure]:
    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    srtio3 = Structure(Lattice.cubic(3.905), ["Sr", "Ti", "O", "O", "O"],
                       [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]) * (2, 2, 2)
    return {"NaCl (8 atoms)": nacl, "SrTiO3 2x2x2 (40 atoms)": srtio3}


def timing(relaxer: CHGNetRelaxer, repeats: int) -> None:
    print("| cell | atoms | wall s per structure (mean, min-max) | CPU s per structure | steps (mean) | CPU s per step "
          "| accepted |")
    print("|---|---|---|---|---|---|---|")
    for label, structure in cells().items():
        seconds, cpu, steps, accepted = [], [], [], 0
        for seed in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            [outcome] = relaxer.relax([perturbed(structure, seed)])
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            steps.append(outcome.steps)
            accepted += outcome.ok
        print(f"| {label} | {len(structure)} | {np.mean(seconds):.1f} ({min(seconds):.1f}-{max(seconds):.1f}) | "
              f"{np.mean(cpu):.1f} | {np.mean(steps):.0f} | {sum(cpu) / max(sum(steps), 1):.2f} | "
              f"{accepted}/{repeats} |")


def formation(relaxer: CHGNetRelaxer) -> None:
    mp = load_dataset(load_registry().dataset("mp-e-form")).table
    lowest = mp.groupby("reduced_formula")["formation_energy"].min()
    start = time.perf_counter()
    rows = []
    for label, group, a, species, sites in BINARIES:
        [outcome] = relaxer.relax([Structure.from_spacegroup(group, Lattice.cubic(a), species, sites)])
        [e_form] = relaxer.stability([outcome])["e_form_chgnet"]
        formula = outcome.structure.composition.reduced_formula if outcome.ok else "?"
        rows.append((label, formula, e_form, lowest.get(formula, np.nan)))
    print(f"\nformation energies (references and compounds: {time.perf_counter() - start:.0f} s)")
    print("| structure | CHGNet e_form (eV/atom) | MP lowest e_form (eV/atom) | difference |")
    print("|---|---|---|---|")
    for label, formula, ours, theirs in rows:
        print(f"| {label} ({formula}) | {ours:.3f} | {theirs:.3f} | {ours - theirs:+.3f} |")
    differences = np.array([r[2] - r[3] for r in rows])
    print(f"MAE {np.nanmean(np.abs(differences)):.3f} eV/atom over {np.isfinite(differences).sum()} compounds; "
          f"baseline 'e_form = 0' MAE {np.nanmean(np.abs([r[3] for r in rows])):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-formation", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    relaxer = CHGNetRelaxer(device="cpu")
    start = time.perf_counter()
    relaxer.energy_per_atom(cells()["NaCl (8 atoms)"])  # loads the model
    print(f"chgnet {version('chgnet')} model {relaxer.params.model}, ase {version('ase')}, torch {torch.__version__}, "
          f"{args.threads} thread(s), settings {relaxer.params.model_dump()}, load average {os.getloadavg()[0]:.1f}")
    print(f"model load and one energy: {time.perf_counter() - start:.1f} s\n")
    timing(relaxer, args.repeats)
    if not args.no_formation:
        formation(relaxer)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
