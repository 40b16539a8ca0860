"""Quality of a run's GAN as it trains: the generator papers' metrics every STEP epochs.

Takes a finished run of a recipe with a ``wgan-gp`` generator (any number of epochs: only its
training table, encoder, predictors and recipe are used), copies it, trains the recipe's generator
again from scratch with ``--set`` parameter overrides (e.g. ``gp_every=4``), and every ``--step``
epochs writes the generator into the copy and evaluates it there (``Run.evaluate``: SMACT-valid
share, uniqueness, p / rho with the run's classifier, near recovery of the training compositions,
elements per sample) on ``--samples`` fresh samples. Training continues from a checkpoint between
evaluations, so the weights at each step are those of one uninterrupted training. Prints one JSON
line per step with the CPU seconds spent training so far.

    export SCTK_DATA_DIR=/path/to/data
    uv run sctk run recipes/cuprate_gan.toml --set generator.params.epochs=1 --set run.output_dir=/tmp/base
    uv run python benchmarks/gan_quality_by_epoch.py /tmp/base/cuprate_gan-* --epochs 500 --step 50 --threads 1
    uv run python benchmarks/gan_quality_by_epoch.py /tmp/base/cuprate_gan-* --epochs 500 --step 50 --threads 1 --set gp_every=4
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from sc_toolkit import load_registry, open_run


class CheckpointRun:
    """The little of a run that a generator's checkpoints need (seed, a checkpoint folder, silent progress)."""

    quick = False

    def __init__(self, folder: Path, seed: int):
        self.folder, self.seed = folder, seed

    def checkpoint_dir(self, component: str) -> Path:
        path = self.folder / component
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, message: str) -> None:
        pass

    @contextmanager
    def progress(self, description: str, total: int | None):
        class Silent:
            def advance(self, n: int = 1, **values: float) -> None:
                pass

        yield Silent()


def value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--step", type=int, default=50)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", nargs="*", default=[], help="generator parameter overrides, key=value")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    base = open_run(args.run_dir)
    section = base.recipe["generator"]
    params = {**section.get("params", {}), **{k: value(v) for k, v in (s.split("=", 1) for s in args.set)}}
    for key in ("epochs", "checkpoint_every"):
        params.pop(key, None)
    seed = int(base.recipe.get("run", {}).get("seed", 0))
    _, encoder = base.generator
    X = encoder.encode(base.generator_training["formula"].tolist())
    evaluate = base.recipe.get("evaluate") or {}
    cls = load_registry().get("generator", section["use"])

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "run"
        shutil.copytree(args.run_dir, copy)
        checkpoints = CheckpointRun(Path(scratch) / "checkpoints", seed)
        run = open_run(copy)
        cpu = wall = 0.0
        for epochs in range(args.step, args.epochs + 1, args.step):
            generator = cls(**params, epochs=epochs, checkpoint_every=args.step)
            start, start_cpu = time.perf_counter(), time.process_time()
            generator.fit(X, run=checkpoints)
            wall += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            target = copy / "models" / "generator" / "generator"
            shutil.rmtree(target)
            generator.save(target)
            metrics = run.evaluate(args.samples, save=False, embedding="none",
                                   classifier=evaluate.get("classifier"), regressor=evaluate.get("regressor"))["metrics"]
            print(json.dumps({
                "epochs": epochs, "set": args.set, "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
                "smact_valid": metrics["smact_valid"]["value"], "unique": metrics["uniqueness"]["value"],
                "p": metrics["predicted_superconductor"].get("value"), "rho": metrics["predicted_superconductor"].get("rho"),
                "training_near_recovery": metrics["recovery_training"]["near"]["value"],
                "elements": metrics["elements_per_composition"]["generated"]["mean"],
            }), flush=True)


if __name__ == "__main__":
    main()
