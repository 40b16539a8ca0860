"""Bootstrap members of a LightGBM ensemble as Ray tasks: wall time of ``fit`` in this process and on
a local Ray of 1 and 2 workers, with the predictions checked identical.

The ensemble is the main recipe's ``tc`` predictor (recipes/cuprate_gan.toml: 400 trees, learning
rate 0.05) with ``--members`` members (4), on SuperCon rows with Tc > 0 and their 132 Magpie
features. Each member uses one thread (``n_jobs=1``), so a member is a Ray task of one CPU; the
in-process fit with ``n_jobs=1`` is the baseline, and the in-process fit with the predictor's
default ``n_jobs=2`` (two threads per member) is what a run does today. Starting Ray is timed apart
(a run pays it once, for its predictors and its screening together). The settings run one after
the other in rounds (``--repeats``), and the median of each is reported, since the load of a shared
machine moves between them.

    .venv/bin/python benchmarks/ensemble_members_ray.py [--members 4] [--rows N] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import time

import numpy as np

from sc_toolkit import load_dataset, load_registry, task_executor

REGISTRY = load_registry()
#: The main recipe's tc predictor (recipes/cuprate_gan.toml), members of one thread.
TC = dict(n_estimators=400, learning_rate=0.05, random_state=0)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def versions() -> str:
    names = ("sc-toolkit", "lightgbm", "ray", "numpy")
    return f"python {platform.python_version()}, " + ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def table(rows: int | None):
    supercon = load_dataset(REGISTRY.dataset("supercon")).table
    supercon = supercon[supercon["tc"] > 0].reset_index(drop=True)
    if rows:
        supercon = supercon.sample(rows, random_state=0).reset_index(drop=True)
    return REGISTRY.get("encoder", "magpie")().encode(supercon), supercon["tc"].to_numpy(float)


def timed_fit(X, y, members: int, n_jobs: int, run=None):
    """(wall seconds of one fit, the fitted predictor)."""
    model = REGISTRY.get("predictor", "lightgbm")(**TC, n_models=members, n_jobs=n_jobs)
    start = time.perf_counter()
    model.fit(X, y, run=run)
    return time.perf_counter() - start, model


def one_round(X, y, members: int) -> dict:
    """Every setting once: {setting: (fit seconds, predictor)}; Ray started and stopped for each."""
    results = {"in this process, 1 thread per member": timed_fit(X, y, members, 1),
               "in this process, 2 threads per member (n_jobs=2)": timed_fit(X, y, members, 2)}
    for workers in (1, 2):
        start = time.perf_counter()
        with task_executor("ray", workers=workers) as tasks:
            started = time.perf_counter() - start
            list(tasks.map(_warm, range(workers), shared=2.0, cpus=1))  # every worker up, lightgbm imported
            results[f"Ray, {workers} worker(s), 1 thread per member"] = timed_fit(X, y, members, 1, tasks)
        print(f"(Ray with {workers} worker(s) started in {started:.1f} s)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--rows", type=int, default=None, help="a seeded sample of this many rows (default: all)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of every setting, one after the other (the load moves); the median is reported")
    args = parser.parse_args()

    X, y = table(args.rows)
    print(f"SuperCon Tc > 0: {len(y)} rows, {X.shape[1]} Magpie features; {args.members} LightGBM members of "
          f"{TC['n_estimators']} trees; {os.cpu_count()} CPUs; {versions()}")
    print(f"load average at start: {load_average()}")
    _warm(0, None)  # lightgbm imported here before the clock, as in the workers
    rounds = [one_round(X, y, args.members) for _ in range(args.repeats)]
    names = list(rounds[0])
    baseline_name = names[0]
    expected = rounds[0][baseline_name][1].predict(X[:2000])
    baseline = float(np.median([r[baseline_name][0] for r in rounds]))
    print(f"\n{'setting':52s} {'median s':>8s} {'range s':>13s} {'speed-up':>9s}  predictions")
    for name in names:
        seconds = [r[name][0] for r in rounds]
        same = all(np.array_equal(r[name][1].predict(X[:2000]), expected) for r in rounds)
        median = float(np.median(seconds))
        print(f"{name:52s} {median:8.1f} {min(seconds):6.1f}-{max(seconds):<6.1f} {baseline / median:8.2f}x  "
              f"{'identical' if same else 'differ'}")
    print(f"load average at end: {load_average()}")


def _warm(item, shared, run=None) -> int:
    """Import what a member needs; on Ray, held long enough that every worker starts and gets one."""
    import lightgbm  # noqa: F401
    import sctk_boosting.lightgbm_model  # noqa: F401

    if shared:
        time.sleep(shared)
    return item


if __name__ == "__main__":
    main()
