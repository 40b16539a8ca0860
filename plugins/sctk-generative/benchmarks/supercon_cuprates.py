"""Train wgan-gp on the SuperCon cuprates (Stanev 2018: formula holds Cu and O, Tc > 0) encoded as
96 element fractions; print training speed, sampling speed and how cuprate-like the samples are.

Samples are cleaned like a decoder would (fractions below 0.01 dropped, rows renormalised). Next to
the GAN, a baseline that shuffles every element column independently across the training rows (the
right per-element marginals, no correlations) shows what the metrics give without learning.

    .venv/bin/python plugins/sctk-generative/benchmarks/supercon_cuprates.py --threads 1
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sc_toolkit import Compositions
from sctk_generative.wgan import WGANGP

CU, O = 28, 7  # column of Z = 29 and Z = 8
THRESHOLD = 0.01


def cuprates() -> np.ndarray:
    data_dir = Path(os.environ["SCTK_DATA_DIR"])
    table = pd.read_csv(data_dir / "supercon_stanev2018" / "Supercon_data_by_2018_Stanev.csv")
    compositions, rejected = Compositions.parse(table["name"])
    bad = {r.row for r in rejected}
    tc = table["Tc"].to_numpy(dtype=float)[[i not in bad for i in range(len(table))]]
    fractions = compositions.fractions[:, :96]
    keep = (fractions[:, CU] > 0) & (fractions[:, O] > 0) & (tc > 0)
    X = fractions[keep]
    return (X / X.sum(axis=1, keepdims=True)).astype(np.float32)


def clean(A: np.ndarray) -> np.ndarray:
    A = np.where(A >= THRESHOLD, A, 0)
    return A / np.maximum(A.sum(axis=1, keepdims=True), 1e-12)


def report(label: str, samples: np.ndarray, train: np.ndarray) -> None:
    C, T = clean(samples), clean(train)
    cuprate_like = np.mean((samples[:, CU] > THRESHOLD) & (samples[:, O] > THRESHOLD))
    n_el, n_el_train = (C > 0).sum(axis=1), (T > 0).sum(axis=1)
    train_sets = {frozenset(np.flatnonzero(r)) for r in T}
    seen_set = np.mean([frozenset(np.flatnonzero(r)) in train_sets for r in C])
    keys = [np.round(r, 2).astype(np.float32).tobytes() for r in C]
    train_keys = {np.round(r, 2).astype(np.float32).tobytes() for r in T}
    hist = lambda n: np.bincount(n, minlength=10)[:10] / len(n)  # noqa: E731
    print(
        f"{label}: cuprate-like (Cu and O > {THRESHOLD}) {cuprate_like:.4f}, elements per row "
        f"{n_el.mean():.2f} (training {n_el_train.mean():.2f}), element set seen in training {seen_set:.3f}, "
        f"unique {len(set(keys)) / len(keys):.3f}, novel {np.mean([k not in train_keys for k in keys]):.3f}, "
        f"L1 of mean fractions {np.abs(C.mean(axis=0) - T.mean(axis=0)).sum():.3f}"
    )
    print(f"  elements-per-row histogram 0..9: {np.round(hist(n_el), 3).tolist()}")
    print(f"  training histogram:             {np.round(hist(n_el_train), 3).tolist()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--samples", type=int, default=20_000)
    args = parser.parse_args()

    import torch
    import torch._dynamo  # noqa: F401  (imported by the first optimiser; keep it out of the timing)

    if args.threads:
        torch.set_num_threads(args.threads)
    X = cuprates()
    model = WGANGP(**({"epochs": args.epochs} if args.epochs else {}))
    print(f"{len(X)} cuprates x {X.shape[1]} fractions; {model!r}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {model.provenance()['device']}")

    start = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - start
    epochs = model.params.epochs
    print(f"fit: {fit_s:.1f} s, {epochs / fit_s:.2f} epochs/s; last epoch {model.history_[-1]}")

    for n in (100_000, args.samples):
        start = time.perf_counter()
        samples = model.sample(n, random_state=0)
        sample_s = time.perf_counter() - start
        print(f"sample {n}: {sample_s:.2f} s, {n / sample_s:,.0f} samples/s")

    report("wgan-gp", samples, X)
    rng = np.random.default_rng(0)
    shuffled = np.stack([rng.choice(X[:, j], args.samples) for j in range(X.shape[1])], axis=1)
    report("column-shuffle baseline", shuffled / np.maximum(shuffled.sum(axis=1, keepdims=True), 1e-12), X)


if __name__ == "__main__":
    main()
