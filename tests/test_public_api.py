"""Plugins and benchmarks use only the declared Python API: the names in ``sc_toolkit.__all__`` and
the contract checks of ``sc_toolkit.testing``. Every declared name resolves, and ``import
sc_toolkit`` stays cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sc_toolkit

ROOT = Path(__file__).parents[1]

#: Source trees held to the declared API (glob patterns of folders, relative to the repository).
#: Add a folder here to hold its Python files to the same line.
CHECKED_ROOTS = ("plugins/*/src", "plugins/*/benchmarks", "benchmarks")

#: Modules of the core that checked files may import besides the names in ``sc_toolkit.__all__``.
ALLOWED_MODULES = frozenset({"sc_toolkit.testing"})

PUBLIC = frozenset(sc_toolkit.__all__)


def checked_files() -> list[Path]:
    return sorted(f for pattern in CHECKED_ROOTS for folder in ROOT.glob(pattern) for f in folder.rglob("*.py"))


def _allowed_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES)


def violations(source: str) -> list[str]:
    """``line: what`` for each use of the core outside the declared API in ``source``."""
    tree = ast.parse(source)
    found: list[str] = []
    aliases: set[str] = set()  # local names bound to the sc_toolkit package itself
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sc_toolkit":
                    aliases.add(alias.asname or "sc_toolkit")
                elif alias.name.startswith("sc_toolkit.") and not _allowed_module(alias.name):
                    found.append(f"{node.lineno}: import {alias.name}")
                elif alias.name.startswith("sc_toolkit.") and alias.asname is None:
                    aliases.add("sc_toolkit")  # `import sc_toolkit.testing` binds sc_toolkit too
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "sc_toolkit":
                for alias in node.names:
                    if alias.name not in PUBLIC and not _allowed_module(f"sc_toolkit.{alias.name}"):
                        found.append(f"{node.lineno}: from sc_toolkit import {alias.name}")
            elif node.module.startswith("sc_toolkit.") and not _allowed_module(node.module):
                names = ", ".join(a.name for a in node.names)
                found.append(f"{node.lineno}: from {node.module} import {names}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr not in PUBLIC
            and not _allowed_module(f"sc_toolkit.{node.attr}")
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_checked_trees_hold_python_files():
    files = checked_files()
    assert any("plugins/sctk-composition/src" in f.as_posix() for f in files)
    assert any("/benchmarks/" in f.as_posix() for f in files)


@pytest.mark.parametrize("path", checked_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_uses_only_the_declared_api(path):
    found = violations(path.read_text())
    assert not found, (
        f"{path.relative_to(ROOT)} reaches into the core beyond sc_toolkit.__all__:\n  " + "\n  ".join(found)
        + "\nimport the name from sc_toolkit (add it to sc_toolkit/__init__.py's __all__ if plugins need it)"
    )


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from sc_toolkit.chem import SYMBOLS", True),
        ("from sc_toolkit.errors import did_you_mean", True),
        ("from sc_toolkit import chem", True),
        ("import sc_toolkit.metrics", True),
        ("import sc_toolkit\nsc_toolkit.chem.SYMBOLS", True),
        ("import sc_toolkit as sk\nsk.errors.DataError", True),
        ("import sc_toolkit.testing\nsc_toolkit.registry.load_registry()", True),
        ("from sc_toolkit import SYMBOLS, did_you_mean, DataError", False),
        ("import sc_toolkit\nclass F(sc_toolkit.Filter): pass", False),
        ("from sc_toolkit.testing import check_encoder", False),
        ("from sc_toolkit import testing", False),
        ("from . import chem\nfrom .chem import x", False),  # the plugin's own modules
        ("import sc_toolkitx.chem", False),
    ],
)
def test_the_check_sees_every_form_of_import(source, bad):
    assert bool(violations(source)) is bad, violations(source)


def test_every_declared_name_resolves():
    missing = [name for name in sc_toolkit.__all__ if not hasattr(sc_toolkit, name)]
    assert not missing, missing
    assert len(set(sc_toolkit.__all__)) == len(sc_toolkit.__all__), "a name is declared twice"


def test_importing_the_package_stays_cheap():
    code = (
        "import sys, sc_toolkit; heavy = [m for m in ('torch', 'pandas', 'rich') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
