"""Pretrained composition models shipped with the package, usable right after install.

Each folder here holds the saved predictors of one run (``models/predictors/<name>/``, as a run
directory has them), its ``manifest.json`` (without local paths) and a ``pretrained.json``: the recipe and settings it was trained with, the
sha256 of the dataset files it learned from, its hold-out metrics beside their baselines, library
versions, the sha256 of every file shipped and, for some, a ``note`` that `sctk predict` prints (units,
what a column means). A reference hull is shipped as its on-hull phases only. `sctk predict NAME FORMULA...` and
``sc_toolkit.open_run(pretrained_path(NAME))`` use them like any run directory. They are built by
``benchmarks/build_pretrained.py`` (docs/benchmarks.md, "Speed").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

FOLDER = Path(__file__).parent
RECORD = "pretrained.json"


def pretrained_names() -> list[str]:
    """Names of the shipped models (``formation-energy``, ``supercon-tc``)."""
    return sorted(p.name for p in FOLDER.iterdir() if (p / RECORD).is_file())


def pretrained_path(name: str) -> Path | None:
    """The folder of the shipped model ``name`` (a run directory for prediction), None if none is."""
    path = FOLDER / name
    return path if name and "/" not in name and (path / RECORD).is_file() else None


def pretrained_record(name: str) -> dict:
    """The ``pretrained.json`` of the shipped model ``name``: settings, data, metrics, file sha256."""
    path = pretrained_path(name)
    if path is None:
        raise KeyError(name)
    return json.loads((path / RECORD).read_text(encoding="utf-8"))


def altered_files(name: str) -> list[str]:
    """Files of the shipped model ``name`` whose sha256 is not the one recorded (or that are missing)."""
    path = pretrained_path(name)
    recorded = pretrained_record(name)["files"]
    return [file for file, digest in sorted(recorded.items())
            if not (path / file).is_file() or hashlib.sha256((path / file).read_bytes()).hexdigest() != digest]
