"""A third party's plugin, installed outside the workspace, is found and used by a recipe."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCTK = str(Path(sys.executable).parent / "sctk")
EXAMPLE = ROOT / "tests" / "example_plugin"


@pytest.fixture
def installed_example(tmp_path) -> dict[str, str]:
    """Install tests/example_plugin as a distribution (dist-info with an entry point) in a site
    directory of its own, and return the environment that sees it."""
    site = tmp_path / "site"
    dist_info = site / "sctk_example-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: sctk-example\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text("[sc_toolkit]\nexample = sctk_example.plugin\n")
    paths = [str(site), str(EXAMPLE), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def run(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([SCTK, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_list_plugins_shows_the_third_party_component(installed_example):
    listing = json.loads(run("list-plugins", "--json", env=installed_example).stdout)
    [entry] = [c for c in listing["components"] if c["name"] == "max-atoms"]
    assert entry == {"kind": "filter", "name": "max-atoms", "plugin": "example", "version": "0.1.0",
                     "status": "ok", "summary": "Keeps compositions whose formula holds at most ``limit`` atoms."}


#: A small recipe whose last filter is the third party's: a short GAN over element fractions, a
#: predictor, the built-in filters and then ``max-atoms``.
THIRD_PARTY_RECIPE = """
[run]
name = "third_party"
seed = 1

[data]
dataset = "supercon"

[generator]
use = "wgan-gp"
n_samples = 300
encoder = { use = "element-fractions", params = { max_z = 96, min_fraction = 0.01 } }
params = { epochs = 3, hidden = [32], batch_size = 32 }

[[predictors]]
name = "tc"
use = "lightgbm"
target = "tc"
encoder = { use = "magpie" }
params = { n_estimators = 20, n_models = 1 }

[[filters]]
use = "unique"

[[filters]]
use = "max-atoms"
params = { limit = 16 }

[quick]
rows = 500
n_samples = 300
"""


def test_a_recipe_uses_the_third_party_filter(installed_example, tmp_path, data_dir):
    path = tmp_path / "with_example.toml"
    path.write_text(THIRD_PARTY_RECIPE)
    assert "max-atoms" in run("check", path, env=installed_example).stdout
    result = run("run", path, "--quick", "--set", f'run.output_dir="{tmp_path / "runs"}"', env=installed_example)
    assert result.returncode == 0, result.stderr
    [run_dir] = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["components"]["filters.1"]["plugin"] == "example"
    counts = json.loads((run_dir / "metrics.json").read_text())["generation"]["filters"]["max-atoms"]
    assert counts["in"] > 0


def test_without_the_plugin_the_recipe_is_refused(tmp_path):
    path = tmp_path / "with_example.toml"
    path.write_text((ROOT / "recipes" / "cuprate_gan.toml").read_text() + '\n[[filters]]\nuse = "max-atoms"\n')
    result = run("check", path, env=dict(os.environ))
    assert result.returncode == 2 and "no filter named 'max-atoms'" in result.stderr
