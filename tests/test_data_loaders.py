"""Dataset loaders on the real files (skipped without SCTK_DATA_DIR).

The three large pre-training tables (OQMD 444k rows, MP 133k, JARVIS 76k) are tested on real rows
copied into a small folder, so that the suite stays fast; the others are loaded whole. The SuperCon
loaders are tested in test_data_supercon.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sc_toolkit.chem import composition_key, parse_formula
from sc_toolkit.data import catalog, load, loaders

def _subset(source: Path, target: Path, names: list[str], keep) -> None:
    """Copy the header and the data lines for which ``keep(line_number, line)`` holds."""
    target.mkdir(exist_ok=True)
    for name in names:
        lines = (source / name).read_text().splitlines(keepends=True)
        (target / name).write_text(lines[0] + "".join(l for i, l in enumerate(lines[1:]) if keep(i, l)))


def test_uci_superconductivity(data_dir):
    table = load(catalog.UCI_SUPERCONDUCTIVITY).table
    assert len(table) == 21_263
    assert table.loc[0, ["formula", "tc", "class"]].tolist() == ["Ba0.2La1.8CuO4", 29.0, "cuprate"]
    assert table["oxygen_unknown"].sum() == 1909
    assert table["formula"].duplicated().sum() == 5954  # rows repeating another row's element counts
    assert table["composition_key"].duplicated().sum() == 6124  # ... or its composition (Cu2Mo6S8 ~ CuMo3S4)
    assert table["tc"].max() == pytest.approx(185.0)


def test_oqmd_merges_tables_and_keeps_enthalpy(data_dir, tmp_path):
    source = data_dir / "oqmd_crabnet"
    enthalpy = pd.read_csv(source / "OQMD_Formation_Enthalpy_val.csv", keep_default_na=False).head(300)
    wanted = set(enthalpy["formula"])
    _subset(source, tmp_path, ["OQMD_Formation_Enthalpy_val.csv"], lambda i, line: i < 300)
    _subset(source, tmp_path, ["OQMD_Formation_Enthalpy_test.csv"], lambda i, line: i < 100)
    for name in ("OQMD_Bandgap_train.csv", "OQMD_Bandgap_val.csv", "OQMD_Bandgap_test.csv"):
        _subset(source, tmp_path, [name], lambda i, line: i < 200 or line.split(",")[0] in wanted)
    table = loaders.load_oqmd(tmp_path).table
    assert list(table.columns) == [
        "formula", "reduced_formula", "composition_key", "formation_enthalpy", "band_gap", "n_entries"
    ]
    assert table["composition_key"].is_unique
    row = table.set_index("formula").loc[enthalpy["formula"][0]]
    assert row["formation_enthalpy"] == pytest.approx(enthalpy["target"][0])
    assert not np.isnan(row["band_gap"])  # the same formula also has a band gap
    assert table["formation_enthalpy"].notna().sum() == 400
    band_gap_formulas = set()
    for name in ("OQMD_Bandgap_train.csv", "OQMD_Bandgap_val.csv", "OQMD_Bandgap_test.csv"):
        band_gap_formulas |= set(pd.read_csv(tmp_path / name, keep_default_na=False)["formula"])
    assert set(table["formula"][table["band_gap"].notna()]) == band_gap_formulas
    assert len(table) == len(band_gap_formulas | set(table["formula"][table["formation_enthalpy"].notna()]))


def test_mp_e_form_keeps_lowest_polymorph(data_dir, tmp_path):
    _subset(data_dir / "matbench_mp_e_form", tmp_path, ["mp_e_form.csv"], lambda i, line: i < 2000)
    raw = pd.read_csv(tmp_path / "mp_e_form.csv", keep_default_na=False)
    table = loaders.load_mp_e_form(tmp_path).table
    cdc = table.set_index("reduced_formula").loc["CdC"]
    keys = raw["formula"].map(lambda f: composition_key(parse_formula(f)))
    cdc_rows = raw["target"][keys == cdc["composition_key"]]
    assert len(cdc_rows) > 1
    assert (cdc["n_entries"], cdc["formation_energy"]) == (len(cdc_rows), cdc_rows.min())
    assert table["n_entries"].sum() == 2000


def test_jarvis_dft_3d_reads_sodium_nitride(data_dir, tmp_path):
    _subset(
        data_dir / "jarvis_dft_3d", tmp_path, ["jarvis_dft_3d.csv"],
        lambda i, line: i < 500 or line.split(",")[1] == "NaN",
    )  # fmt: skip
    table = loaders.load_jarvis_dft_3d(tmp_path).table
    nan = table.set_index("reduced_formula").loc["NaN"]  # sodium nitride, not a missing value
    assert nan["n_entries"] == 3 and nan["formation_energy"] == pytest.approx(0.02137)
    assert table["n_entries"].sum() == 503
    assert table["mbj_bandgap"].isna().any() and table["formation_energy"].notna().all()


def test_structure_indexes(data_dir):
    three_dsc = load(catalog.THREE_DSC)
    assert len(three_dsc.table) == 10_904 and three_dsc.table["tc"].isna().sum() == 590
    supercon3d = load(catalog.SUPERCON3D).table
    assert len(supercon3d) == 1578 and (supercon3d["order"] == "disorder").sum() == 562
    jarvis = load(catalog.JARVIS_SUPERCON)
    assert len(jarvis.table) == 1056 and len(jarvis.rejected) == 2  # two entries carry no structure
    assert jarvis.table["cif"].str.contains("_cell_length_a").all()
    bete = load(catalog.BETE_NET)
    assert len(bete.table) == 806 and len(bete.rejected) == 18
    assert set(bete.table["split"]) == {"train", "test"}
