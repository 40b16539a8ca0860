"""The documentation stays in step with the code."""

from pathlib import Path

from sc_toolkit.docgen import components_markdown
from sc_toolkit.registry import load_registry

ROOT = Path(__file__).parents[1]


def test_components_reference_lists_every_component_and_parameter():
    expected = components_markdown(load_registry())
    actual = (ROOT / "docs" / "components.md").read_text()
    assert actual == expected, "docs/components.md is stale: uv run python -m sc_toolkit.docgen > docs/components.md"


def test_readme_shows_the_two_commands_and_the_offline_setting():
    readme = (ROOT / "README.md").read_text()
    for text in ("uv run sctk run recipes/cuprate_gan.toml", "uv run pytest", "SCTK_DATA_DIR"):
        assert text in readme


def test_dgl_decision_is_documented():
    assert "DGL" in (ROOT / "docs" / "decisions.md").read_text()
