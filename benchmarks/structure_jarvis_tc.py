"""JARVIS-Leaderboard dft_3d_Tc_supercon: test MAE of DFT Tc on the public 556/30/30 split, ours beside
the training median (1.51 K), AtomGPT (1.52 K) and ALIGNN (2.03 K) as the leaderboard lists them.

Model: ``alpha2f-ensemble`` (BETE-NET style) on ``crystal-graph`` graphs (mass-weighted one-hot, 4 A
cutoff), trained on the train split only, through the moments of its spectrum (``--train-on
moments``: lambda and omega_log from dft_superconductors.csv) or through Tc (``--train-on tc``);
each member early-stops on its own out-of-bag rows. Tc = Allen-Dynes (mu* 0.10) of the ensemble-mean
spectrum. The leaderboard's val split is scored too; the test split (30 rows) is used only to score,
and is tiny: read its MAE with its bootstrap interval.

    SCTK_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/structure_jarvis_tc.py \
        --epochs 1000 --n-models 10 --device auto          # full run: a GPU
    ... --epochs 2 --n-models 2 --device cpu --small        # smoke run on CPU
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

os.environ.setdefault("SCTK_DATA_DIR", "/work/shared/data")

PEERS = {"median of train (leaderboard)": 1.51, "AtomGPT": 1.52, "CFID": 2.00, "ALIGNN": 2.03, "CGCNN": 2.57}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--n-models", type=int, default=10)
    parser.add_argument("--train-on", choices=["moments", "tc"], default="moments")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help="tiny network, patience (5, 20, 50) (smoke runs)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from sc_toolkit.data import load
    from sc_toolkit.progress import resolve_device
    from sctk_crystal.alpha2f import Alpha2FEnsemble
    from sctk_crystal.graphs import CrystalGraph

    device = resolve_device(args.device)
    started = time.time()
    table = load("jarvis-supercon").table
    table = table[table["spp_split"] != ""].reset_index(drop=True)
    split = table["spp_split"].to_numpy()
    encoder = CrystalGraph(cutoff=4.0, node_features="mass-weighted")
    t0 = time.time()
    graphs = encoder.encode(table)
    encode_s = time.time() - t0
    small = {"layers": 2, "scalars": 16, "vectors": 4, "tensors": 2, "patience_stages": (5, 20, 50)}
    model = Alpha2FEnsemble(small if args.small else {}, epochs=args.epochs, n_models=args.n_models,
                            device=args.device, seed=args.seed)  # fmt: skip
    train = np.nonzero(split == "train")[0]
    target = table.loc[train, ["lambda", "omega_log"]] if args.train_on == "moments" else table["tc"].to_numpy()[train]
    t0 = time.time()
    model.fit([graphs[i] for i in train], target)
    fit_s = time.time() - t0
    tc = table["tc"].to_numpy()
    median = np.median(tc[train])
    print(f"JARVIS supercon_3d leaderboard split: {len(train)} train / {(split == 'val').sum()} val / "
          f"{(split == 'test').sum()} test; device {device}, torch {torch.__version__}, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"alpha2f-ensemble: {args.n_models} member(s), trained on {args.train_on}, epochs run "
          f"{[h['epochs'] for h in model.histories_]}; fit {fit_s:.0f} s, graphs {encode_s:.0f} s")
    rng = np.random.default_rng(args.seed)
    for name in ("val", "test"):
        rows = np.nonzero(split == name)[0]
        moments = model.predict_moments([graphs[i] for i in rows])
        errors = np.abs(moments["tc_allen_dynes"].to_numpy() - tc[rows])
        boot = [errors[rng.integers(0, len(errors), len(errors))].mean() for _ in range(2000)]
        lam_mae = np.abs(moments["lambda"].to_numpy() - table["lambda"].to_numpy()[rows]).mean()
        wlog_mae = np.abs(moments["omega_log"].to_numpy() - table["omega_log"].to_numpy()[rows]).mean()
        print(f"{name}: Tc MAE {errors.mean():.2f} K (95% bootstrap {np.percentile(boot, 2.5):.2f}-"
              f"{np.percentile(boot, 97.5):.2f}), our train median {np.abs(median - tc[rows]).mean():.2f} K; "
              f"lambda MAE {lam_mae:.3f}, omega_log MAE {wlog_mae:.0f} K")
    print("leaderboard test MAE (K): " + ", ".join(f"{k} {v:.2f}" for k, v in PEERS.items()))
    member_epochs = sum(h["epochs"] for h in model.histories_)
    print(f"total {time.time() - started:.0f} s; {fit_s / member_epochs:.1f} s per member-epoch on {device} "
          "(tempered stopping decides how many epochs a member runs, up to --epochs)")


if __name__ == "__main__":
    main()
