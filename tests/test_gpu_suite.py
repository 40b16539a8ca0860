"""benchmarks/gpu_suite.py --tiny: every row of the GPU suite, shrunk to run on the CPU."""

import importlib.util
import json
from pathlib import Path

import pytest

SUITE = Path(__file__).parents[1] / "benchmarks" / "gpu_suite.py"


@pytest.mark.slow
def test_tiny_suite_prints_and_saves_every_row(data_dir, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_suite", SUITE)
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    assert suite.main(["--tiny", "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "gpu_suite.json").read_text())
    rows = {(r["component"], r["bf16"]): r for r in saved["rows"]}
    for recipe in suite.GENERATOR_RECIPES:
        for bf16 in (False, True):
            [row] = [r for (c, b), r in rows.items() if f"({recipe})" in c and b is bf16]
            assert row["throughput"] > 0 and row["epochs"] == suite.TINY["generator_epochs"]
    for name in ("sodnet", "alpha2f-ensemble"):
        [row] = [r for (c, _), r in rows.items() if c.startswith(name + " ")]
        assert row["epoch_seconds"] > 0 and row["rows"] == suite.TINY["crystal_rows"]
    assert any(c.startswith("main job") and r["seconds"] > 0 for (c, _), r in rows.items())
    assert all(r["peak_gib"] is None for r in saved["rows"])  # no GPU memory on the CPU
    table = (tmp_path / "gpu_suite.md").read_text()
    assert table in capsys.readouterr().out and table.count("\n| ") == len(saved["rows"]) + 1
    assert saved["tiny"] is True and "torch" in saved["libraries"]
