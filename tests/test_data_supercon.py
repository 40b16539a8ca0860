"""SuperCon loaders (Stanev 2018 table and the raw NIMS export) on the real files: cleaning rules
for oxygen markers, rejections, implausible flags, Tc = 0 semantics, aggregation and class labels.
The counts asserted here are the ones docs/data.md reports."""

from __future__ import annotations

import pandas as pd
import pytest

from sc_toolkit.chem import composition_key, parse_formula
from sc_toolkit.data import catalog, load, loaders

COLUMNS = [
    "formula", "reduced_formula", "composition_key", "tc", "tc_reported", "n_entries",
    "class", "class_lim", "oxygen_marker", "implausible",
]  # fmt: skip
STANEV_ROWS = 16_414
NIMS_ROWS = 26_321
BARE_O = "oxygen amount not written (bare 'O' read as 1)"
HOT = "Tc > 200 K without hydrogen"
NO_OXYGEN_AMOUNT = "oxygen amount not given (O followed by a variable)"


@pytest.fixture(scope="module")
def stanev(data_dir):
    return load(catalog.SUPERCON)


@pytest.fixture(scope="module")
def nims(data_dir):
    return load(catalog.SUPERCON_NIMS_RAW)


@pytest.fixture(scope="module")
def nims_source(data_dir):
    path = data_dir / "supercon_nims_raw" / "supercon_raw.tsv"
    return pd.read_csv(path, sep="\t", skiprows=[0, 1], dtype=str, keep_default_na=False)


def _by_key(table: pd.DataFrame, formula: str) -> pd.DataFrame:
    return table[table["composition_key"] == composition_key(parse_formula(formula))]


def _reasons(rejected: pd.DataFrame) -> dict[str, int]:
    """Rejection counts by reason, the parser's reasons cut before the quoted formula."""
    return rejected["reason"].str.replace(r" in '.*$", "", regex=True).value_counts().to_dict()


@pytest.mark.parametrize("which", ["stanev", "nims"])
def test_columns_and_every_source_row_accounted_for(which, request):
    result = request.getfixturevalue(which)
    table, rejected = result.table, result.rejected
    assert list(table.columns) == COLUMNS
    assert list(rejected.columns) == ["row", "value", "reason"]
    total = STANEV_ROWS if which == "stanev" else NIMS_ROWS
    assert table["n_entries"].sum() + len(rejected) == total
    assert not table.duplicated(["composition_key", "oxygen_marker", "implausible"]).any()
    plain = table[(table["oxygen_marker"] == "") & (table["implausible"] == "")]
    assert plain["composition_key"].is_unique
    assert not table["formula"].str.contains(r"[-+=]").any()


def test_nims_oxygen_markers_keep_the_nominal_amount(nims, nims_source):
    table = nims.table
    assert table.groupby("oxygen_marker")["n_entries"].sum().to_dict() == {
        "": 20_631, "-x": 1882, "+x": 1343, "+-x": 2, "=x": 2
    }  # fmt: skip
    first = table.iloc[0]  # source row 0: Ba0.2La1.8Cu1O4-Y, 29 K
    assert nims_source["element"][0] == "Ba0.2La1.8Cu1O4-Y"
    assert (first["formula"], first["oxygen_marker"]) == ("Ba0.2La1.8Cu1O4", "-x")
    assert (first["tc"], first["n_entries"]) == (28.5, 6)  # median over its six marked entries
    ybco = _by_key(table, "YBa2Cu3O7").set_index("oxygen_marker")
    assert {"", "-x", "+x"} <= set(ybco.index)  # measured O7 and O7-delta are kept apart
    assert ybco.loc["-x", "n_entries"] > 100 and ybco.loc["", "n_entries"] > 100
    y124 = _by_key(table, "YBa2Cu4O8").set_index("oxygen_marker")
    assert "+-x" in y124.index  # Y1Ba2Cu4O8+-Z


