"""Time the evaluation step of a finished run (the recipe's ``[evaluate]``: 100,000 fresh samples by
default) and nothing else: the run's models and SuperCon are loaded before the clock starts.

The script uses only calls that the code before the streaming screening also had, so the same file
times an older checkout on the same run, back to back (docs/benchmarks.md, "Ensemble members on Ray;
the evaluation before and after the executors")::

    nice -n 10 python benchmarks/evaluation_timing.py RUN_DIR
    git worktree add /tmp/old a6d1315
    PYTHONPATH=$(echo /tmp/old /tmp/old/plugins/*/src | tr ' ' ':') nice -n 10 python benchmarks/evaluation_timing.py RUN_DIR
"""

from __future__ import annotations

import argparse
import json
import os
import time
from importlib.util import find_spec
from pathlib import Path

from sc_toolkit import load_dataset, load_registry, open_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-n", "--n-samples", type=int, default=100_000)
    args = parser.parse_args()

    run = open_run(args.run_dir)
    supercon = load_dataset(load_registry().dataset("supercon")).table
    start = time.perf_counter()
    result = run.evaluate(args.n_samples, save=False, supercon=supercon)
    seconds = time.perf_counter() - start
    print(json.dumps({"code": str(Path(find_spec("sc_toolkit").origin).parents[1]), "seconds": round(seconds, 1),
                      "parts": result["seconds"], "load": [round(x, 2) for x in os.getloadavg()],
                      "smact_valid": result["metrics"].get("smact_valid", {}).get("value")}))


if __name__ == "__main__":
    main()
