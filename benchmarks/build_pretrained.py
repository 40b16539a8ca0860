"""Build the pretrained composition models shipped in ``sc_toolkit/pretrained/`` (what `sctk predict
supercon-tc FORMULA` uses right after install, with no training).

Each model is a run of a shipped recipe with smaller ensembles (so that the LightGBM text files stay
small), reduced to what prediction needs: ``models/predictors/``, the run's ``manifest.json`` (without
the command line and local paths) and a ``pretrained.json`` with the
recipe and settings, the sha256 of every dataset file it learned from (the training table, negatives
and hull references), the hold-out metrics beside their baselines, the library versions, and the
sha256 of every shipped file. A reference hull keeps only its on-hull phases (the same hull, a third
of the rows; ``ReferenceHull.only_on_hull``), so that ``e_hull_pred`` works offline. Deterministic
for a given seed and library versions.

    SCTK_DATA_DIR=... uv run python benchmarks/build_pretrained.py            # every model
    SCTK_DATA_DIR=... uv run python benchmarks/build_pretrained.py supercon-tc
    SCTK_DATA_DIR=... uv run python benchmarks/build_pretrained.py formation-energy
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import sc_toolkit

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "sc_toolkit" / "pretrained"

#: name -> (recipe, overrides). supercon-tc: recipes/supercon_tc.toml with fewer trees and members
#: (150 / 100 / 100 trees at learning rate 0.1, 2 / 1 / 1 members; the recipe: 600 trees at 0.05,
#: 5 / 3 / 3 members). formation-energy: recipes/formation_energy.toml with 3 members of 300 trees
#: (the recipe: 3 of 400, both at learning rate 0.1) and the hull of the Materials Project phases
#: alone (the recipe adds JARVIS-DFT's, whose copy may not be redistributed). Not named ``mp-e-form``:
#: that is the dataset's name (`sctk data fetch mp-e-form`), and the model is not the dataset.
MODELS: dict[str, tuple[str, dict]] = {
    "supercon-tc": ("recipes/supercon_tc.toml", {
        "predictors.0.params.n_estimators": 150, "predictors.0.params.learning_rate": 0.1,
        "predictors.0.params.n_models": 2,
        "predictors.1.params.n_estimators": 100, "predictors.1.params.learning_rate": 0.1,
        "predictors.1.params.n_models": 1,
        "predictors.2.params.n_estimators": 100, "predictors.2.params.learning_rate": 0.1,
        "predictors.2.params.n_models": 1,
    }),
    "formation-energy": ("recipes/formation_energy.toml", {"predictors.0.params.n_estimators": 300,
                                                           "predictors.0.hull": ["mp-e-form"]}),
}

#: name -> the line `sctk predict NAME` prints under its table (units, what a column means).
NOTES: dict[str, str] = {
    "formation-energy": "e_form_pred (formation energy), e_form_std, e_form_lo/hi (90 % interval) and e_hull_pred "
                        "in eV/atom; e_hull_pred is the distance to the hull of the known Materials Project phases "
                        "shipped with the model (Matbench v0.1; none above 8 elements)",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_digests(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` but the record itself."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "pretrained.json"}


def portable(value):
    """``value`` (the run's manifest) without what names this machine: the command line, folders
    and absolute paths."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()
                if k not in ("command", "folder") and not (isinstance(v, str) and v.startswith("/"))}
    if isinstance(value, list):
        return [portable(v) for v in value if not (isinstance(v, str) and v.startswith("/"))]
    return value


def compress_arrays(folder: Path) -> None:
    """Rewrite every ``.npz`` under ``folder`` compressed, with the same arrays (the applicability
    domain's reference features: 6.3 MB -> 2.7 MB); numpy reads both the same way."""
    import numpy as np

    for path in folder.rglob("*.npz"):
        with np.load(path) as saved:
            arrays = {key: saved[key] for key in saved.files}
        np.savez_compressed(path, **arrays)


def compact_hulls(folder: Path) -> dict[str, dict]:
    """Rewrite every reference hull under ``folder`` with its on-hull phases only (the same hull);
    returns the provenance of each shipped hull by predictor, with the largest difference between
    the two hulls' energies at 2,000 of the phases (seeded). Refuses a hull of a dataset whose copy
    may not be redistributed: its phases would ship."""
    import numpy as np

    registry = sc_toolkit.load_registry()
    shipped = {}
    for path in sorted(folder.rglob("hull.json")):
        hull = sc_toolkit.ReferenceHull.load(path.parent)
        closed = [name for name in hull.datasets if not registry.dataset(name).redistributable]
        if closed:
            raise sc_toolkit.UserError(f"the hull of {path.parent.parent.name} has phases of {', '.join(closed)}, "
                                       "which may not be redistributed", hint="leave them out of its 'hull'")
        compact = hull.only_on_hull()
        sample = hull.phases["formula"].sample(min(2000, len(hull.phases)), random_state=0).tolist()
        difference = np.nanmax(np.abs(compact.hull_energy(sample) - hull.hull_energy(sample)))
        compact.save(path.parent)
        shipped[path.parent.parent.name] = compact.provenance() | {
            "check": {"phases": len(sample), "max_abs_difference_ev_per_atom": float(difference)}}
    return shipped


def datasets_used(run) -> dict[str, dict]:
    """Name and sha256 of the files of every dataset the run learned from: its training table (as
    the manifest records it) and each predictor's own dataset, negatives and hull references."""
    provenance = run.manifest.get("provenance", {})
    found = {key: {"name": value.get("name"), "files": value.get("files")}
             for key, value in provenance.items() if isinstance(value, dict) and value.get("files")}
    named = [name for p in run.recipe.get("predictors", [])
             for name in [p.get("dataset"), p.get("negatives"), *p.get("hull", [])] if name]
    for name in dict.fromkeys(named):
        if name not in {entry["name"] for entry in found.values()}:
            found[name] = {"name": name, "files": sc_toolkit.load_dataset(name).files}
    return found


def build(name: str, workdir: Path) -> Path:
    """Train model ``name`` in ``workdir`` and write it to ``sc_toolkit/pretrained/<name>/``."""
    recipe, overrides = MODELS[name]
    run = sc_toolkit.run_recipe(ROOT / recipe, {**overrides, "run.output_dir": str(workdir / name)})
    target = TARGET / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(run.path / "models" / "predictors", target / "models" / "predictors")
    compress_arrays(target)
    hulls = compact_hulls(target)
    (target / "manifest.json").write_text(json.dumps(portable(run.manifest), indent=1, sort_keys=True) + "\n")
    files = file_digests(target)
    record = {
        "name": name,
        "recipe": recipe,
        "overrides": overrides,
        "build": f"uv run python benchmarks/build_pretrained.py {name}",
        "sc_toolkit": run.manifest.get("sc_toolkit"),
        "plugins": run.manifest.get("plugins"),
        "libraries": {lib: version(lib) for lib in ("lightgbm", "numpy", "pandas", "pymatgen")},
        "python": run.manifest.get("python"),
        "seed": run.manifest.get("seed"),
        "data": datasets_used(run),
        "metrics": run.metrics.get("predictors", {}),
        "files": files,
    } | ({"note": NOTES[name]} if name in NOTES else {}) | ({"shipped_hulls": hulls} if hulls else {})
    (target / "pretrained.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"models to build (default: all of {', '.join(MODELS)})")
    names = parser.parse_args().names or list(MODELS)
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}: choose among {', '.join(MODELS)}")
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            start = time.perf_counter()
            target = build(name, Path(workdir))
            size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
            print(f"{name}: {target.relative_to(ROOT)} ({size / 1e6:.2f} MB, built in {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