def test_nims_rejections_report_source_text(nims, nims_source):
    rejected = nims.rejected
    assert (nims_source["element"].iloc[rejected["row"]].to_numpy() == rejected["value"].to_numpy()).all()
    counts = _reasons(rejected)
    assert counts[NO_OXYGEN_AMOUNT] == 2116
    assert counts["unknown element 'M'"] == 298  # intercalated-molecule placeholder, e.g. Ta1S2M0.5
    assert counts["unknown element 'D'"] == 26 and counts["unknown element 'T'"] == 4
    assert counts["numeric offset after the formula (ambiguous)"] == 4
    assert counts["negative amount"] == 2
    assert len(rejected) == 2461
    by_value = rejected.drop_duplicates("value").set_index("value")["reason"]
    assert by_value["Yb16Ba1Cu2Oz"] == by_value["Y1Ba2Cu3OY"] == NO_OXYGEN_AMOUNT  # OY is not O1 Y1
    assert by_value["Bi1.6Pb0.4Sr2Ca2Cu3F0.8Oz-0.8"] == NO_OXYGEN_AMOUNT
    assert by_value["Hg0.3Pb0.7Sr1.75La0.25Cu1O4+2"] == "numeric offset after the formula (ambiguous)"
    assert by_value["Hg0.4Ce0.6Sr2.5Ca-0.1Nd0.5Cu2.1O7-z"] == "negative amount"


def test_nims_implausible_entries_are_flagged_not_changed(nims):
    table = nims.table
    flagged = table[table["implausible"] != ""].set_index("formula")
    assert flagged["implausible"].value_counts().to_dict() == {BARE_O: 8, HOT: 4}
    assert flagged.loc["Er1Ba2Cu3O7", "tc"] == 275.0  # the value is kept as written
    assert flagged.loc["Cs1Eu1Fe4As4", "n_entries"] == 2
    assert "Bi2Sr2Ca2Cu3O" in flagged.index
    # compressed hydrides are not flagged: H2S (median 160 K, up to 203 K), LaH10 (250 K)
    hydrides = table.set_index("formula").loc[["H2S1", "La1H10"], ["tc", "implausible"]]
    assert hydrides["tc"].tolist() == [160.0, 250.0] and (hydrides["implausible"] == "").all()
    er123 = _by_key(table, "ErBa2Cu3O7")
    assert (er123["tc"] < 100).sum() >= 1  # the plausible Er123 entries are not mixed with 275 K


def test_nims_duplicates_aggregate_to_median(nims, nims_source):
    table = nims.table
    plain = table[(table["oxygen_marker"] == "") & (table["implausible"] == "")]
    row = _by_key(plain, "MgB2").iloc[0]
    source = nims_source[nims_source["element"].isin(["Mg1B2", "B2Mg1"])]
    tc = pd.to_numeric(source["tc"])
    assert row["n_entries"] == len(source) > 50
    assert row["tc"] == tc[tc > 0].median()


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("stanev", {"tc_reported": 11_935, "no_tc": 3861}),
        ("nims", {"tc_reported": 15_100, "no_tc": 56}),
    ],
)
def test_tc_zero_is_kept_as_not_reported(which, expected, request):
    table = request.getfixturevalue(which).table
    assert (table["tc_reported"] == (table["tc"] > 0)).all()
    assert table["tc_reported"].sum() == expected["tc_reported"]
    assert (~table["tc_reported"]).sum() == expected["no_tc"]


@pytest.mark.parametrize(
    ("which", "scgan", "lim"),
    [
        (
            "stanev",
            {"other": 8825, "cuprate": 5530, "iron-based": 1441},
            {"other": 8825, "cuprate": 5256, "iron-based": 1414, "both": 301},
        ),
        (
            "nims",
            {"other": 7324, "cuprate": 6408, "iron-based": 1424},
            {"other": 7324, "cuprate": 6078, "iron-based": 1398, "both": 356},
        ),
    ],
)
def test_class_counts_per_scheme(which, scgan, lim, request):
    table = request.getfixturevalue(which).table
    assert table["class"].value_counts().to_dict() == scgan
    assert table["class_lim"].value_counts().to_dict() == lim
    both = table[table["class_lim"] == "both"]
    assert set(both["class"]) == {"cuprate", "iron-based"}


