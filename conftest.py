"""Shared test set-up: real data from ``SCTK_DATA_DIR`` (default ``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parent
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
os.environ.setdefault("SCTK_DATA_DIR", str(DEFAULT_DATA_DIR))
DATA_DIR = Path(os.environ["SCTK_DATA_DIR"])


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real datasets; tests that need it are skipped when it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"no real data at {DATA_DIR}: set SCTK_DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="session")
def supercon_raw_table(data_dir: Path) -> pd.DataFrame:
    """Stanev 2018 SuperCon table as shipped (columns name, Tc)."""
    return pd.read_csv(data_dir / "supercon_stanev2018" / "Supercon_data_by_2018_Stanev.csv")


@pytest.fixture(scope="session")
def supercon_slice(supercon_raw_table: pd.DataFrame) -> pd.DataFrame:
    """2,000 real SuperCon rows (seeded sample) whose formulas parse, with columns formula, tc."""
    from sc_toolkit.chem import Compositions

    sample = supercon_raw_table.sample(2000, random_state=0)
    _, rejected = Compositions.parse(sample["name"])
    bad = {r.row for r in rejected}
    keep = [i not in bad for i in range(len(sample))]
    return sample[keep].rename(columns={"name": "formula", "Tc": "tc"}).reset_index(drop=True)


@pytest.fixture
def sctk_here(monkeypatch, capsys):
    """Run `sctk ARGS` in this process (so that writers can be patched): returns a function giving
    (exit code, stdout, stderr)."""
    import sys
    import warnings

    from sc_toolkit import cli

    def run(*args) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["sctk", *map(str, args)])
        monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main replaces it
        with pytest.raises(SystemExit) as stop:
            cli.main()
        captured = capsys.readouterr()
        return stop.value.code, captured.out, captured.err

    return run
