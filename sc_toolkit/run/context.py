"""What components see of a run, and the record the runner keeps of it: log, progress bars, step
timings and row counts, per-epoch history, the manifest (written through :class:`RunDir`).

While a run executes, Python warnings (third-party FutureWarnings and the like) go to its
``run.log``, and on to the ``warnings.showwarning`` in place before (which the command line, but for
``--debug``, makes drop them)."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .. import __version__
from ..runtime import ProgressLines
from .directory import LOG, MANIFEST, RunDir


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


#: Seconds between two progress lines in run.log.
PROGRESS_LOG_SECONDS = 5.0


class _Task:
    """A progress bar on the console and, at most every PROGRESS_LOG_SECONDS, a line in run.log
    (what a run whose output is not a terminal shows of its progress)."""

    def __init__(self, run: RunContext, progress: Progress, task_id, description: str, total: int | None):
        self.run, self.progress, self.task_id, self.description = run, progress, task_id, description
        self.lines = ProgressLines(run.log, description, total, every=PROGRESS_LOG_SECONDS)

    def advance(self, n: int = 1, **values: float) -> None:
        shown = "  ".join(f"{k}={v:.4g}" for k, v in values.items())
        self.progress.update(self.task_id, advance=n, info=shown)
        self.lines.advance(n, **values)
        if values:
            self.run.history.setdefault(self.description, []).append({k: float(v) for k, v in values.items()})


class RunContext:
    """What components see of a run (see :class:`sc_toolkit.runtime.RunLike`), plus the record
    the runner keeps: step timings and row counts, history of recorded values, the manifest, and
    the run's executor (:mod:`.executors`), made by ``executor(run)`` on first use (default: in this
    process) and closed by :meth:`close`."""

    def __init__(self, run_dir: RunDir, *, seed: int, quick: bool, console: Console | None = None,
                 executor: Callable[[RunContext], Any] | None = None):
        self.run_dir = run_dir
        self.directory = run_dir.path
        self.seed = seed
        self.quick = quick
        self.console = console or Console(stderr=True)
        self.history: dict[str, list[dict[str, float]]] = {}
        self.steps: list[dict[str, Any]] = []
        self.manifest: dict[str, Any] = {}
        self._log = open(run_dir.file(LOG), "a", encoding="utf-8")
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._log_warning
        self._make_executor = executor
        self._executor = None

    @property
    def executor(self):
        """The run's executor, made (a Ray started, where the recipe asks for one) on first use."""
        if self._executor is None:
            if self._make_executor is None:
                from .executors import LocalExecutor

                self._executor = LocalExecutor(self)
            else:
                self._executor = self._make_executor(self)
                self.log(f"executor: {self._executor.describe()}")
        return self._executor

    def map(self, function, items: Iterable, *, shared: Any = None, cpus: int = 1, gpus: int = 0) -> Iterator:
        """Independent pieces of work on the run's executor (see :func:`sc_toolkit.map_tasks`)."""
        return self.executor.map_tasks(function, items, shared=shared, cpus=cpus, gpus=gpus)

    def close(self) -> None:
        """Close the executor (stop a Ray started for the run), stop logging warnings, close the log."""
        try:
            if self._executor is not None:
                self._executor.close()
                self._executor = None
        finally:
            if warnings.showwarning == self._log_warning:
                warnings.showwarning = self._showwarning
            self._log.close()

    def _log_warning(self, message, category, filename, lineno, file=None, line=None) -> None:
        self.log(f"warning: {category.__name__}: {message} ({filename}:{lineno})")
        self._showwarning(message, category, filename, lineno, file, line)

    def log(self, message: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        self._log.write(f"{stamp} {message}\n")
        self._log.flush()

    def checkpoint_dir(self, component: str) -> Path:
        return self.run_dir.checkpoint_dir(component)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[_Task]:
        columns = [TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
        with Progress(*columns, console=self.console, transient=False) as progress:
            task_id = progress.add_task(description, total=total, info="")
            yield _Task(self, progress, task_id, description, total)

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

    def write_manifest(self) -> None:
        self.manifest["steps"] = self.steps
        self.run_dir.write_json(MANIFEST, self.manifest)


def base_manifest(plugins: dict[str, str], seed: int, quick: bool, failures=()) -> dict[str, Any]:
    """Versions and settings known before any step runs; ``failures`` are the registry's
    :class:`~sc_toolkit.registry.PluginFailure` records (plugins that failed to load)."""
    return {
        "sc_toolkit": __version__,
        "plugins": plugins,
        "plugin_failures": [{"plugin": f.plugin, "error": f.error} for f in failures],
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