def test_stanev_source_text_median_and_rejections(stanev, supercon_raw_table):
    table, rejected = stanev.table, stanev.rejected
    first = table.iloc[0]
    assert (first["formula"], first["tc"], first["class"]) == ("Ba0.4K0.6Fe2As2", 31.2, "iron-based")
    group = _by_key(table, "Cu2Mo6S8").iloc[0]  # Cu1.5Mo4.5S6, Cu1Mo3S4, Cu2Mo6S8
    assert (group["formula"], group["n_entries"], group["tc"]) == ("Cu1.5Mo4.5S6", 3, 10.9)
    nb3al = _by_key(table, "Nb3Al").iloc[0]  # Nb3Al1 at 0 K, Al25Nb75 at 17.5 K
    assert (nb3al["n_entries"], nb3al["tc"], nb3al["tc_reported"]) == (2, 17.5, True)
    assert (supercon_raw_table["name"].iloc[rejected["row"]].to_numpy() == rejected["value"].to_numpy()).all()
    counts = _reasons(rejected)
    assert counts[NO_OXYGEN_AMOUNT] == 89  # 'OY' endings a plain parser reads as O1 Y1
    assert counts["unknown element 'D'"] == 24 and len(rejected) == 126
    assert table["oxygen_marker"].value_counts().to_dict() == {"": 15_794, "=x": 2}
    assert table["implausible"].value_counts().to_dict() == {"": 15_784, BARE_O: 12}


def test_loader_rules_on_real_formulas(tmp_path):
    rows = [
        ("Y1Ba2Cu3O7-X", "90"), ("Y1Ba2Cu3O6.95-d", "92"), ("Y1Ba2Cu3O7", "91"), ("Y1Ba2Cu3O7", "93"),
        ("Bi2Sr2Ca1Cu2O8+d", "85"), ("La1.785Ba0.215Cu1OZ", "30"), ("Ta1S2M0.5", "3"),
        ("Er1Ba2Cu3O7-X", "275"), ("La1H10", "250"), ("Nb1Ti1", "0"), ("Mg1B2", "x"),
    ]  # fmt: skip
    text = "".join(f"{formula}\t{tc}\n" for formula, tc in rows)
    (tmp_path / "supercon_raw.tsv").write_text("1 2\nlong names\nelement\ttc\n" + text)
    result = loaders.load_supercon_nims_raw(tmp_path)
    table = result.table.set_index(["formula", "oxygen_marker"])
    assert table.loc[("Y1Ba2Cu3O7", ""), ["tc", "n_entries"]].tolist() == [92.0, 2]
    assert table.loc[("Y1Ba2Cu3O7", "-x"), ["tc", "n_entries", "implausible"]].tolist() == [90.0, 1, ""]
    assert table.loc[("Y1Ba2Cu3O7", "-x"), "implausible"] == ""
    assert ("Y1Ba2Cu3O6.95", "-x") in table.index and ("Bi2Sr2Ca1Cu2O8", "+x") in table.index
    hot = result.table[result.table["implausible"] != ""]
    assert hot[["formula", "tc", "implausible"]].values.tolist() == [["Er1Ba2Cu3O7", 275.0, HOT]]
    nbti = table.loc[("Nb1Ti1", "")]
    assert (nbti["tc"], nbti["tc_reported"], nbti["class"]) == (0.0, False, "other")
    assert result.rejected.to_dict("list") == {
        "row": [5, 6, 10],
        "value": ["La1.785Ba0.215Cu1OZ", "Ta1S2M0.5", "x"],
        "reason": [NO_OXYGEN_AMOUNT, "unknown element 'M' in 'Ta1S2M0.5'", "Tc is not a number"],
    }


def test_rejects_missing_and_negative_tc(tmp_path):
    (tmp_path / "Supercon_data_by_2018_Stanev.csv").write_text("name,Tc\nMgB2,39\nNb3Sn,\nNbTi,-1\nNaN,x\n")
    result = loaders.load_supercon(tmp_path)
    assert result.table["formula"].tolist() == ["MgB2"]
    assert result.rejected.to_dict("list") == {
        "row": [1, 2, 3],
        "value": ["", "-1", "x"],
        "reason": ["missing Tc", "negative Tc", "Tc is not a number"],
    }
