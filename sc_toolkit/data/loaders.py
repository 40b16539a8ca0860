"""Loaders: the files of one dataset folder -> a clean :class:`LoadedTable`.

Shared rules:

- Text is read as written: no column is guessed to be missing (the formula 'NaN' is sodium
  nitride, not a missing value) and formula strings are never edited, except that the SuperCon
  loaders remove an oxygen-deviation marker (``O7-X`` -> ``O7``) and record it in ``oxygen_marker``.
- A row whose formula does not parse (oxygen of unknown amount such as SuperCon's ``Oz``, 'D' or
  'T' for hydrogen isotopes, typos such as 'TI') or whose target is missing, not a number, or (for
  Tc) negative goes to ``rejected`` with its ``row`` (0-based data row of its source file),
  ``value`` (the raw text) and ``reason``.
- Composition tables carry ``formula`` (source text), ``reduced_formula`` and ``composition_key``
  (see :func:`sc_toolkit.chem.composition_key`); rows that share a key are aggregated where the
  loader says so, with ``n_entries`` counting the source rows behind each output row.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..chem import Compositions
from ..chem.elements import INDEX, N_ELEMENTS, SYMBOLS
from ..chem.families import superconductor_class
from ..errors import DataError
from .dataset import LoadedTable

_MISSING = ("", "na", "NA", "nan", "NaN")


def _read_text(path: Path, **options) -> pd.DataFrame:
    """Every cell as the text written in the file (nothing turned into NaN)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, **options)


def _rejected(rows, values, reasons) -> pd.DataFrame:
    """Rejected rows; ``reasons`` is one reason per row or a single reason for all."""
    rows = list(rows)
    reasons = [reasons] * len(rows) if isinstance(reasons, str) else list(reasons)
    return pd.DataFrame(
        {
            "row": pd.Series(rows, dtype="int64"),
            "value": pd.Series(list(values), dtype=object),
            "reason": pd.Series(reasons, dtype=object),
        }
    )


def _combine_rejected(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)


