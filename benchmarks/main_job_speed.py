"""The main job as the recipe stands and a faster variant of it, side by side on the same machine.

Runs ``sctk run RECIPE`` twice, one run after the other: first as the recipe stands, then with the
``--variant`` overrides (default: the GAN's gradient penalty applied lazily, every 4th critic step at
4x the weight). Prints and saves (``OUT/main_job_speed.md`` and ``.json``) one row per configuration:
wall time of the whole command, time per step (from each run's ``run.log``), and the quality measures
the issue asks to keep: accepted candidates of the recipe's 20,000 samples, and on the evaluation's
100,000 fresh samples the SMACT-valid share (formulas judged as written), uniqueness, the corrected
superconducting fraction rho, near recovery of the training cuprates and elements per sample. Also
records the load average before and after each run, the CPU count, and the library versions.

    export SCTK_DATA_DIR=/path/to/data
    uv run python benchmarks/main_job_speed.py --out /tmp/main_job_speed
    uv run python benchmarks/main_job_speed.py --only recipe   # the recipe as it stands, alone
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: The faster variant: the gradient penalty every 4th critic update, at 4x the weight.
VARIANT = ["generator.params.gp_every=4"]
STEP = re.compile(r"^\S+ end (.+?): done in ([0-9.]+) s")


def sctk() -> list[str]:
    """The ``sctk`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("sctk")
    return [str(script)] if script.exists() else [shutil.which("sctk") or "sctk"]


def run(recipe: str, out: Path, overrides: list[str]) -> dict:
    """One ``sctk run``: wall time, step times, the run directory's quality measures."""
    out.mkdir(parents=True, exist_ok=True)
    command = [*sctk(), "run", recipe, "--set", f"run.output_dir={out}"]
    for override in overrides:
        command += ["--set", override]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    run_dir = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
    steps = {}
    for line in (run_dir / "run.log").read_text().splitlines():
        match = STEP.match(line)
        if match:
            steps[match.group(1)] = float(match.group(2))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    evaluation = metrics["evaluation"]["metrics"]
    generation = metrics["generation"]
    return {
        "overrides": overrides,
        "run_dir": str(run_dir),
        "wall_s": round(wall, 1),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "steps_s": steps,
        "accepted": generation["accepted"],
        "smact_valid_candidates": generation["filters"]["smact-valid"]["kept"],
        "smact_valid": evaluation["smact_valid"]["value"],
        "unique": evaluation["uniqueness"]["value"],
        "p": evaluation["predicted_superconductor"].get("value"),
        "rho": evaluation["predicted_superconductor"].get("rho"),
        "training_near_recovery": evaluation["recovery_training"]["near"]["value"],
        "elements": evaluation["elements_per_composition"]["generated"]["mean"],
        "training_elements": evaluation["elements_per_composition"]["training"]["mean"],
    }


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| configuration | wall | GAN training | accepted of 20,000 (SMACT-valid) | SMACT-valid % | unique % | p / rho % "
        "| training near recovery % | elements | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} ({', '.join(r['overrides']) or 'recipe as is'}) | {minutes(r['wall_s'])} "
            f"| {r['steps_s'].get('train generator', float('nan')):.0f} s | {r['accepted']} ({r['smact_valid_candidates']}) "
            f"| {100 * r['smact_valid']:.2f} | {100 * r['unique']:.2f} | {100 * r['p']:.1f} / {100 * r['rho']:.1f} "
            f"| {100 * r['training_near_recovery']:.1f} | {r['elements']:.2f} (train {r['training_elements']:.2f}) "
            f"| {r['load'][0]}-{r['load'][1]} |"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    import lightgbm
    import torch

    import sc_toolkit

    return {"python": sys.version.split()[0], "sc_toolkit": sc_toolkit.__version__, "torch": torch.__version__,
            "torch_threads": str(torch.get_num_threads()), "lightgbm": lightgbm.__version__, "cpus": str(os.cpu_count())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="recipes/cuprate_gan.toml")
    parser.add_argument("--variant", nargs="*", default=VARIANT, help="overrides (key=value) of the variant")
    parser.add_argument("--only", choices=["recipe", "variant"], help="run one configuration only")
    parser.add_argument("--out", type=Path, default=Path("runs/main_job_speed"))
    args = parser.parse_args()
    if not os.environ.get("SCTK_DATA_DIR"):
        sys.exit("set SCTK_DATA_DIR to the folder that holds the datasets")
    rows = {}
    if args.only in (None, "recipe"):
        rows["recipe"] = run(args.recipe, args.out / "recipe", [])
    if args.only in (None, "variant"):
        rows["variant"] = run(args.recipe, args.out / "variant", args.variant)
    text = table(rows)
    print(text)
    print(json.dumps(versions()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "main_job_speed.md").write_text(text + "\n")
    (args.out / "main_job_speed.json").write_text(json.dumps({"rows": rows, "versions": versions()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
