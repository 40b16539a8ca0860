"""Time 100,000 generated compositions through a run's pipeline: sample, decode, filter, score.

Usage (a finished run with a generator and a predictor, e.g. `sctk run recipes/cuprate_gan.toml --quick`):

    .venv/bin/python benchmarks/generation_throughput.py RUN_DIR [-n 100000]

Stages, each timed: load the saved generator, encoder and predictor; sample; decode (formulas and
composition keys); filters (the run's recipe filters in order, fitted on training.parquet; each
judges only the rows earlier ones kept, as the runner does); score the survivors with the run's
first predictor (encoder + model). `--score-all` also scores every decoded sample (upper bound).
Issue target: the whole pipeline for 100,000 samples in 60 s or less on this CPU.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-n", "--n-samples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--score-all", action="store_true", help="also score every decoded sample")
    args = parser.parse_args()

    import sc_toolkit

    times: dict[str, float] = {}
    start = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        times[name] = now - since
        print(f"{name:<28} {times[name]:8.2f} s", flush=True)
        return now

    run = sc_toolkit.open_run(args.run_dir)
    recipe, registry = run.recipe, run.registry

    t = time.perf_counter()
    generator, encoder = run.generator
    first = run.predictor(run.predictor_names[0]) if run.predictor_names else None
    p_encoder, p_model = (first.encoder, first.model) if first else (None, None)
    training = run.training
    t = lap("load models + training", t)

    n = args.n_samples
    X = generator.sample(n, condition=(recipe.get("generator") or {}).get("condition"), random_state=args.seed)
    t = lap(f"sample {n}", t)
    compositions = encoder.decode(X)
    filled = compositions.n_elements > 0
    keys = np.full(n, "", dtype=object)
    keys[filled] = compositions[filled].keys()
    table = pd.DataFrame({"formula": compositions.formulas, "composition_key": keys,
                          "n_elements": compositions.n_elements})
    t = lap("decode (+ keys)", t)

    filters = recipe.get("filters") or [{"use": "unique"}, {"use": "novel"}, {"use": "smact-valid"}]
    alive = filled.copy()
    for entry in filters:
        component = registry.get("filter", entry["use"])(entry.get("params") or {}).fit(training)
        rows = np.flatnonzero(alive)
        subset = table.loc[rows, list(component.columns())].reset_index(drop=True)
        keep = np.asarray(component.keep(subset), dtype=bool)
        alive[rows[~keep]] = False
        t = lap(f"filter {entry.get('name', entry['use'])} ({keep.sum()}/{len(keep)})", t)

    if p_model is not None:
        survivors = compositions[alive]
        if len(survivors):
            p_model.predict(p_encoder.encode(survivors))
        t = lap(f"score {len(survivors)} survivors", t)
    total = time.perf_counter() - start
    print(f"{'total':<28} {total:8.2f} s   (target <= 60 s; {n / total:,.0f} samples/s)")
    if args.score_all and p_model is not None:
        t = time.perf_counter()
        p_model.predict(p_encoder.encode(compositions[filled]))
        lap(f"score all {int(filled.sum())} decoded (extra)", t)
    print(f"cpu cores: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
