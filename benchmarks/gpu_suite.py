"""GPU suite: what an accelerator buys, in one short script that prints and saves one table.

Rows of the table:

* every torch generator of the shipped generator recipes (its recipe's encoder and parameters, on
  SuperCon rows with a reported Tc): training throughput in rows x epochs per second (steady: rows /
  median seconds per epoch after the first), with and without bfloat16 autocast (the generators'
  ``amp`` parameter; autocast acts on CUDA only);
* ``sodnet`` (recipes/sodnet_supercon3d.toml, on SuperCon3D) and ``alpha2f-ensemble``
  (recipes/alpha2f_jarvis.toml, on JARVIS-SuperCon) at the papers' network size: seconds per
  epoch (median of the epochs after the first) and throughput;
* the main job (recipes/cuprate_gan.toml): wall time of the whole run;

each with the peak GPU memory of its row (``torch.cuda.max_memory_allocated``; "-" on the CPU).
The table goes to ``<out>/gpu_suite.md`` and ``<out>/gpu_suite.json`` with the device, library
versions and settings.

    SCTK_DATA_DIR=... uv run python benchmarks/gpu_suite.py              # on the GPU machine
    SCTK_DATA_DIR=... uv run python benchmarks/gpu_suite.py --tiny       # any CPU, about a minute

``--tiny`` keeps every step but shrinks it (100 rows, 2 epochs, each generator recipe's --quick
network, tiny crystal networks on 8 structures, the main job's --quick slice on 300 rows), to check
the suite itself.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import tomllib
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import numpy as np

import sc_toolkit

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"

#: The recipes whose [generator] section gives each torch generator row its encoder and parameters.
GENERATOR_RECIPES = ["cuprate_gan.toml", "cuprate_wgan_fractions.toml", "cuprate_vae.toml",
                     "cuprate_diffusion.toml", "lim_conditional_gan.toml"]
#: The recipes whose first predictor gives each crystal row its dataset, encoder and network.
CRYSTAL_RECIPES = ["sodnet_supercon3d.toml", "alpha2f_jarvis.toml"]
#: Sizes of a full suite and of --tiny.
FULL = {"rows": None, "generator_epochs": 5, "crystal_rows": None, "crystal_epochs": 3, "tiny": False}
TINY = {"rows": 100, "generator_epochs": 2, "crystal_rows": 8, "crystal_epochs": 2, "tiny": True}
TINY_NETWORK = {"layers": 1, "scalars": 8, "vectors": 2, "tensors": 1, "heads": 1, "radial_hidden": 8}


class EpochClock:
    """A RunLike that records when each epoch (progress step) ends, for epoch times."""

    def __init__(self, folder: Path, seed: int = 0):
        self.folder, self.seed, self.quick = folder, seed, False
        self.ends: list[float] = []

    @contextmanager
    def progress(self, description: str, total: int | None):
        clock = self

        class Task:
            def advance(self, n: int = 1, **values: float) -> None:
                clock.ends.append(time.perf_counter())

        yield Task()

    def log(self, message: str) -> None:
        return None

    def checkpoint_dir(self, component: str) -> Path:
        path = self.folder / component
        path.mkdir(parents=True, exist_ok=True)
        return path


def torch_module():
    import torch

    return torch


def cuda() -> bool:
    return torch_module().cuda.is_available()


@contextmanager
def peak_memory(row: dict):
    """Put the peak GPU memory (GiB) of the block into ``row['peak_gib']`` (None on the CPU)."""
    torch = torch_module()
    if cuda():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    try:
        yield
    finally:
        if cuda():
            torch.cuda.synchronize()
            row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        else:
            row["peak_gib"] = None


def recipe_section(name: str) -> dict:
    return tomllib.loads((RECIPES / name).read_text(encoding="utf-8"))


def supercon_rows(n: int | None, seed: int = 0):
    """SuperCon rows with a reported Tc (n of them, seeded, or all)."""
    table = sc_toolkit.load_dataset("supercon").table
    table = table[table["tc"] > 0]
    if n is not None and len(table) > n:
        table = table.sample(n, random_state=seed)
    return table.reset_index(drop=True)


def generator_rows(registry, size: dict, folder: Path) -> list[dict]:
    table = supercon_rows(size["rows"])
    compositions = sc_toolkit.Compositions.from_formulas(table["formula"])
    rows = []
    for recipe_name in GENERATOR_RECIPES:
        recipe = recipe_section(recipe_name)
        section = recipe["generator"]
        shrunk = {}
        if size["tiny"]:  # --tiny: the recipe's --quick network
            prefix = "generator.params."
            shrunk = {k[len(prefix):]: v for k, v in recipe.get("quick", {}).get("set", {}).items() if k.startswith(prefix)}
        encoder = registry.get("encoder", section["encoder"]["use"])(section["encoder"].get("params", {}))
        X = encoder.fit(compositions).encode(compositions)
        label = section.get("label")
        y = table[label].astype(str).to_numpy() if label and label in table.columns else None
        if label and y is None:  # a label the runner derives (e.g. Lim's classes): one class is enough here
            y = np.array(["all"] * len(table))
        for amp in (False, True):
            params = {**section.get("params", {}), **shrunk, "epochs": size["generator_epochs"], "amp": amp,
                      "device": "auto", "checkpoint_every": 0}
            generator = registry.get("generator", section["use"])(params)
            row = {"component": f"{section['use']} ({recipe_name})", "bf16": amp, "rows": len(X),
                   "epochs": size["generator_epochs"]}
            clock = EpochClock(folder / f"{recipe_name}-{amp}")
            with peak_memory(row):
                start = time.perf_counter()
                generator.fit(X, y, run=clock)
                row["seconds"] = time.perf_counter() - start
            rows.append(finish(row, clock, start))
    return rows


def crystal_rows(registry, size: dict, folder: Path) -> list[dict]:
    rows = []
    for recipe_name in CRYSTAL_RECIPES:
        recipe = recipe_section(recipe_name)
        predictor = recipe["predictors"][0]
        table = sc_toolkit.load_dataset(recipe["data"]["dataset"]).table
        targets = predictor["target"] if isinstance(predictor["target"], list) else [predictor["target"]]
        table = table.dropna(subset=targets)
        if predictor["use"] == "sodnet":
            table = table[table[targets[0]] > 0]  # ln Tc
        if size["crystal_rows"] is not None:
            table = table.sample(size["crystal_rows"], random_state=0)
        table = table.reset_index(drop=True)
        encoder_params = dict(predictor["encoder"].get("params", {}))
        if size["crystal_rows"] is not None:
            encoder_params |= {"cutoff": min(encoder_params.get("cutoff", 5.0), 5.0), "max_neighbors": 12}
        encoder = registry.get("encoder", predictor["encoder"]["use"])(encoder_params)
        start = time.perf_counter()
        X = encoder.encode(table)
        encoding = time.perf_counter() - start
        y = table[targets].to_numpy(dtype=float)
        y = y[:, 0] if len(targets) == 1 else y
        params = {**predictor.get("params", {}), "epochs": size["crystal_epochs"], "n_models": 1, "device": "auto"}
        params = {k: v for k, v in params.items() if not k.startswith("patience")}
        if size["crystal_rows"] is not None:
            params |= TINY_NETWORK | {"batch_size": 4}
        model = registry.get("predictor", predictor["use"])(params)
        row = {"component": f"{predictor['use']} ({recipe_name})", "bf16": None, "rows": len(X),
               "epochs": size["crystal_epochs"], "encoding_seconds": encoding}
        clock = EpochClock(folder / recipe_name)
        with peak_memory(row):
            start = time.perf_counter()
            model.fit(X, y, run=clock)
            row["seconds"] = time.perf_counter() - start
        rows.append(finish(row, clock, start))
    return rows


def finish(row: dict, clock: EpochClock, start: float) -> dict:
    """Epochs actually run, seconds per epoch (median of the epochs after the first, which pays for
    warm-up) and the steady throughput, rows x epochs per second (rows / seconds per epoch)."""
    durations = np.diff([start, *clock.ends])
    row["epochs"] = len(durations) or row["epochs"]
    steady = durations[1:] if len(durations) > 1 else durations
    row["epoch_seconds"] = float(statistics.median(steady)) if len(steady) else None
    row["throughput"] = row["rows"] / row["epoch_seconds"] if row["epoch_seconds"] else None
    return row


def main_job_row(size: dict, folder: Path) -> dict:
    overrides = {"run.output_dir": str(folder / "main")}
    if size["tiny"]:
        overrides |= {"quick.rows": 300, "quick.n_samples": 300, "generator.params.epochs": 2,
                      "evaluate.embedding": "none"}
    row = {"component": "main job (recipes/cuprate_gan.toml" + (", --quick slice)" if size["tiny"] else ")"),
           "bf16": True, "rows": None, "epochs": None}
    with peak_memory(row):
        start = time.perf_counter()
        sc_toolkit.run_recipe(RECIPES / "cuprate_gan.toml", overrides, quick=size["tiny"])
        row["seconds"] = time.perf_counter() - start
    return row


def markdown(rows: list[dict], header: dict) -> str:
    def cell(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [f"GPU suite on {header['device']} ({header['torch']}, sc-toolkit {header['sc_toolkit']}, "
             f"{'--tiny' if header['tiny'] else 'full size'}), {header['total_seconds']:.0f} s in all", "",
             "| component | bf16 | rows | epochs | wall s | s / epoch | rows x epochs / s | peak GiB |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        bf16 = "n/a" if r["bf16"] is None else ("on" if r["bf16"] else "off")
        lines.append(f"| {r['component']} | {bf16} | {cell(r['rows'], ',')} | {cell(r['epochs'], 'd')} | "
                     f"{r['seconds']:.1f} | {cell(r.get('epoch_seconds'), '.3f')} | {cell(r.get('throughput'), ',.0f')} | "
                     f"{cell(r['peak_gib'], '.2f')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="every step, shrunk to run on a CPU in about a minute")
    parser.add_argument("--out", type=Path, default=None, help="folder for gpu_suite.md and .json (default: runs/gpu_suite-<time>)")
    parser.add_argument("--skip-main-job", action="store_true", help="leave out the main job's row")
    args = parser.parse_args(argv)
    size = TINY if args.tiny else FULL
    out = args.out or ROOT / "runs" / time.strftime("gpu_suite-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    torch = torch_module()
    registry = sc_toolkit.load_registry()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        folder = Path(workdir)
        rows = generator_rows(registry, size, folder) + crystal_rows(registry, size, folder)
        if not args.skip_main_job:
            rows.append(main_job_row(size, folder))
    header = {
        "device": torch.cuda.get_device_name(0) if cuda() else f"CPU ({platform.processor() or platform.machine()}, "
                                                                 f"{torch.get_num_threads()} torch threads)",
        "torch": f"torch {torch.__version__}", "sc_toolkit": sc_toolkit.__version__, "tiny": args.tiny,
        "python": platform.python_version(), "libraries": {lib: version(lib) for lib in ("torch", "lightgbm", "numpy")},
        "settings": size, "total_seconds": time.perf_counter() - started,
    }
    table = markdown(rows, header)
    (out / "gpu_suite.md").write_text(table)
    (out / "gpu_suite.json").write_text(json.dumps({**header, "rows": rows}, indent=1, default=float) + "\n")
    print(table + f"\nsaved to {out}/gpu_suite.md and gpu_suite.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
