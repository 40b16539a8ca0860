"""How an ScGAN-style generator's soft rows decode: empty and single-element samples, and hedging.

    .venv/bin/python benchmarks/scgan_hedging.py RUN_DIR [--n-samples 5000]

RUN_DIR is a run whose generator is ``wgan-gp`` over ``scgan-onehot`` rows (96 elements x 8 levels,
row 0 = absent). Each element row of a sample is read as shares of its 8 slots (slot / row sum).
Printed: the share of samples decoding (largest slot) to 0, 1, 2, ... elements; the same when an
element counts as present once row 0 holds less than half of its row; and, in the single-element
samples, percentiles of the largest level mass (1 - share of row 0) among the elements decoded as
absent. A high value there means the generator hedged: it put most of an element's mass on the
level rows, spread over several of them, so that row 0 still won the decoding.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    import torch

    import sc_toolkit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator, encoder = sc_toolkit.open_run(args.run).generator
    X = generator.sample(args.n_samples, random_state=args.seed).reshape(-1, *encoder.shape)
    level_mass = 1 - X[..., 0] / np.maximum(X.sum(axis=2), 1e-12)
    decoded = X.argmax(axis=2) > 0
    counts = decoded.sum(axis=1)
    print(f"{args.run}: {len(X)} samples (seed {args.seed}), output '{generator.params.output}'")
    for label, present in (("largest slot", decoded), ("row 0 below half", level_mass > 0.5)):
        shares = np.bincount(present.sum(axis=1), minlength=6)[:6] / len(X)
        print(f"elements per sample, {label}: " + ", ".join(f"{k}: {v:.1%}" for k, v in enumerate(shares)))
    single = counts == 1
    hedged = np.where(decoded, 0.0, level_mass)[single].max(axis=1)
    print(f"single-element samples {single.mean():.1%}; largest level mass of an element decoded as absent in them, "
          f"percentiles 10/50/90: " + " / ".join(f"{v:.2f}" for v in np.percentile(hedged, [10, 50, 90])))


if __name__ == "__main__":
    main()
