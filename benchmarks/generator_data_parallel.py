"""wgan-gp trained by 2 data-parallel processes (Gloo, CPU) against 1: loss curves and wall times.

    nice -n 10 .venv/bin/python benchmarks/generator_data_parallel.py [--epochs 100] [--processes 2]

Data and settings are those of ``recipes/cuprate_gan.toml --quick``: SuperCon (``supercon``), its
3,000-row sample (seed 7, the recipe's seed), then Tc > 0, class cuprate and no oxygen marker,
encoded with ``scgan-onehot``; ``wgan-gp`` with the recipe's --quick parameters (noise 128, hidden
[128, 128], batch 32, adjusted-onehot output, RMSProp at lr 1e-4, 5 critic steps, seed 7) but
``--epochs`` epochs (--quick: 60).
The whole machine's torch threads (at most 2) go to the one process, one thread each to the two.
Printed: per loss column, the largest absolute difference from the 1-process curve over the first
10 epochs and over all of them, for the 2-process training; for 1 process on 1 torch thread (the
same math, other rounding: what rounding alone grows into); and, as the scale of what differs
between two trainings, for 1 process with another seed (8). Then, for the 2-process and the
1-thread curves, the first epoch where they differ by more than 1e-4 of a curve's range; and each
training's wall time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sc_toolkit import load_dataset, load_registry

PARAMS = dict(batch_size=32, noise_dim=128, hidden=[128, 128], output="adjusted-onehot", optimizer="rmsprop",
              learning_rate=1e-4, device="cpu")


def cuprate_rows(registry) -> np.ndarray:
    table = load_dataset(registry.dataset("supercon")).table
    table = table.sample(3000, random_state=7)
    table = table[(table["tc"] > 0) & (table["class"] == "cuprate") & (table["oxygen_marker"] == "")]
    encoder = registry.get("encoder", "scgan-onehot")()
    return encoder.fit(table).encode(table)


def train(registry, X, epochs: int, processes: int, seed: int, threads: int):
    import torch

    generator = registry.get("generator", "wgan-gp")(epochs=epochs, processes=processes, seed=seed, **PARAMS)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    generator.fit(X)
    seconds = time.perf_counter() - start
    torch.set_num_threads(before)
    return generator.history_, seconds


def first_beyond(deviation: np.ndarray, spread: float) -> int | None:
    beyond = np.flatnonzero(deviation > 1e-4 * spread)
    return int(beyond[0]) + 1 if len(beyond) else None


def curve(history, column) -> np.ndarray:
    return np.array([row[column] for row in history])


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    registry = load_registry()
    X = cuprate_rows(registry)
    print(f"{len(X)} cuprate rows of shape {X.shape[1:]}; torch {torch.__version__}, {args.epochs} epochs, "
          f"{torch.get_num_threads()} torch threads in all")
    threads = torch.get_num_threads()
    runs = {
        "1 process": train(registry, X, args.epochs, 1, 7, threads),
        f"{args.processes} processes": train(registry, X, args.epochs, args.processes, 7, threads),
        "1 process, 1 thread": train(registry, X, args.epochs, 1, 7, 1),
        "1 process, seed 8": train(registry, X, args.epochs, 1, 8, threads),
    }
    reference, reference_s = runs.pop("1 process")
    print(f"largest |difference| from the 1-process curve (seed 7, {threads} threads), first 10 epochs / all:")
    print(f"{'loss':>18} {'range':>7}" + "".join(f"{name:>26}" for name in runs))
    firsts = {name: [] for name in runs}
    for column in [key for key in reference[0] if key != "epoch"]:
        a = curve(reference, column)
        spread = a.max() - a.min()
        cells = ""
        for name, (history, _) in runs.items():
            deviation = np.abs(curve(history, column) - a)
            cells += f"{deviation[:10].max():>15.2g} / {deviation.max():<8.3g}"
            firsts[name].append(first_beyond(deviation, spread))
        print(f"{column:>18} {spread:7.3g}{cells}")
    for name in list(runs)[:2]:
        found = [epoch for epoch in firsts[name] if epoch is not None]
        print(f"{name}: first epoch more than 1e-4 of a range away: {min(found) if found else 'none'}")
    print(f"wall time: 1 process {reference_s:.1f} s, " + ", ".join(f"{name} {seconds:.1f} s" for name, (_, seconds) in runs.items())
          + " (start-up of the processes included)")


if __name__ == "__main__":
    main()
