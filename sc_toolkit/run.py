"""A run: one new directory per execution, its log, progress display, manifest and history.

Layout of a run directory (never overwritten; ``sctk resume`` continues one in place)::

    recipe.toml          the recipe as given
    resolved.toml        every parameter filled in: `sctk run resolved.toml` reruns it
    invocation.json      the --set overrides and --quick flag (what `sctk resume` replays)
    manifest.json        versions, seed, device, git commit, per-step timings and row counts
    run.log              what happened, with times
    metrics.json         hold-out metrics beside baselines, filter counts, evaluation
    models/              fitted components (component.json + state files)
    checkpoints/         training checkpoints (resume from here)
    rejected_rows.csv    source rows reported and skipped while loading the data
    training.parquet     the training table after data filters
    generator_training.parquet   the rows the generator learned from
    generator_holdout.parquet    rows kept out of its training ([generator] holdout) for recovery
    history.json         per-epoch generator losses
    candidates.parquet   every candidate with `rejected_by` (also .csv)
    accepted.csv         accepted candidates, ranked
    report.html          self-contained report with plots
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from .errors import UserError

#: The rows a generator learned from (the training table after the generator's own filters).
GENERATOR_TRAINING = "generator_training.parquet"
#: The rows kept out of the generator's training by ``[generator] holdout``.
GENERATOR_HOLDOUT = "generator_holdout.parquet"


def new_run_dir(output_dir: str | Path, name: str) -> Path:
    """Create ``<output_dir>/<name>-<UTC time>`` (with a -2, -3 ... suffix if taken); never reuses one."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        candidate = output_dir / (f"{name}-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise UserError(f"could not create a new run directory in {output_dir}")


def git_commit(path: Path) -> str | None:
    """The git commit of the checkout holding ``path`` (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=path, capture_output=True,
            text=True, timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


class _Task:
    def __init__(self, run: RunContext, progress: Progress, task_id, description: str):
        self.run, self.progress, self.task_id, self.description = run, progress, task_id, description

    def advance(self, n: int = 1, **values: float) -> None:
        shown = "  ".join(f"{k}={v:.4g}" for k, v in values.items())
        self.progress.update(self.task_id, advance=n, info=shown)
        if values:
            self.run.history.setdefault(self.description, []).append({k: float(v) for k, v in values.items()})


class RunContext:
    """What components see of a run (see :class:`sc_toolkit.runtime.RunLike`), plus the record
    the runner keeps: step timings and row counts, history of recorded values, the manifest."""

    def __init__(self, directory: Path, *, seed: int, quick: bool, console: Console | None = None):
        self.directory = directory
        self.seed = seed
        self.quick = quick
        self.console = console or Console(stderr=True)
        self.history: dict[str, list[dict[str, float]]] = {}
        self.steps: list[dict[str, Any]] = []
        self.manifest: dict[str, Any] = {}
        self._log = open(directory / "run.log", "a", encoding="utf-8")

    def close(self) -> None:
        self._log.close()

    def log(self, message: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        self._log.write(f"{stamp} {message}\n")
        self._log.flush()

    def checkpoint_dir(self, component: str) -> Path:
        path = self.directory / "checkpoints" / component
        path.mkdir(parents=True, exist_ok=True)
        return path

    def model_dir(self, name: str) -> Path:
        return self.directory / "models" / name

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[_Task]:
        columns = [TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
        with Progress(*columns, console=self.console, transient=False) as progress:
            task_id = progress.add_task(description, total=total, info="")
            yield _Task(self, progress, task_id, description)

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """Time a step; the yielded dict takes ``rows_out`` and notes; recorded in the manifest."""
        record: dict[str, Any] = {"step": name}
        self.log(f"start {name}")
        start = time.perf_counter()
        try:
            yield record
        except BaseException as error:
            record["status"] = f"failed: {type(error.__cause__ or error).__name__}"
            raise
        else:
            record.setdefault("status", "done")
        finally:
            record["seconds"] = round(time.perf_counter() - start, 3)
            self.steps.append(record)
            self.log(f"end {name}: {record['status']} in {record['seconds']} s"
                     + (f", {record.get('rows_out')} rows out" if record.get("rows_out") is not None else ""))
            self.write_manifest()

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as JSON atomically (temp file, then rename)."""
        path = self.directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
        os.replace(tmp, path)
        return path

    def write_manifest(self) -> None:
        self.manifest["steps"] = self.steps
        self.write_json("manifest.json", self.manifest)


def base_manifest(plugins: dict[str, str], seed: int, quick: bool) -> dict[str, Any]:
    """Versions and settings known before any step runs."""
    return {
        "sc_toolkit": __version__,
        "plugins": plugins,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_commit": git_commit(Path(__file__).parent),
        "seed": seed,
        "quick": quick,
        "command": sys.argv,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def device_used() -> str:
    """'cuda' when a component of this process put work on a CUDA GPU, else 'cpu' (torch is
    consulted only if something already imported it)."""
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized() else "cpu"


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
