"""Screening at scale: N fresh samples of a run's generator (or every composition of a space of
elements) decoded, filtered (SMACT included), featurised and scored by the run's predictors, streamed
in batches; time, rows/s and peak memory.

Usage (a finished run with a generator, e.g. `sctk run recipes/cuprate_gan.toml`):

    nice -n 10 .venv/bin/python benchmarks/screen_scale.py RUN_DIR -n 1000000 [--executor ray --workers 2]
    nice -n 10 .venv/bin/python benchmarks/screen_scale.py RUN_DIR --space Y,Ba,Cu,O,Sr,Ca,La,Bi,Tl,Hg,Pb,Nd

Peak RSS is sampled every second over this process and every process it started (Ray's raylet and
workers included), and reported as the largest sum seen. `--compare-workers` runs the Ray executor
with 1 and then 2 workers on the same samples and prints the throughput ratio. The baseline beside
the streamed figures is the whole candidate table's size in memory (what a one-pass screening holds),
measured by reading back the shards written.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from itertools import combinations, product
from math import gcd
from pathlib import Path

import pandas as pd
import psutil


class PeakRss:
    """Largest summed RSS of this process and its descendants, sampled every ``every`` seconds."""

    def __init__(self, every: float = 1.0):
        self.peak, self.every, self._stop = 0, every, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)


def write_space(path: Path, elements: list[str], max_amount: int, max_elements: int) -> int:
    """Every composition of 2 to ``max_elements`` of ``elements`` with amounts 1..``max_amount`` (each
    reduced composition once), as a Parquet file of formulas; returns how many."""
    formulas = [
        "".join(f"{e}{a}" for e, a in zip(subset, amounts))
        for k in range(2, max_elements + 1)
        for subset in combinations(elements, k)
        for amounts in product(range(1, max_amount + 1), repeat=k)
        if gcd(*amounts) == 1
    ]
    pd.DataFrame({"formula": formulas}).to_parquet(path)
    return len(formulas)


def whole_table_size(path: Path) -> tuple[int, int]:
    """Rows of the candidate table at ``path`` and the bytes pandas would hold for it as one table
    (the sum of its parts' deep memory usage, less their indexes), read one shard at a time."""
    import pyarrow.dataset as ds

    rows = size = 0
    for batch in ds.dataset(path, format="parquet").to_batches():
        part = batch.to_pandas()
        rows += len(part)
        size += int(part.memory_usage(deep=True, index=False).sum())
    return rows, size


def screen_once(run, n: int | Path, executor: str, batch_size: int, workers: int | None) -> dict:
    started = time.perf_counter()
    with PeakRss() as rss:
        if executor == "ray" and workers:
            import ray

            ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            result = run.screen(n, executor=executor, batch_size=batch_size, seed=1)
        finally:
            if executor == "ray" and workers:
                ray.shutdown()
    seconds = time.perf_counter() - started
    rows, table_bytes = whole_table_size(result.output.path / "candidates.parquet")
    return {"executor": executor, "workers": workers or 1, "n": rows, "seconds": seconds,
            "rows_per_s": rows / seconds,
            "peak_rss_gb": rss.peak / 1e9, "table_mb": table_bytes / 1e6,
            "accepted": result.counts["accepted"], "filters": result.counts["filters"],
            "output": str(result.output.path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-n", "--n-samples", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--executor", choices=["local", "ray"], default="local")
    parser.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray (--executor ray)")
    parser.add_argument("--compare-workers", action="store_true", help="Ray with 1, then 2 workers")
    parser.add_argument("--space", metavar="ELEMENTS", help="screen every composition of these comma-separated "
                        "elements (2 to --max-elements of them, amounts 1..--max-amount) instead of samples")
    parser.add_argument("--max-amount", type=int, default=4)
    parser.add_argument("--max-elements", type=int, default=4)
    args = parser.parse_args()

    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before Ray is imported: 127.0.0.1 only
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # workers in this environment (as sctk)
    import lightgbm
    import ray
    import sc_toolkit

    run = sc_toolkit.open_run(args.run_dir)
    source: int | Path = args.n_samples
    if args.space:
        source = Path(tempfile.mkdtemp()) / "space.parquet"
        count = write_space(source, args.space.split(","), args.max_amount, args.max_elements)
        print(f"space: {count:,} compositions of {args.space} (2 to {args.max_elements} elements, amounts 1 to "
              f"{args.max_amount})")
    settings = [("ray", 1), ("ray", 2)] if args.compare_workers else [(args.executor, args.workers)]
    rows = [screen_once(run, source, executor, args.batch_size, workers) for executor, workers in settings]
    what = "compositions" if args.space else "samples"
    for r in rows:
        print(f"{r['executor']:<6} workers {r['workers']}  {r['n']:>11,} {what}  {r['seconds']:8.1f} s  "
              f"{r['rows_per_s']:9,.0f} rows/s  peak RSS {r['peak_rss_gb']:.2f} GB  "
              f"(whole table in memory: {r['table_mb']:,.0f} MB)  accepted {r['accepted']:,}")
        print("   filters: " + ", ".join(f"{k} {v['kept']:,}/{v['in']:,}" for k, v in r["filters"].items()))
        print(f"   written to {r['output']}")
    if args.compare_workers:
        print(f"throughput 2 workers / 1 worker: {rows[1]['rows_per_s'] / rows[0]['rows_per_s']:.2f}x")
    print(f"batch size {args.batch_size:,}; sc-toolkit {sc_toolkit.__version__}, ray {ray.__version__}, "
          f"lightgbm {lightgbm.__version__}, pandas {pd.__version__}, python {platform.python_version()}")
    print(f"cpu cores: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
