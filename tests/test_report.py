"""The run report: self-contained valid HTML with every section and its plots, for full, predictor-only
and broken runs; rendered in headless Chromium when it is installed."""

import json
import re
import shutil
import subprocess
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sc_toolkit.run.evaluate import evaluate_run, write_evaluation
from sc_toolkit.plan import make_plan
from sc_toolkit.registry import default_registry
from sc_toolkit.run.report import SECTIONS, write_report
from sc_toolkit.run.runner import execute, start_run

RECIPE = Path(__file__).parents[1] / "recipes" / "cuprate_gan.toml"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_LEAVES = {"rect", "line", "polyline", "circle", "path"}

pytestmark = pytest.mark.slow


class _Checker(HTMLParser):
    """Checks that every element is closed in order and collects section ids."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.sections, self.tags = [], [], [], {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "section":
            self.sections.append(dict(attrs).get("id"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def check_html(text: str) -> _Checker:
    assert text.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert not checker.stack, checker.stack
    return checker


def assert_offline(text: str) -> None:
    assert not re.search(r"https?://|//cdn|<script|<link|<img|<iframe|url\(|@import", text, re.I)


def predictor_only_run(output_dir: Path, registry) -> Path:
    """The main recipe reduced to a cheap kNN Tc model on 400 rows, nothing generated."""
    raw = tomllib.loads(RECIPE.read_text())
    raw["run"]["output_dir"] = str(output_dir)
    raw["quick"] |= {"n_samples": 300, "rows": 400}
    for key in ("generator", "filters", "rank", "evaluate"):
        raw.pop(key)
    raw["quick"]["set"] = {}
    raw["predictors"] = [{"name": "tc", "use": "knn", "target": "tc", "encoder": {"use": "element-fractions"}}]
    plan = make_plan(raw, registry, quick=True)
    directory = start_run(plan, RECIPE.read_text())
    execute(plan, registry, directory)
    return directory.path


@pytest.fixture(scope="module")
def registry():
    return default_registry()


@pytest.fixture(scope="module")
def full_report(tmp_path_factory, small_main_run, registry):
    directory = tmp_path_factory.mktemp("runs") / small_main_run.name
    shutil.copytree(small_main_run, directory)
    result = evaluate_run(directory, registry, n_samples=600, embedding="pca", embedding_points=100)
    write_evaluation(directory, result)
    return write_report(directory)


def test_full_report_has_every_section_and_plot(full_report):
    text = full_report.read_text()
    checker = check_html(text)
    assert checker.sections == list(SECTIONS)
    sections = dict(re.findall(r'<section id="(\w+)">(.*?)</section>', text, re.S))
    for key in ("losses", "tc", "embedding"):
        assert sections[key].count("<svg") >= 1, key
    assert sections["losses"].count("<polyline") == 4  # critic, generator, Wasserstein, penalty
    accepted = len(full_report.with_name("accepted.csv").read_text().strip().splitlines()) - 1
    # training, generated (evaluation), and accepted when some candidate passed every filter
    assert sections["tc"].count("<polyline") == 2 + (accepted > 0)
    embedding = json.loads(full_report.with_name("metrics.json").read_text())["evaluation"]["embedding"]
    assert sections["embedding"].count("<circle") == embedding["n_generated"] + embedding["n_training"] > 100
    assert sections["elements"].count('class="ptable"') == 2 + (accepted > 0) and ">Cu<" in sections["elements"]
    assert ("tc_pred" in sections["candidates"]) if accepted else ("No candidate" in sections["candidates"])
    assert "baseline_median" in sections["metrics"] and "smact-valid" in sections["metrics"]
    for metric in ("smact_valid_no_alloys", "uniqueness", "novelty_supercon", "recovery", "predicted_superconductor"):
        assert metric in sections["evaluation"]
    assert "notes" not in checker.sections
    assert_offline(text)


def test_predictor_only_and_broken_runs(tmp_path, data_dir, registry):
    directory = predictor_only_run(tmp_path / "runs", registry)
    checker = check_html(write_report(directory).read_text())
    assert checker.sections == ["summary", "recipe", "tc", "elements", "metrics"]

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.json").write_text("{not json")
    (broken / "history.json").write_text(json.dumps({"generator": [{"epoch": 1}], "odd": 3}))
    (broken / "accepted.csv").write_text("")
    (broken / "resolved.toml").write_text("[run]\nname = 'x'\n")
    text = write_report(broken).read_text()
    assert check_html(text).sections == ["summary", "recipe"]
    assert_offline(text)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_renders_in_headless_chromium(full_report):
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--dump-dom", full_report.as_uri()], capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for key in SECTIONS:
        assert f'id="{key}"' in dom
    assert dom.count("<svg") >= 3 and "<circle" in dom and "<polyline" in dom
    assert "CONSOLE" not in done.stderr and "Uncaught" not in done.stderr