def _required_numbers(
    frame: pd.DataFrame, column: str, label: str, *, nonnegative: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows whose ``column`` is a number (made float), and the others as rejected rows."""
    text = frame[column]
    values = pd.to_numeric(text.where(~text.isin(_MISSING)), errors="coerce")
    missing = text.isin(_MISSING)
    invalid = values.isna() & ~missing
    negative = (values < 0) if nonnegative else pd.Series(False, index=frame.index)
    bad = missing | invalid | negative
    reasons = np.select(
        [missing[bad], invalid[bad]],
        [f"missing {label}", f"{label} is not a number"],
        default=f"negative {label}",
    )
    rejected = _rejected(frame.index[bad], text[bad], reasons)
    return frame[~bad].assign(**{column: values[~bad]}), rejected


def _optional_numbers(text: pd.Series, where: str) -> pd.Series:
    """Numbers where given, NaN where the cell is empty or 'na'; DataError on anything else."""
    values = pd.to_numeric(text.where(~text.isin(_MISSING)), errors="coerce")
    invalid = values.isna() & ~text.isin(_MISSING)
    if invalid.any():
        row = invalid.idxmax()
        raise DataError(f"row {row}: {text[row]!r} is not a number", where=where)
    return values


def _parse_rows(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, Compositions, pd.DataFrame]:
    """Rows whose ``column`` parses as a formula, and the others as rejected rows.

    Each distinct string is parsed once: the kept rows get ``composition_key`` and ``_parsed`` (their
    row in the returned Compositions, for :func:`_described`).
    """
    codes, uniques = pd.factorize(frame[column])
    compositions, bad = Compositions.parse(uniques.tolist())
    parsed = np.ones(len(uniques), dtype=bool)
    parsed[[b.row for b in bad]] = False
    reason = np.empty(len(uniques), dtype=object)
    reason[[b.row for b in bad]] = [b.reason for b in bad]
    rejected_rows = ~parsed[codes]
    rejected = _rejected(
        frame.index[rejected_rows], frame[column][rejected_rows], reason[codes[rejected_rows]]
    )
    position = (np.cumsum(parsed) - 1)[codes[~rejected_rows]]
    kept = frame[~rejected_rows].assign(composition_key=compositions.keys()[position], _parsed=position)
    return kept, compositions, rejected


def _described(table: pd.DataFrame, compositions: Compositions, *, with_class: bool = False) -> pd.DataFrame:
    """``table`` with ``reduced_formula`` (and ``class``, scheme "scgan") of its parsed rows, computed
    only for the rows that remain after aggregation."""
    chosen = compositions[table["_parsed"].to_numpy()]
    table = table.drop(columns="_parsed").assign(reduced_formula=chosen.reduced_formulas())
    if with_class:
        table["class"] = superconductor_class(chosen)
    return table


def _lowest_per_composition(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per composition key: the row with the lowest ``column`` (NaN last, then first in the
    file), in source order, with ``n_entries``."""
    counts = frame.groupby("composition_key", sort=False)["composition_key"].transform("size")
    ordered = frame.assign(n_entries=counts).sort_values(column, kind="stable", na_position="last")
    return ordered.drop_duplicates("composition_key").sort_index().reset_index(drop=True)


# SuperCon formula cleaning; docs/data.md lists every rule with its counts.
#: ``O<amount>`` followed by an oxygen-deviation marker: a sign (``-``, ``+``, ``+-``, ``=``) and a
#: variable letter (X, Y, Z or d, any case), e.g. ``Y1Ba2Cu3O7-X``, ``Bi2Sr2CaCu2O8+d``, ``Y1Ba2Cu4O8+-Z``.
_OXYGEN_MARKER = r"(?P<oxygen>O(?:\d+\.?\d*|\.\d+))(?P<sign>\+-|[-+=])[XYZxyzdD]$"
#: Rejection rules, applied in order to the text without its oxygen marker; a row gets the first match.
_SUPERCON_REJECTIONS = (
    (r"O[XYZxyz](?:[-+][\d.]+)?$", "oxygen amount not given (O followed by a variable)"),
    (r"[-+][\d.]+$", "numeric offset after the formula (ambiguous)"),
    (r"[A-Za-z]-[\d.]", "negative amount"),
)
_NO_HYDROGEN_TC_LIMIT = 200.0


def _supercon_clean(formulas: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """SuperCon formula text -> (text to parse, normalised oxygen marker or '', rejection reason or
    None). The marker's letter carries no information and becomes 'x' ('-X', '-z', '-d' -> '-x')."""
    sign = formulas.str.extract(_OXYGEN_MARKER)["sign"]
    marker = (sign + "x").fillna("")
    text = formulas.str.replace(_OXYGEN_MARKER, r"\g<oxygen>", regex=True)
    reason = pd.Series(None, index=formulas.index, dtype=object)
    for pattern, why in _SUPERCON_REJECTIONS:
        reason = reason.where(reason.notna() | ~text.str.contains(pattern), why)
    return text, marker, reason


def _implausible(formulas: pd.Series, tc: pd.Series, amounts: np.ndarray) -> pd.Series:
    """Why each parsed row is implausible ('' when it is not): Tc above 200 K without hydrogen
    (only compressed hydrides come near; the rest are typos or unconfirmed claims), or oxygen
    written without an amount (a bare trailing 'O', which parses as O = 1)."""
    hot = (tc.to_numpy() > _NO_HYDROGEN_TC_LIMIT) & (amounts[:, INDEX["H"]] == 0)
    bare_oxygen = formulas.str.endswith("O").to_numpy()
    reasons = (
        np.where(hot, f"Tc > {_NO_HYDROGEN_TC_LIMIT:.0f} K without hydrogen", "").astype(object)
        + np.where(hot & bare_oxygen, "; ", "")
        + np.where(bare_oxygen, "oxygen amount not written (bare 'O' read as 1)", "")
    )
    return pd.Series(reasons, index=formulas.index, dtype=object)


def _superconductor_table(formulas: pd.Series, tc: pd.Series) -> LoadedTable:
    """SuperCon formula + Tc rows -> cleaned, aggregated table (see :func:`load_supercon_nims_raw`)."""
    frame = pd.DataFrame({"source": formulas, "tc": tc})
    frame, bad_tc = _required_numbers(frame, "tc", "Tc", nonnegative=True)
    frame["formula"], frame["oxygen_marker"], reason = _supercon_clean(frame["source"])
    dropped = reason.notna()
    bad_text = _rejected(frame.index[dropped], frame["source"][dropped], reason[dropped])
    frame, compositions, bad_formula = _parse_rows(frame[~dropped], "formula")
    bad_formula["value"] = formulas.loc[bad_formula["row"]].to_numpy()
    amounts = compositions.amounts[frame["_parsed"].to_numpy()]
    frame["implausible"] = _implausible(frame["formula"], frame["tc"], amounts)
    frame["reported"] = frame["tc"].where(frame["tc"] > 0)
    table = (
        frame.groupby(["composition_key", "oxygen_marker", "implausible"], sort=False)
        .agg(
            formula=("formula", "first"),
            _parsed=("_parsed", "first"),
            tc=("reported", "median"),
            n_entries=("tc", "size"),
        )
        .reset_index()
    )
    table["class_lim"] = superconductor_class(compositions[table["_parsed"].to_numpy()], scheme="lim")
    table = _described(table, compositions, with_class=True)
    table["tc_reported"] = table["tc"].notna()
    table["tc"] = table["tc"].fillna(0.0)
    columns = ["formula", "reduced_formula", "composition_key", "tc", "tc_reported", "n_entries"]
    columns += ["class", "class_lim", "oxygen_marker", "implausible"]
    return LoadedTable(table[columns], _combine_rejected([bad_tc, bad_text, bad_formula]))


def load_supercon(folder: Path) -> LoadedTable:
    """Stanev 2018 SuperCon table, cleaned and aggregated as :func:`load_supercon_nims_raw` (Stanev
    already merged duplicate strings; the table still has a few oxygen markers and 89 'OY' formulas,
    oxygen of unknown amount that a plain parser reads as O1 Y1)."""
    raw = _read_text(folder / "Supercon_data_by_2018_Stanev.csv")
    return _superconductor_table(raw["name"], raw["Tc"])


def load_supercon_nims_raw(folder: Path) -> LoadedTable:
    """Raw NIMS SuperCon export (the chemical formula column ``element`` and ``tc``), cleaned and
    aggregated; ``row`` in ``rejected`` counts data rows after the three header lines.

    Cleaning (rules and counts in docs/data.md): an oxygen-deviation marker after an oxygen amount
    (``O7-X``, ``O8+d``, ``O8+-Z``, ``O10=z``) is removed, the nominal amount kept, and recorded in
    ``oxygen_marker``; oxygen without an amount (``Oz``, ``OX``, ``OY``), numeric offsets (``O4+2``),
    negative amounts and unparseable text (isotopes D / T, placeholders M / Py, typos) are rejected.

    One row per (``composition_key``, ``oxygen_marker``, ``implausible``): dropping marked or
    implausible rows never drops a measurement of another kind, and the key is unique among rows
    with neither. Columns: ``formula`` (the group's first source text without its marker),
    ``reduced_formula``, ``composition_key``, ``tc`` (K: median of the group's Tc > 0 entries, 0
    when none reported one), ``tc_reported`` (False where ``tc`` = 0: SuperCon's 0 means "no Tc
    reported", not a measured non-superconductor; noisy negatives for a classifier), ``n_entries``,
    ``class`` (scheme "scgan") and ``class_lim`` (scheme "lim", see
    :func:`~sc_toolkit.chem.families.superconductor_class`), ``oxygen_marker`` ('' or one of '-x',
    '+x', '+-x', '=x'), ``implausible`` ('' or the reason: Tc > 200 K without hydrogen, or a bare
    trailing 'O'). Flagged values are kept as they are; the user decides.
    """
    raw = _read_text(folder / "supercon_raw.tsv", sep="\t", skiprows=[0, 1])
    return _superconductor_table(raw["element"], raw["tc"])


def load_uci_superconductivity(folder: Path) -> LoadedTable:
    """Hamidieh 2018 UCI table: one row per source row (the benchmark uses all 21,263; 5,954 repeat
    another row's element counts and 6,124 its composition, so split by ``composition_key``).

    The file has no formula column: ``formula`` is rebuilt from the element counts (conventional
    element order, amounts to 4 decimals; ``composition_key`` uses the exact counts). ``tc`` is the
    last column (the header calls both technetium and the target 'Tc'). ``oxygen_unknown`` is True
    where O = 1 with Cu present: Hamidieh turned unspecified oxygen (``OX``, ``Oz``) into O = 1, so
    those cuprate compositions are wrong; drop or impute them. ``class`` as in :func:`load_supercon`.
    """
    path = folder / "unique_m_elements_tc.csv"
    with path.open() as file:
        header = file.readline().strip().split(",")
    elements = header[:-1]
    if header[-1] != "Tc" or any(e not in INDEX for e in elements):
        raise DataError("unexpected header: expected element symbols then 'Tc'", where=str(path))
    raw = _read_text(path, header=0, names=[*elements, "tc"])
    frame, rejected = _required_numbers(raw, "tc", "Tc", nonnegative=True)
    counts = frame[elements].to_numpy(dtype=float)
    empty = counts.sum(axis=1) <= 0
    rejected = _combine_rejected([rejected, _rejected(frame.index[empty], [""] * empty.sum(), "no element")])
    frame, counts = frame[~empty], counts[~empty]
    amounts = np.zeros((len(counts), N_ELEMENTS))
    amounts[:, [INDEX[e] for e in elements]] = counts
    compositions = Compositions.from_matrix(amounts)
    table = pd.DataFrame(
        {
            "formula": compositions.formulas,
            "reduced_formula": compositions.reduced_formulas(),
            "composition_key": compositions.keys(),
            "tc": frame["tc"].to_numpy(),
            "class": superconductor_class(compositions),
            "oxygen_unknown": (amounts[:, INDEX["O"]] == 1) & (amounts[:, INDEX["Cu"]] > 0),
        }
    )
    return LoadedTable(table, rejected)


_OQMD_FILES = {
    "OQMD_Bandgap_train.csv": "band_gap",
    "OQMD_Bandgap_val.csv": "band_gap",
    "OQMD_Bandgap_test.csv": "band_gap",
    "OQMD_Formation_Enthalpy_val.csv": "formation_enthalpy",
    "OQMD_Formation_Enthalpy_test.csv": "formation_enthalpy",
}


def load_oqmd(folder: Path) -> LoadedTable:
    """OQMD compositions from CrabNet's band-gap (train/val/test) and formation-enthalpy (val/test)
    tables: one row per composition key, in order of first appearance.

    Columns: ``formula``, ``reduced_formula``, ``composition_key``, ``formation_enthalpy`` (eV/atom,
    NaN where the formation-enthalpy tables do not give it: their train split is not public here;
    outliers up to +43 eV/atom are kept), ``band_gap`` (eV), ``n_entries``. A formula string found in
    both kinds of table gets both values; when several strings share a key (none do in these files)
    the one with the lowest formation enthalpy is kept. ``rejected`` reasons name the file.
    """
    parts, rejected = [], []
    for name, column in _OQMD_FILES.items():
        raw = _read_text(folder / name)
        raw = raw.rename(columns={"target": column})
        frame, bad = _required_numbers(raw, column, column.replace("_", " "))
        parts.append(frame)
        rejected.append(bad.assign(reason=f"{name}: " + bad["reason"]))
    merged = (
        pd.concat(parts, ignore_index=True)
        .groupby("formula", sort=False)[["formation_enthalpy", "band_gap"]]
        .first()
        .reset_index()
    )
    merged, compositions, bad_formula = _parse_rows(merged, "formula")
    for part in parts:  # report unparseable formulas by their row in each file
        in_part = part["formula"].isin(bad_formula["value"])
        if in_part.any():
            rejected.append(_rejected(part.index[in_part], part["formula"][in_part], "unparseable formula"))
    table = _described(_lowest_per_composition(merged, "formation_enthalpy"), compositions)
    columns = ["formula", "reduced_formula", "composition_key", "formation_enthalpy", "band_gap"]
    return LoadedTable(table[[*columns, "n_entries"]], _combine_rejected(rejected))


def load_mp_e_form(folder: Path) -> LoadedTable:
    """Matbench ``mp_e_form`` (Materials Project via CrabNet): one row per composition key, the
    polymorph with the lowest formation energy (the ground state, all a composition model can mean).

    Columns: ``formula`` (source text of that entry, e.g. 'K4Mn4O8'), ``reduced_formula``,
    ``composition_key``, ``formation_energy`` (eV/atom), ``n_entries`` (polymorphs).
    """
    raw = _read_text(folder / "mp_e_form.csv").rename(columns={"target": "formation_energy"})
    frame, bad_value = _required_numbers(raw, "formation_energy", "formation energy")
    frame, compositions, bad_formula = _parse_rows(frame, "formula")
    table = _described(_lowest_per_composition(frame, "formation_energy"), compositions)
    columns = ["formula", "reduced_formula", "composition_key", "formation_energy", "n_entries"]
    return LoadedTable(table[columns], _combine_rejected([bad_value, bad_formula]))


def load_jarvis_dft_3d(folder: Path) -> LoadedTable:
    """JARVIS-DFT 3D: one row per composition key, the entry with the lowest formation energy.

    Columns: ``jid``, ``formula``, ``reduced_formula``, ``composition_key``, ``formation_energy``
    (OptB88vdW, eV/atom), ``optb88vdw_bandgap``, ``mbj_bandgap`` (eV, NaN where 'na'), ``ehull``
    (eV/atom), all of that entry, and ``n_entries``. The upstream columns that are empty in every
    row (space group, natoms, volume, moduli) are left out.
    """
    frame, compositions, rejected = _jarvis_compositions(folder / "jarvis_dft_3d.csv")
    table = _described(frame, compositions)
    columns = ["jid", "formula", "reduced_formula", "composition_key", "formation_energy"]
    columns += ["optb88vdw_bandgap", "mbj_bandgap", "ehull", "n_entries"]
    return LoadedTable(table[columns], rejected)


def _jarvis_compositions(path: Path) -> tuple[pd.DataFrame, Compositions, pd.DataFrame]:
    """The rows of :func:`load_jarvis_dft_3d` before :func:`_described`, with every upstream column
    and ``source_row`` (the data row of the chosen entry in ``path``); their Compositions; the
    rejected rows."""
    raw = _read_text(path).rename(columns={"formation_energy_per_atom": "formation_energy"})
    frame, bad_value = _required_numbers(raw, "formation_energy", "formation energy")
    for column in ("optb88vdw_bandgap", "mbj_bandgap", "ehull"):
        frame[column] = _optional_numbers(frame[column], f"{path} column {column}")
    frame, compositions, bad_formula = _parse_rows(frame.assign(source_row=frame.index), "formula")
    frame = _lowest_per_composition(frame, "formation_energy")
    return frame, compositions, _combine_rejected([bad_value, bad_formula])


# Wide-gap reference set (non-superconductors); docs/data.md justifies the rule and gives the counts.
#: Smallest DFT band gap (eV) of a reference compound.
WIDE_GAP_MIN_EV = 2.0
#: Smallest OptB88vdW gap (eV) of a reference compound whose TBmBJ gap passes: both functionals
#: must see an insulator (TBmBJ opens spurious gaps in some open-shell d and f compounds).
WIDE_GAP_MIN_OPTB88VDW_EV = 1.0
#: Largest JARVIS energy above the convex hull (eV/atom) of a reference compound.
WIDE_GAP_MAX_E_HULL = 0.1
#: A compound is a superconductor's parent when at most this share of its atoms differs from a
#: SuperCon composition with Tc > 0 (total-variation distance of the atomic fractions).
WIDE_GAP_PARENT_DISTANCE = 0.1


def load_wide_gap_insulators(root: Path, *, jarvis: str, supercon: str) -> LoadedTable:
    """Wide-gap insulators as non-superconductor references: JARVIS-DFT 3D compositions that pass
    every step of the rule, with SuperCon's columns, so that the table concatenates with
    :func:`load_supercon`'s. ``root`` holds the folders ``jarvis`` (``jarvis_dft_3d.csv``) and
    ``supercon`` (the Stanev table).

    The rule, in order; every composition left out is in ``rejected`` (``row``: the JARVIS data row
    of the composition's entry, ``value``: its formula, ``reason``: the step, with details):

    1. one entry per composition, the lowest formation energy (as :func:`load_jarvis_dft_3d`);
    2. ``band_gap`` >= :data:`WIDE_GAP_MIN_EV`: the TBmBJ gap where JARVIS has one, else the
       OptB88vdW gap (which underestimates gaps, so the rule errs towards leaving compounds out);
    3. OptB88vdW gap >= :data:`WIDE_GAP_MIN_OPTB88VDW_EV` (a TBmBJ gap that OptB88vdW confirms);
    4. ``e_hull`` <= :data:`WIDE_GAP_MAX_E_HULL` eV/atom;
    5. at least two elements;
    6. every element occurs in SuperCon (any row);
    7. the composition key is not in SuperCon (any Tc, the no-Tc-reported rows included);
    8. no SuperCon composition with Tc > 0 within :data:`WIDE_GAP_PARENT_DISTANCE`: a parent that
       superconducts when doped, intercalated or off-stoichiometric (La2CuO4 up to La1.3Sr0.7CuO4,
       BaBiO3 up to Ba0.5K0.5BiO3).

    Columns: ``formula`` (JARVIS), ``reduced_formula``, ``composition_key``, ``tc`` (0.0),
    ``tc_reported`` (False), ``n_entries`` (JARVIS entries of the composition), ``class`` and
    ``class_lim`` (as :func:`load_supercon`), ``oxygen_marker`` and ``implausible`` ('' everywhere),
    then ``jid``, ``band_gap`` (eV), ``gap_source`` ('jarvis tbmbj' or 'jarvis optb88vdw'),
    ``optb88vdw_bandgap``, ``mbj_bandgap`` (eV, NaN where JARVIS has none), ``e_hull`` (eV/atom)
    and ``formation_energy`` (OptB88vdW, eV/atom). One row per composition key, in JARVIS order.
    """
    frame, compositions, rejected = _jarvis_compositions(root / jarvis / "jarvis_dft_3d.csv")
    has_mbj = frame["mbj_bandgap"].notna()
    frame["band_gap"] = frame["mbj_bandgap"].where(has_mbj, frame["optb88vdw_bandgap"])
    frame["gap_source"] = np.where(has_mbj, "jarvis tbmbj", "jarvis optb88vdw")
    frame = frame.rename(columns={"ehull": "e_hull"})
    dropped = [rejected]

    def keep(frame: pd.DataFrame, mask, reasons) -> pd.DataFrame:
        """``frame``'s rows where ``mask``; the others go to ``dropped`` with their reason(s)."""
        mask = np.asarray(mask, dtype=bool)
        if not isinstance(reasons, str):
            reasons = np.asarray(reasons, dtype=object)[~mask]
        dropped.append(_rejected(frame["source_row"][~mask], frame["formula"][~mask], reasons))
        return frame[mask].reset_index(drop=True)

    frame = keep(frame, frame["band_gap"] >= WIDE_GAP_MIN_EV, f"band gap < {WIDE_GAP_MIN_EV:g} eV")
    frame = keep(
        frame,
        frame["optb88vdw_bandgap"] >= WIDE_GAP_MIN_OPTB88VDW_EV,
        f"OptB88vdW gap < {WIDE_GAP_MIN_OPTB88VDW_EV:g} eV (TBmBJ gap not confirmed)",
    )
    frame = keep(frame, frame["e_hull"] <= WIDE_GAP_MAX_E_HULL, f"e_hull > {WIDE_GAP_MAX_E_HULL:g} eV/atom")
    present = compositions.amounts[frame["_parsed"].to_numpy()] > 0
    frame = keep(frame, present.sum(axis=1) >= 2, "fewer than 2 elements")

    known = load_supercon(root / supercon).table
    known_fractions = _key_fractions(known["composition_key"])
    absent = (compositions.amounts[frame["_parsed"].to_numpy()] > 0) & ~(known_fractions > 0).any(axis=0)
    reasons = ["element absent from SuperCon: " + " ".join(np.asarray(SYMBOLS)[row]) for row in absent]
    frame = keep(frame, ~absent.any(axis=1), reasons)

    tc_by_key = known.groupby("composition_key")["tc"].max()
    known_tc = frame["composition_key"].map(tc_by_key)
    reasons = [f"in SuperCon ({f'Tc {tc:g} K' if tc > 0 else 'no Tc reported'})" for tc in known_tc.fillna(0)]
    frame = keep(frame, known_tc.isna(), reasons)

    superconductors = known[known["tc"] > 0].reset_index(drop=True)
    nearest, distance = _nearest_within(
        compositions.fractions[frame["_parsed"].to_numpy()],
        known_fractions[(known["tc"] > 0).to_numpy()],
        WIDE_GAP_PARENT_DISTANCE,
    )
    reasons = [
        f"within {WIDE_GAP_PARENT_DISTANCE:.0%} of atoms of a SuperCon superconductor: "
        f"{superconductors['formula'][i]} (Tc {superconductors['tc'][i]:g} K, {d:.1%} of atoms differ)"
        if i >= 0 else ""
        for i, d in zip(nearest, distance, strict=True)
    ]  # fmt: skip
    frame = keep(frame, nearest < 0, reasons)

    chosen = compositions[frame["_parsed"].to_numpy()]
    table = _described(frame, compositions).assign(
        tc=0.0,
        tc_reported=False,
        oxygen_marker="",
        implausible="",
        **{"class": superconductor_class(chosen), "class_lim": superconductor_class(chosen, scheme="lim")},
    )
    columns = ["formula", "reduced_formula", "composition_key", "tc", "tc_reported", "n_entries", "class"]
    columns += ["class_lim", "oxygen_marker", "implausible", "jid", "band_gap", "gap_source"]
    columns += ["optb88vdw_bandgap", "mbj_bandgap", "e_hull", "formation_energy"]
    return LoadedTable(table[columns], _combine_rejected(dropped))


def _key_fractions(keys: pd.Series) -> np.ndarray:
    """Atomic fractions (n, N_ELEMENTS) read off composition keys ('Ba0.1538 Cu0.2308 ...')."""
    parts = keys.reset_index(drop=True).str.extractall(r"([A-Z][a-z]?)([0-9.]+)")
    fractions = np.zeros((len(keys), N_ELEMENTS))
    rows = parts.index.get_level_values(0).to_numpy()
    fractions[rows, parts[0].map(INDEX).to_numpy()] = parts[1].astype(float).to_numpy()
    return fractions


def _nearest_within(fractions: np.ndarray, references: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``fractions`` (atomic fractions, rows summing to 1), the index of the nearest
    row of ``references`` by total-variation distance (1 - the sum of the element-wise minima: the
    share of atoms that differ) when that distance is <= ``limit``, else -1; and that distance
    (NaN for -1).

    Only a reference whose elements make up at least 1 - ``limit`` of the row's atoms can be that
    close: such pairs come from one matrix product per block of rows and are then measured exactly.
    """
    nearest = np.full(len(fractions), -1)
    best = np.full(len(fractions), np.nan)
    used = (fractions > 0).any(axis=0)
    present = (references[:, used] > 0).astype(np.float32).T
    for start in range(0, len(fractions), 1024):
        block = fractions[start : start + 1024]
        rows, columns = np.nonzero(block[:, used].astype(np.float32) @ present >= 1 - limit - 1e-6)
        distance = 1.0 - np.minimum(block[rows], references[columns]).sum(axis=1)
        close = distance <= limit + 1e-9
        rows, columns, distance = rows[close], columns[close], distance[close]
        order = np.lexsort((distance, rows))
        rows, first = np.unique(rows[order], return_index=True)
        nearest[start + rows] = columns[order][first]
        best[start + rows] = distance[order][first]
    return nearest, best


def _tar_texts(path: Path) -> dict[str, str]:
    """Text of every ``.cif`` member of the tarball at ``path``, by member name (read in memory)."""
    texts = {}
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith(".cif"):
                texts[member.name] = archive.extractfile(member).read().decode()
    return texts


def _cif_problem(text: str) -> str | None:
    """Why ``text`` cannot be a CIF of a periodic structure (a cheap check that needs no CIF
    library: the six cell parameters and an atom-site loop with fractional coordinates), or None."""
    if not text.strip():
        return "no structure"
    missing = [tag for tag in _CIF_TAGS if tag not in text]
    return f"CIF lacks {', '.join(missing)}" if missing else None


_CIF_TAGS = (
    "_cell_length_a", "_cell_length_b", "_cell_length_c",
    "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma",
    "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z",
)  # fmt: skip


def _with_structures(frame: pd.DataFrame, texts: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` with a ``cif`` column of CIF text; rows whose text fails :func:`_cif_problem` go to
    rejected (``row`` = the frame's index, ``value`` = its ``cif_file`` or the text's first line)."""
    reasons = texts.map(_cif_problem)
    bad = reasons.notna().to_numpy()
    labels = frame["cif_file"] if "cif_file" in frame else texts.str.split("\n").str[0]
    rejected = _rejected(frame.index[bad], labels[bad], reasons[bad])
    return frame[~bad].assign(cif=texts[~bad]), rejected


def _with_ln_tc(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``ln_tc`` = ln(tc / K) where tc > 0, NaN elsewhere."""
    tc = frame["tc"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return frame.assign(ln_tc=np.where(tc > 0, np.log(tc), np.nan))


def load_3dsc_index(folder: Path) -> LoadedTable:
    """3DSC_MP structures: one row per CIF in ``3DSC_MP_cifs.tar.gz``, with its text.

    Columns: ``cif_file`` (member name in the tarball), ``formula`` (3DSC's ``formula_sc``),
    ``reduced_formula``, ``composition_key``, ``mp_id``, ``synth_doped`` (bool: partial occupancies
    added to an MP parent, so a disordered, artificial structure), ``tc`` (K, from the 3DSC_ICSD
    table; NaN for the 590 CIFs without one), ``ln_tc``, ``cif`` (CIF text, read from the tarball
    in memory). Several CIFs share a formula: weight or split by ``composition_key``. CIFs missing
    from the tarball or without cell and atom sites are in ``rejected``.
    """
    path = folder / "3DSC_MP_cif_index.csv"
    raw = _read_text(path).rename(columns={"formula_sc": "formula", "cif": "cif_file"})
    raw["tc"] = _optional_numbers(raw["tc_K_from_3DSC_ICSD_table"], str(path))
    raw["synth_doped"] = raw["synth_doped"] == "True"
    texts = _tar_texts(folder / "3DSC_MP_cifs.tar.gz")
    raw, bad_structure = _with_structures(raw, raw["cif_file"].map(texts).fillna(""))
    frame, compositions, bad_formula = _parse_rows(raw, "formula")
    frame = _with_ln_tc(_described(frame, compositions))
    columns = ["cif_file", "formula", "reduced_formula", "composition_key", "mp_id", "synth_doped"]
    columns += ["tc", "ln_tc", "cif"]
    return LoadedTable(frame[columns].reset_index(drop=True), _combine_rejected([bad_structure, bad_formula]))


def load_supercon3d_index(folder: Path) -> LoadedTable:
    """SuperCon3D (SODNet): one row per CIF of ``SuperCon3D_cifs.tar.gz`` (member ``cif/<cif_file>``),
    in the order of the label table, with its text.

    Columns: ``cif_file`` (e.g. '671985.cif'), ``formula`` (upstream ``cf``), ``reduced_formula``,
    ``composition_key``, ``tc`` (K, all > 0), ``ln_tc`` (SODNet's target), ``family`` (SODNet's:
    others / heavy-Fermion / cuprate / h_based / iron-based; h_based mixes high-pressure and
    predicted Tc), ``order`` ('order' or 'disorder'), ``ordered`` (bool), ``cif`` (CIF text; the
    562 disordered ones have partial occupancies, alternative positions as separate sites).
    """
    raw = _read_text(folder / "df_all_data1202.csv")
    raw = raw.rename(columns={raw.columns[0]: "cif_file", "cf": "formula"})
    frame, bad_tc = _required_numbers(raw, "tc", "Tc", nonnegative=True)
    texts = _tar_texts(folder / "SuperCon3D_cifs.tar.gz")
    frame, bad_structure = _with_structures(frame, ("cif/" + frame["cif_file"]).map(texts).fillna(""))
    frame, compositions, bad_formula = _parse_rows(frame, "formula")
    frame = _with_ln_tc(_described(frame, compositions)).assign(ordered=frame["order"] == "order")
    columns = ["cif_file", "formula", "reduced_formula", "composition_key", "tc", "ln_tc", "family"]
    columns += ["order", "ordered", "cif"]
    rejected = _combine_rejected([bad_tc, bad_structure, bad_formula])
    return LoadedTable(frame[columns].reset_index(drop=True), rejected)


def load_jarvis_supercon_index(folder: Path) -> LoadedTable:
    """JARVIS BCS superconductors (``jarvis_supercon_3d_merged.csv``): one row per material with a
    structure (1,056; the two without a POSCAR are in ``rejected``).

    Columns: ``jid``, ``formula`` (from JARVIS-DFT 3D), ``reduced_formula``, ``composition_key``,
    ``tc`` (K, computed by DFT e-ph + Allen-Dynes, not measured; 424 below 1 K), ``lambda`` and
    ``omega_log`` (K) from ``dft_superconductors.csv`` (its ``jarvis_3d`` rows, matched on the
    full-precision Tc and the composition; NaN where none matches; a few lambda are <= 0),
    ``atomgen_split`` and ``spp_split`` (JARVIS-Leaderboard splits, '' where the material is not in
    that benchmark; ``spp_split`` is the 556/30/30 Tc leaderboard), ``poscar`` (POSCAR text, the
    file's escaped newlines decoded) and ``cif`` (the same structure as CIF text: cell parameters
    and fractional coordinates, see :func:`poscar_to_cif`). The 9,612-material lambda / omega_log
    table, most of it without structures, is :func:`load_dft_superconductors`.
    """
    raw = _read_text(folder / "jarvis_supercon_3d_merged.csv").rename(columns={"tc_K": "tc"})
    frame, bad_tc = _required_numbers(raw, "tc", "Tc", nonnegative=True)
    no_poscar = frame["poscar"].str.strip() == ""
    bad_poscar = _rejected(frame.index[no_poscar], frame["jid"][no_poscar], "no POSCAR")
    frame = frame[~no_poscar].assign(poscar=frame["poscar"].str.replace("\\n", "\n"))  # file escapes newlines
    frame, compositions, bad_formula = _parse_rows(frame, "formula")
    frame = _described(frame, compositions)
    moments = load_dft_superconductors(folder).table
    moments = moments[moments["dataset"] == "jarvis_3d"]
    tc_text = raw["tc"].loc[frame.index]  # match on the text: the same float in both files
    matched = (
        frame.assign(_tc_text=tc_text)
        .reset_index()
        .merge(
            moments[["tc_text", "composition_key", "lambda", "omega_log"]],
            left_on=["_tc_text", "composition_key"],
            right_on=["tc_text", "composition_key"],
            how="left",
        )
        .drop_duplicates("index")
        .set_index("index")
    )
    frame = frame.assign(lambda_=matched["lambda"], omega_log=matched["omega_log"])
    frame = frame.rename(columns={"lambda_": "lambda"})
    frame["cif"] = [poscar_to_cif(text) for text in frame["poscar"]]
    columns = ["jid", "formula", "reduced_formula", "composition_key", "tc", "lambda", "omega_log"]
    columns += ["atomgen_split", "spp_split", "poscar", "cif"]
    rejected = _combine_rejected([bad_tc, bad_poscar, bad_formula])
    return LoadedTable(frame[columns].reset_index(drop=True), rejected)


def load_dft_superconductors(folder: Path) -> LoadedTable:
    """``dft_superconductors.csv`` of the ``jarvis-supercon`` folder: DFT Tc, lambda and omega_log for
    9,612 materials (compositions only; the structures of the ``jarvis_3d`` rows are in
    :func:`load_jarvis_supercon_index`). Call it as
    ``load_dft_superconductors(sc_toolkit.data.locate("jarvis-supercon"))``.

    One row per source row. Columns: ``formula``, ``reduced_formula``, ``composition_key``, ``tc``
    (K), ``tc_text`` (Tc as written, for exact joins), ``lambda``, ``omega_log`` (K; upstream
    ``wlog``), ``dataset`` (jarvis_3d 1,058 / jarvis_2d 161 / jarvis_alex 8,253 / htsc_2025 140),
    ``tc_source``, ``pressure_gpa`` (GPa), ``debye_temp`` (K), ``dos_ef``; NaN where not given (htsc_2025
    rows give Tc only). Units are as exported; check omega_log magnitudes per ``dataset`` before
    mixing them.
    """
    path = folder / "dft_superconductors.csv"
    raw = _read_text(path).rename(columns={"Tc": "tc", "wlog": "omega_log"})
    frame, bad_tc = _required_numbers(raw, "tc", "Tc", nonnegative=True)
    frame["tc_text"] = raw["tc"].loc[frame.index]
    frame["pressure_gpa"] = frame["pressure_gpa"].str.removesuffix(" GPa")  # jarvis_2d writes '0 GPa'
    for column in ("lambda", "omega_log", "pressure_gpa", "debye_temp", "dos_ef"):
        frame[column] = _optional_numbers(frame[column], f"{path} column {column}")
    frame, compositions, bad_formula = _parse_rows(frame, "formula")
    frame = _described(frame, compositions)
    columns = ["formula", "reduced_formula", "composition_key", "tc", "tc_text", "lambda", "omega_log"]
    columns += ["dataset", "tc_source", "pressure_gpa", "debye_temp", "dos_ef"]
    return LoadedTable(frame[columns].reset_index(drop=True), _combine_rejected([bad_tc, bad_formula]))


def poscar_to_cif(poscar: str) -> str:
    """CIF text (P1: cell parameters, fractional coordinates, occupancy 1) of a VASP 5 POSCAR.

    A CIF fixes the cell by its lengths and angles, not its orientation, so the structure read back
    is the POSCAR's up to a proper rotation (for a left-handed POSCAR cell the fractional
    coordinates are negated, which keeps the handedness of the crystal). Raises DataError for text
    that is not a POSCAR with element names.
    """
    lines = [line.split() for line in poscar.strip().splitlines()]
    try:
        scale = float(lines[1][0])
        lattice = np.array([[float(v) for v in line[:3]] for line in lines[2:5]])
        symbols, counts = lines[5], [int(c) for c in lines[6]]
        start = 7 + (lines[7][0][0] in "sS")  # optional 'Selective dynamics'
        cartesian = lines[start][0][0] in "cCkK"
        n_sites = sum(counts)
        coords = np.array([[float(v) for v in line[:3]] for line in lines[start + 1 : start + 1 + n_sites]])
    except (IndexError, ValueError) as error:
        raise DataError(f"not a VASP 5 POSCAR ({error})", hint="the 6th line must name the elements") from None
    if scale <= 0 or len(symbols) != len(counts) or coords.shape != (n_sites, 3):
        raise DataError("not a VASP 5 POSCAR (scale, element names or coordinates)")
    lattice = lattice * scale
    fractional = np.linalg.solve(lattice.T, (coords * scale).T).T if cartesian else coords
    if np.linalg.det(lattice) < 0:
        fractional = -fractional
    fractional = fractional % 1.0
    lengths = np.linalg.norm(lattice, axis=1)
    angles = [
        np.degrees(np.arccos(np.clip(lattice[j] @ lattice[k] / (lengths[j] * lengths[k]), -1, 1)))
        for j, k in ((1, 2), (0, 2), (0, 1))
    ]
    species = [s for s, n in zip(symbols, counts, strict=True) for _ in range(n)]
    out = [f"data_{''.join(symbols)}", "_symmetry_space_group_name_H-M   'P 1'"]
    out += [f"_cell_length_{axis}   {value:.8f}" for axis, value in zip("abc", lengths, strict=True)]
    names = ("alpha", "beta", "gamma")
    out += [f"_cell_angle_{name}   {value:.8f}" for name, value in zip(names, angles, strict=True)]
    out += ["_symmetry_Int_Tables_number   1", "loop_", " _symmetry_equiv_pos_as_xyz", "  'x, y, z'"]
    out += ["loop_", " _atom_site_type_symbol", " _atom_site_label"]
    out += [" _atom_site_fract_x", " _atom_site_fract_y", " _atom_site_fract_z", " _atom_site_occupancy"]
    out += [
        f"  {s}  {s}{i}  {x:.10f}  {y:.10f}  {z:.10f}  1.0"
        for i, (s, (x, y, z)) in enumerate(zip(species, fractional, strict=True))
    ]
    return "\n".join(out) + "\n"


def load_bete_net_index(folder: Path) -> LoadedTable:
    """BETE-NET structures and split (no targets: the alpha2F database is not public here).

    One row per index of ``idx_train_full.txt`` / ``idx_test_full.txt`` that has a CIF. Columns:
    ``index`` (row of upstream ``database.json`` = CIF number), ``split`` ('train' or 'test'),
    ``cif_file`` (member in ``structures_cifs.tar.gz``), ``formula`` (the CIF's
    ``_chemical_formula_sum``), ``reduced_formula``, ``composition_key``, ``cif`` (CIF text, P1,
    written by ASE). Indices without a CIF (dropped upstream) are in ``rejected``, ``row`` being the
    line of the index file they come from.
    """
    splits = []
    for split in ("train", "test"):
        values = np.loadtxt(folder / f"idx_{split}_full.txt", ndmin=1)
        splits.append(pd.DataFrame({"index": values.astype(int), "split": split}))
    index = pd.concat(splits)
    texts = _tar_texts(folder / "structures_cifs.tar.gz")
    index["cif_file"] = "structures/" + index["index"].astype(str) + ".cif"
    has_cif = index["cif_file"].isin(texts)
    rejected = _rejected(index.index[~has_cif], index["cif_file"][~has_cif], "no CIF in structures_cifs.tar.gz")
    frame = index[has_cif].reset_index(drop=True)
    frame["cif"] = frame["cif_file"].map(texts)
    frame["formula"] = [_cif_formula_sum(t, f) for t, f in zip(frame["cif"], frame["cif_file"], strict=True)]
    compositions = Compositions.from_formulas(frame["formula"])  # written by ASE: must parse
    frame["reduced_formula"] = compositions.reduced_formulas()
    frame["composition_key"] = compositions.keys()
    columns = ["index", "split", "cif_file", "formula", "reduced_formula", "composition_key", "cif"]
    return LoadedTable(frame[columns], rejected.reset_index(drop=True))


def _cif_formula_sum(text: str, where: str) -> str:
    for line in text.splitlines():
        if line.startswith("_chemical_formula_sum"):
            return line.split(None, 1)[1].strip().strip("'\"")
    raise DataError("CIF has no _chemical_formula_sum line", where=where)
