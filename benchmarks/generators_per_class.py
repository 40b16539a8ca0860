"""Per-class table of the composition generators beside ScGAN's Tables II/III and Lim's recovery.

    .venv/bin/python benchmarks/generators_per_class.py \\
        [--models wgan-gp,vae,diffusion,scgan,lim-wgan] [--classes cuprate,iron-based,other] \\
        [--epochs N] [--params JSON] [--init-from RUN] [--n-samples 100000] [--holdout 0.1] \\
        [--predictors-from RUN_DIR] [--output-dir DIR]
    .venv/bin/python benchmarks/generators_per_class.py --evaluate RUN_DIR...

Everything goes through recipes, the way a user would run it: for each model and class a recipe is
built from the shipped recipe of that model (its ``[generator]`` section: generator, encoder and
parameters; ``--epochs`` and ``--params`` override the recipe's parameters; ``--init-from`` starts
from a saved generator), trained on SuperCon rows with Tc > 0 of the class (ScGAN's three classes,
column ``class``) with ``--holdout`` of the composition groups kept out of training, then evaluated with ``sctk evaluate``'s definitions on ``--n-samples`` fresh
samples. Lim's conditional GAN is trained once on all four ``class_lim`` classes and evaluated per
condition. The Tc regressor and superconductor classifier (for the predicted-superconducting
fraction and ScGAN's rho) come from a run of ``recipes/supercon_tc.toml`` (``--predictors-from``, or
one made first in ``--output-dir``).

Printed per model and class: training rows, held-out compositions, epochs, train seconds, and in
% of samples or distinct samples: unique (of all samples, and of the first 5,000 as in ScGAN),
novel vs training, novel vs SuperCon, SMACT-valid (alloys pass, SMACT's default oxidation states),
share in the class, predicted superconducting p and rho, exact and near recovery of the held-out
compositions (near: same elements, every atomic fraction within 0.005), the same for the training
compositions (the other reading of Lim's figure), the share of samples that are known SuperCon
superconductors, exactly and near (the per-sample reading), the mean number of elements per
generated / training composition, and the share of samples / training rows that are one element.
The papers' figures are printed beneath.

``--evaluate`` evaluates runs this script made again, as they are (after a change of the evaluation's
definitions). Everything goes through the declared Python API (``sc_toolkit.run_recipe``,
``sc_toolkit.open_run``).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import tomllib
from pathlib import Path

import pandas as pd

import sc_toolkit  # noqa: E402
from sc_toolkit import load_registry  # noqa: E402

RECIPES = Path(__file__).parents[1] / "recipes"
#: model -> shipped recipe whose [generator] section defines it
MODELS = {
    "wgan-gp": "cuprate_wgan_fractions.toml",
    "scgan": "pnictide_gan.toml",
    "vae": "cuprate_vae.toml",
    "diffusion": "cuprate_diffusion.toml",
    "lim-wgan": "lim_conditional_gan.toml",
}
#: ScGAN's three classes (column `class`) -> Lim's label for the same class (column `class_lim`), and Lim's
#: fourth class "both" (cuprate and iron-based), which only lim-wgan can be evaluated on
LIM_LABEL = {"cuprate": "cuprate", "iron-based": "iron-based", "other": "other", "both": "both"}
PAPERS = """\
ScGAN Table II (5,000 samples; 30,000 for all of SuperCon), novel / unique: all 99.69 / 96.78 %,
  cuprates 99.74 / 92.98 %, pnictides 99.32 / 58.74 %, others 98.89 / 91.58 %.
ScGAN Table III, predicted superconducting p / rho (KNN, tp 0.9869, fp 0.1694): all 74.50 / 70.42 %,
  cuprates 75.76 / 71.95 %, pnictides 72.44 / 67.89 %, others 69.58 / 64.39 %.
Lim (slides), rate of recovery per 100k samples: cuprates 25.6 %, iron pnictides/chalcogenides 51.1 %,
  both 26.3 %, others 55.3 %; SMACT-stable 5.5-7.2 % (held-out set and matching rule not stated).
