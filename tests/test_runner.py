"""A failed step exits 1 and loses nothing; `resume` finishes the run from what it computed."""

import json
import tomllib
import types
from pathlib import Path

import numpy as np
import pytest

from sc_toolkit import Filter, hookimpl
from sc_toolkit.errors import RecipeError, StepError
from sc_toolkit.plan import make_plan
from sc_toolkit.registry import load_registry
from sc_toolkit.run.runner import execute, start_run

RECIPE = Path(__file__).parents[1] / "recipes" / "cuprate_gan.toml"


class Explodes(Filter):
    """Fails on purpose."""

    name = "flaky"

    def keep(self, table, *, run=None):
        raise RuntimeError("disk on fire")


class Works(Filter):
    """The same filter, repaired."""

    name = "flaky"

    def keep(self, table, *, run=None):
        return np.ones(len(table), dtype=bool)


def registry_with(cls):
    return load_registry({"flaky": types.SimpleNamespace(register_filters=hookimpl(lambda register: register(cls)))})


@pytest.mark.slow
def test_failed_step_keeps_models_and_resume_completes(tmp_path, data_dir):
    raw = tomllib.loads(RECIPE.read_text())
    raw["run"]["output_dir"] = str(tmp_path)
    raw["quick"] |= {"n_samples": 300, "rows": 400}
    raw["quick"]["set"]["generator.params.epochs"] = 10  # a generator to keep, not a good one
    raw["filters"].append({"use": "flaky"})
    broken = registry_with(Explodes)
    plan = make_plan(raw, broken, quick=True)
    directory = start_run(plan, RECIPE.read_text())
    with pytest.raises(StepError, match="step 'filter and predict' failed: RuntimeError: disk on fire") as info:
        execute(plan, broken, directory)
    assert info.value.exit_code == 1 and "resume" in info.value.hint
    generator_state = (directory / "models/generator/generator/component.json").read_text()
    assert (directory / "models/predictors/tc/predictor/component.json").exists()

    repaired = registry_with(Works)
    result = execute(make_plan(raw, repaired, quick=True), repaired, directory)
    log = (directory / "run.log").read_text()
    assert "generator loaded from a previous attempt" in log and "predictor tc loaded" in log
    assert (directory / "models/generator/generator/component.json").read_text() == generator_state
    assert result.accepted is not None and (directory / "accepted.csv").exists()
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["attempts"] == 2
    statuses = [(s["step"], s["status"]) for s in manifest["steps"]]
    assert ("filter and predict", "failed: RuntimeError") in statuses and ("rank", "done") in statuses


@pytest.mark.slow
def test_generator_starts_from_a_previous_run_by_name(tmp_path, small_main_run):
    raw = tomllib.loads(RECIPE.read_text())
    raw["run"] |= {"output_dir": str(tmp_path), "name": "transfer"}
    raw["quick"] |= {"n_samples": 200, "rows": 300}
    raw["quick"]["set"]["generator.params.epochs"] = 10
    raw["generator"]["init_from"] = str(small_main_run)  # the same generator, trained by a previous run
    registry = registry_with(Works)
    plan = make_plan(raw, registry, quick=True)
    assert f"starting from {small_main_run}" in "\n".join(plan.describe())
    second = start_run(plan, "")
    execute(plan, registry, second)
    assert f"generator starts from {small_main_run}/models/generator" in (second / "run.log").read_text()

    raw["generator"]["encoder"] = {"use": "magpie"}
    with pytest.raises(RecipeError) as info:
        make_plan(raw, registry, quick=True)
    messages = [p.message for p in info.value.problems]
    assert any("holds a 'scgan-onehot' encoder, but this recipe uses 'magpie'" in m for m in messages)
    raw["generator"]["init_from"] = str(tmp_path / "nothing")
    with pytest.raises(RecipeError, match="1 problem|problems"):
        make_plan(raw | {"generator": raw["generator"] | {"encoder": {"use": "scgan-onehot"}}}, registry)
