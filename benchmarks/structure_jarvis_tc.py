"""JARVIS-Leaderboard dft_3d_Tc_supercon: test MAE of DFT Tc on the public 556/30/30 split, ours beside
the training median (1.51 K), AtomGPT (1.52 K) and ALIGNN (2.03 K) as the leaderboard lists them; and
a grouped k-fold CV (``--cv-folds``) over all 1,056 structures: MAE of Tc, lambda and omega_log.

Model: ``alpha2f-ensemble`` (BETE-NET style) on ``crystal-graph`` graphs (mass-weighted one-hot, 4 A
cutoff), trained on the train split only, through the moments of its spectrum (``--train-on
moments``: lambda and omega_log) or through Tc (``--train-on tc``), with the standardised squared
error (``--loss mse``) or the same on ln(lambda), ln(omega_log), ln(1 + Tc) (``--loss log``). Each
member early-stops on its own out-of-bag rows, bootstrapped over composition groups (the reduced
composition key of each structure), so no member validates on a composition it trained on. Tc =
``--tc-formula`` of the ensemble-mean spectrum with ``--mu-star``: JARVIS's own Tc is McMillan's form
with mu* = 0.085 (it reproduces every JARVIS Tc from its lambda and omega_log; Allen-Dynes f1 f2 and
mu* = 0.10 do not), hence the defaults. The leaderboard's val split is scored too; the test split (30
rows) is used only to score, and is tiny: read its MAE with its bootstrap interval.

    .venv/bin/python benchmarks/structure_jarvis_tc.py \
        --epochs 1000 --n-models 10 --device auto --params '{}'   # BETE-NET-sized network: a GPU
    ... --device cpu        # CPU figure: through ln(1 + Tc), 5 small members x 15 epochs (~10 min)
    ... --device cpu --train-on moments --epochs 10 --n-models 1 --cv-folds 10 \
        --params '{"layers": 2, "scalars": 16, "vectors": 4, "tensors": 2, "lr": 5e-3}'
                            # grouped 10-fold CV of Tc, lambda, omega_log (~25 min on a busy CPU)
    ... --epochs 2 --n-models 2 --device cpu --small                # smoke run on CPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

PEERS = {"median of train (leaderboard)": 1.51, "AtomGPT": 1.52, "CFID": 2.00, "ALIGNN": 2.03, "CGCNN": 2.57}
#: Network and training of the CPU figures (docs/benchmarks.md; chosen on the val split and the members'
#: out-of-bag rows): about 2.3 s per member-epoch on 556 structures, one thread, on a quiet machine.
CPU_NETWORK = {"layers": 2, "scalars": 16, "vectors": 4, "tensors": 2, "lr": 1e-3, "patience_stages": [10, 500, 5000]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n-models", type=int, default=5)
    parser.add_argument("--train-on", choices=["moments", "tc"], default="tc")
    parser.add_argument("--loss", choices=["mse", "log"], default="log")
    parser.add_argument("--tc-formula", choices=["mcmillan", "allen-dynes"], default="mcmillan")
    parser.add_argument("--mu-star", type=float, default=0.085)
    parser.add_argument("--params", default=json.dumps(CPU_NETWORK), help="alpha2f-ensemble parameters (JSON)")
    parser.add_argument("--small", action="store_true", help="tiny network, patience (5, 20, 50) (smoke runs)")
    parser.add_argument("--cv-folds", type=int, default=0, help="also run grouped k-fold CV over all structures")
    parser.add_argument("--cv-epochs", type=int, default=None, help="epochs per member in the CV (default --epochs)")
    parser.add_argument("--cv-n-models", type=int, default=None, help="members in the CV (default --n-models)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from sc_toolkit import load_dataset, load_registry, resolve_device
    from sctk_crystal.alpha2f import Alpha2FEnsemble
    from sctk_crystal.graphs import CrystalGraph

    device = resolve_device(args.device)
    started = time.time()
    table = load_dataset(load_registry().dataset("jarvis-supercon")).table.reset_index(drop=True)
    encoder = CrystalGraph(cutoff=4.0, node_features="mass-weighted")
    t0 = time.time()
    graphs = encoder.encode(table)
    encode_s = time.time() - t0
    params = json.loads(args.params)
    if args.small:
        params = {"layers": 2, "scalars": 16, "vectors": 4, "tensors": 2, "patience_stages": (5, 20, 50)}
    params = {**params, "loss": args.loss, "tc_formula": args.tc_formula, "mu_star": args.mu_star,
              "device": args.device}  # fmt: skip
    tc, lam, wlog = (table[c].to_numpy() for c in ("tc", "lambda", "omega_log"))
    keys = table["composition_key"].to_numpy()

    def fit(rows, epochs, n_models, seed):
        model = Alpha2FEnsemble(params, epochs=epochs, n_models=n_models, seed=seed)
        target = table.loc[rows, ["lambda", "omega_log"]] if args.train_on == "moments" else tc[rows]
        t0 = time.time()
        model.fit([graphs[i] for i in rows], target, groups=keys[rows])
        return model, time.time() - t0

    def scores(model, rows):
        moments = model.predict_moments([graphs[i] for i in rows])
        predicted = model.predict([graphs[i] for i in rows])
        return (np.abs(predicted - tc[rows]), np.abs(moments["lambda"].to_numpy() - lam[rows]),
                np.abs(moments["omega_log"].to_numpy() - wlog[rows]))  # fmt: skip

    split = table["spp_split"].to_numpy()
    train = np.nonzero(split == "train")[0]
    print(f"JARVIS supercon_3d: {len(table)} structures; leaderboard split {len(train)} train / "
          f"{(split == 'val').sum()} val / {(split == 'test').sum()} test; device {device} ({args.threads} thread), "
          f"torch {torch.__version__}, Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    print(f"alpha2f-ensemble {json.dumps(params)}; trained on {args.train_on}; graphs {encode_s:.0f} s")
    model, fit_s = fit(train, args.epochs, args.n_models, args.seed)
    member_epochs = sum(h["epochs"] for h in model.histories_)
    print(f"{args.n_models} member(s), epochs run {[h['epochs'] for h in model.histories_]} (of {args.epochs}); "
          f"fit {fit_s:.0f} s = {fit_s / member_epochs:.1f} s per member-epoch; load average {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(args.seed)
    median = np.median(tc[train])
    for name in ("val", "test"):
        rows = np.nonzero(split == name)[0]
        errors, lam_errors, wlog_errors = scores(model, rows)
        boot = [errors[rng.integers(0, len(errors), len(errors))].mean() for _ in range(2000)]
        print(f"{name}: Tc MAE {errors.mean():.2f} K (95% bootstrap {np.percentile(boot, 2.5):.2f}-"
              f"{np.percentile(boot, 97.5):.2f}), train median {np.abs(median - tc[rows]).mean():.2f} K; "
              f"lambda MAE {lam_errors.mean():.3f}, omega_log MAE {wlog_errors.mean():.0f} K")
    print("leaderboard test MAE (K): " + ", ".join(f"{k} {v:.2f}" for k, v in PEERS.items()))

    if args.cv_folds:
        epochs = args.cv_epochs or args.epochs
        n_models = args.cv_n_models or args.n_models
        unique, inverse = np.unique(keys, return_inverse=True)
        fold_of_group = np.empty(len(unique), dtype=int)
        fold_of_group[np.random.default_rng(args.seed).permutation(len(unique))] = np.arange(len(unique)) % args.cv_folds
        fold = fold_of_group[inverse]
        ours = np.zeros((3, len(table)))
        base = np.zeros((3, len(table)))
        t0 = time.time()
        for f in range(args.cv_folds):
            test, train = np.nonzero(fold == f)[0], np.nonzero(fold != f)[0]
            model, _ = fit(train, epochs, n_models, args.seed + 1 + f)
            ours[:, test] = scores(model, test)
            for k, values in enumerate((tc, lam, wlog)):
                base[k, test] = np.abs(np.median(values[train]) - values[test])
            print(f"  fold {f}: {len(train)} train / {len(test)} test, Tc MAE {ours[0, test].mean():.2f} K "
                  f"(median {base[0, test].mean():.2f}), epochs {[h['epochs'] for h in model.histories_]}")
        print(f"grouped {args.cv_folds}-fold CV over {len(unique)} composition groups ({len(table)} structures), "
              f"{n_models} member(s) x {epochs} epochs, {time.time() - t0:.0f} s:")
        for k, (name, unit) in enumerate((("Tc", "K"), ("lambda", ""), ("omega_log", "K"))):
            print(f"  {name:<10} MAE {ours[k].mean():8.3f} {unit:<2} (training median {base[k].mean():.3f})")
    print(f"total {time.time() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