SuperDiff (500k samples): novel 100 %, unique 99.3-99.98 %."""


def generator_recipe(model: str, cls: str | None, args, predictors_from: Path) -> dict:
    """A recipe training ``model`` on one class (or, for lim-wgan, on all with labels)."""
    shipped = tomllib.loads((RECIPES / MODELS[model]).read_text())
    generator = copy.deepcopy(shipped["generator"])
    generator.pop("filters", None)
    generator |= {"n_samples": 1000, "holdout": args.holdout}
    if args.epochs:
        generator["params"] = generator.get("params", {}) | {"epochs": args.epochs}
    generator["params"] = generator.get("params", {}) | json.loads(args.params)
    if args.init_from:
        generator["init_from"] = str(args.init_from)
    data_filters = [{"use": "threshold", "params": {"column": "tc", "gt": 0.0}}]
    if model == "lim-wgan":
        data_filters += [f for f in shipped["generator"]["filters"] if f["use"] == "elements"]  # H..Pu only
    else:
        data_filters.append({"use": "values", "params": {"column": "class", "allowed": [cls]}})
    return {
        "run": {"name": f"{model}_{cls or 'all'}", "seed": args.seed, "device": "cpu", "output_dir": str(args.output_dir)},
        "data": {"dataset": "supercon", "filters": data_filters},
        "generator": generator,
        "predictors": [{"name": name, "from_run": str(predictors_from)} for name in ("tc", "superconductor")],
        "filters": [{"use": "unique"}],
    }


def run_recipe(raw: dict, registry) -> Path:
    return sc_toolkit.run_recipe(raw, registry=registry).path


def row(model: str, cls: str, run_dir: Path, args, registry, condition: str | None = None) -> dict:
    run = sc_toolkit.open_run(run_dir, registry=registry)
    # one evaluation stored per run; a conditional run is evaluated once per class
    result = run.evaluate(args.n_samples, save=condition is None, embedding="none", classifier="superconductor",
                          regressor="tc", condition=condition)
    m = result["metrics"]
    steps = {s["step"]: s["seconds"] for s in run.manifest["steps"]}
    scheme = "lim" if cls == "both" else "scgan"  # "both" (cuprate and iron-based) is Lim's fourth class
    in_class = m["class_distribution"][scheme]["generated"].get(cls, 0.0)
    ps = m["predicted_superconductor"]
    rec = m["recovery"]
    elements = m["elements_per_composition"]
    pct = lambda v: None if v is None else round(100 * v, 2)  # noqa: E731
    n_rows = len(run.generator_training)
    epochs = run.recipe["generator"]["params"].get("epochs")
    return {
        "model": model, "class": cls, "train rows": n_rows, "held out": rec.get("n_held_out"), "epochs": epochs,
        "train s": round(steps["train generator"], 1),
        "train rows/s": round(n_rows * epochs / steps["train generator"]) if epochs else None,
        "unique %": pct(m["uniqueness"]["value"]),
        "unique@5k %": pct(m["uniqueness_by_n"]["values"].get("5000")), "novel train %": pct(m["novelty_training"]["value"]),
        "novel SuperCon %": pct(m["novelty_supercon"]["value"]), "SMACT %": pct(m["smact_valid"]["value"]),
        "in class %": pct(in_class), "p %": pct(ps.get("value")), "rho %": pct(ps.get("rho")),
        "recovery %": pct(rec.get("value")), "near recovery %": pct((rec.get("near") or {}).get("value")),
        "training recovery %": pct(m["recovery_training"]["value"]),
        "training near %": pct(m["recovery_training"]["near"]["value"]),
        "known samples %": pct(m["known_share"]["value"]),
        "known near %": pct(m["known_share"]["near"]["value"]),
        "elements gen / train": f"{m['elements_per_composition']['generated']['mean']:.2f} / "
                                f"{m['elements_per_composition']['training']['mean']:.2f}",
        "1-element % gen / train": f"{pct(elements['generated']['single_element_share'])} / "
                                   f"{pct(elements['training']['single_element_share'])}",
        "sample+score s": round(sum(result["seconds"].values()), 1),
    }


def model_and_class(run_dir: Path) -> tuple[str, str]:
    """(model, class) from the name of a run this script made: ``<model>_<class>-<date>-<time>``."""
    model, cls = run_dir.name.rsplit("-", 2)[0].split("_", 1)
    return model, cls


def evaluate_again(run_dirs: list[Path], args, registry) -> list[dict]:
    rows = []
    for run_dir in run_dirs:
        model, cls = model_and_class(run_dir)
        if model == "lim-wgan":  # one conditional generator, evaluated class by class
            for cls in args.classes.split(","):
                rows.append(row(model, cls, run_dir, args, registry, condition=LIM_LABEL[cls]))
                print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
            continue
        rows.append(row(model, cls, run_dir, args, registry))
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="wgan-gp,vae,diffusion")
    parser.add_argument("--classes", default="cuprate,iron-based,other")
    parser.add_argument("--epochs", type=int, default=None, help="override the shipped recipes' epochs")
    parser.add_argument("--params", default="{}", help="JSON object of generator parameters to override")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start each generator from this run's (transfer learning, e.g. an OQMD pre-training)")
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--predictors-from", type=Path, default=None)
    parser.add_argument("--output-dir", type=Path, default=Path("runs/generators_per_class"))
    parser.add_argument("--evaluate", type=Path, nargs="*", help="runs of this script to evaluate again, as they are")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    registry = load_registry()
    if args.evaluate:
        print_table(evaluate_again(args.evaluate, args, registry))
        return
    predictors_from = args.predictors_from
    if predictors_from is None:
        raw = tomllib.loads((RECIPES / "supercon_tc.toml").read_text())
        raw["run"]["output_dir"] = str(args.output_dir)
        start = time.perf_counter()
        predictors_from = run_recipe(raw, registry)
        print(f"predictors: {predictors_from} ({time.perf_counter() - start:.0f} s)", flush=True)
    classes = args.classes.split(",")
    print(f"SuperCon Tc > 0 per class, {args.holdout:.0%} of composition groups held out, {args.n_samples:,} "
          f"samples per model and class, seed {args.seed}, torch {torch.__version__} on 1 CPU thread", flush=True)
    rows = []
    for model in args.models.split(","):
        if model == "lim-wgan":
            run_dir = run_recipe(generator_recipe(model, None, args, predictors_from), registry)
            for cls in classes:
                rows.append(row(model, cls, run_dir, args, registry, condition=LIM_LABEL[cls]))
                print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
            continue
        for cls in classes:
            run_dir = run_recipe(generator_recipe(model, cls, args, predictors_from), registry)
            rows.append(row(model, cls, run_dir, args, registry))
            print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    table = pd.DataFrame(rows)
    print("\n" + table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    print("\n" + PAPERS)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
