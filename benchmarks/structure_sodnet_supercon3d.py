"""SODNet's protocol on SuperCon3D: k-fold CV of ln(Tc) over the sorted CIF list, ours beside the
paper's claim, a Magpie + LightGBM baseline and the training median, on the same folds.

Protocol (SODNet, NeurIPS 2024): the CIF file names are sorted, permuted with a seeded permutation
(``--seed``) and cut into ``--n-splits`` folds (10); each fold is a test set once. Our ``sodnet``
holds out 10 % of the training fold for early stopping, as whole composition groups (reduced
composition keys, so its early stopping never validates on a composition it trains on), and keeps
its best-validation epoch (the test fold is used only to score). The test folds themselves are NOT
grouped by composition (as in the paper), so the same composition can sit on both sides; the
printout says how many test rows share a composition with their training fold.

Claimed: MAE 0.505 (ln K), R2 0.748 (unverified; docs/science.md).

    .venv/bin/python benchmarks/structure_sodnet_supercon3d.py \
        --epochs 300 --folds 10 --device auto        # full run: a GPU
    ... --epochs 2 --folds 1 --device cpu --small     # smoke run on CPU
    ... --folds 1 --device cpu --params '{"layers": 2, "scalars": 32}' --graph '{"cutoff": 5.0}'
                                                      # any sodnet / crystal-graph parameters (JSON)
    ... --folds 10 --device cpu --executor ray --workers 2   # folds as Ray tasks of --threads CPUs each

With ``--executor ray`` the folds are Ray tasks (a local Ray on 127.0.0.1 of ``--workers`` CPUs, or
``RAY_ADDRESS``'s cluster), each holding ``--threads`` CPUs and using as many torch threads; the
results are those of ``--executor local`` (the default: one fold after the other here). A task asks
Ray for no GPU, so ``--device auto`` trains on the CPU there.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

CLAIM = {"mae": 0.505, "r2": 0.748}


def _metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    mae = float(np.abs(y - p).mean())
    r2 = float(1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()) if len(y) > 1 else float("nan")
    return mae, r2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--folds", type=int, default=10, help="folds to run (of --n-splits)")
    parser.add_argument("--n-splits", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-models", type=int, default=1, help="sodnet ensemble members")
    parser.add_argument("--small", action="store_true", help="tiny network and 5 A / 12-neighbour graphs (smoke runs)")
    parser.add_argument("--params", default="{}", help="sodnet parameters as JSON (over --small's)")
    parser.add_argument("--graph", default="{}", help="crystal-graph parameters as JSON (over --small's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="folds one after the other here (local) or as Ray tasks (ray)")
    parser.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray (default: all)")
    args = parser.parse_args()

    import json

    import torch

    torch.set_num_threads(args.threads)
    from sc_toolkit import load_dataset, load_registry, map_tasks, resolve_device, task_executor
    from sctk_crystal.graphs import CrystalGraph

    device = resolve_device(args.device)
    started = time.time()
    table = load_dataset(load_registry().dataset("supercon3d")).table.sort_values("cif_file").reset_index(drop=True)
    order = np.random.default_rng(args.seed).permutation(len(table))
    folds = np.array_split(order, args.n_splits)
    graph_params = {**({"cutoff": 5.0, "max_neighbors": 12} if args.small else {}), **json.loads(args.graph)}
    net_params = {**({"layers": 2, "scalars": 16, "vectors": 4, "tensors": 2} if args.small else {}),
                  **json.loads(args.params)}  # fmt: skip
    encoder = CrystalGraph(**graph_params)
    t0 = time.time()
    graphs = encoder.encode(table)
    encode_s = time.time() - t0
    registry = load_registry()
    magpie = registry.get("encoder", "magpie")()
    features = magpie.fit(table["formula"]).encode(table["formula"])
    y = table["ln_tc"].to_numpy()
    ordered = table["ordered"].to_numpy()
    keys = table["composition_key"].to_numpy()

    print(f"SuperCon3D: {len(table)} structures ({(~ordered).sum()} disordered); {args.n_splits}-fold CV over the "
          f"sorted CIF list, permutation seed {args.seed}; running {args.folds} fold(s)")
    print(f"device {device}, torch {torch.__version__}, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; graphs {encoder.params.model_dump()} built in {encode_s:.0f} s; "
          f"sodnet {net_params} ({args.threads} thread)")
    predictions = {"sodnet": np.full(len(y), np.nan), "magpie+lightgbm": np.full(len(y), np.nan),
                   "median": np.full(len(y), np.nan)}  # fmt: skip
    fit_seconds = []
    data = (graphs, table["tc"].to_numpy(), y, keys, features, order, folds, net_params, args)
    with task_executor(args.executor, workers=args.workers) as tasks:
        for f, (sodnet, boosted, epochs, seconds) in enumerate(
                map_tasks(tasks, _fold, range(args.folds), shared=data, cpus=args.threads)):
            test = folds[f]
            train = np.setdiff1d(order, test)
            fit_seconds.append(seconds)
            predictions["sodnet"][test] = sodnet
            predictions["magpie+lightgbm"][test] = boosted
            predictions["median"][test] = np.median(y[train])
            shared = np.isin(keys[test], keys[train]).mean()
            mae, _ = _metrics(y[test], predictions["sodnet"][test])
            print(f"fold {f}: {len(train)} train / {len(test)} test ({shared:.0%} of test compositions also in train); "
                  f"sodnet {epochs} epochs, {fit_seconds[-1]:.0f} s, test MAE {mae:.3f}")
    done = ~np.isnan(predictions["sodnet"])
    print(f"\nMAE / R2 of ln(Tc / K) over the {done.sum()} test rows of {args.folds} fold(s):")
    print(f"{'model':<18}{'all':>16}{'ordered':>16}{'disordered':>16}")
    for name, p in predictions.items():
        cells = []
        for mask in (done, done & ordered, done & ~ordered):
            mae, r2 = _metrics(y[mask], p[mask])
            cells.append(f"{mae:.3f} / {r2:.3f}")
        print(f"{name:<18}" + "".join(f"{c:>16}" for c in cells))
    claim = f"{CLAIM['mae']:.3f} / {CLAIM['r2']:.3f}"
    print(f"{'SODNet (claimed)':<18}{claim:>16}")
    per_fold = np.mean(fit_seconds)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"\nsodnet fit: {per_fold:.0f} s per fold at {args.epochs} epochs x {args.n_models} member(s) on {device}; "
          f"a full {args.n_splits}-fold run at this setting: ~{per_fold * args.n_splits / 60:.0f} min "
          f"(+ graphs {encode_s:.0f} s). Total here {time.time() - started:.0f} s.")


def _fold(f: int, data: tuple, run=None) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Fold ``f``: (sodnet's ln Tc of its test rows, Magpie + LightGBM's, sodnet's epochs, fit seconds)."""
    from sc_toolkit import load_registry
    from sctk_crystal.sodnet import SODNet

    graphs, tc, y, keys, features, order, folds, net_params, args = data
    test = folds[f]
    train = np.setdiff1d(order, test)
    t0 = time.time()
    model = SODNet(net_params, epochs=args.epochs, n_models=args.n_models, device=args.device, seed=args.seed + f)
    model.fit([graphs[i] for i in train], tc[train], groups=keys[train])
    seconds = time.time() - t0
    sodnet = np.log(model.predict([graphs[i] for i in test]))
    booster = load_registry().get("predictor", "lightgbm")(n_models=1, random_state=args.seed).fit(features[train], y[train])
    return sodnet, booster.predict(features[test]), model.histories_[0]["epochs"], seconds


if __name__ == "__main__":
    main()
