"""The tables a run passes between its sections: user CSVs of formulas, rows selected by filters,
decoded samples, the ranked accepted candidates. Pure functions of tables and components."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..chem import Compositions, reduced_formula
from ..errors import DataError, UserError
from ..recipe import looks_utf16
from ..runtime import RunLike

if TYPE_CHECKING:
    from ..plan import Plan, Step

#: ``rejected_by`` of a sample that decodes to no element.
REJECTED_EMPTY = "decode: no element left"


_CSV_HINT = "give a UTF-8 CSV file with a header row"


def check_text_file(path: Path, *, where: str, what: str = "CSV", hint: str = _CSV_HINT) -> bytes:
    """The first bytes of a text file the user named; DataError naming the file and what to do when
    it is missing, a folder, unreadable, empty, binary, or UTF-16 instead of UTF-8."""
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a {what} file", where=where, hint=hint)
    if not path.is_file():
        raise DataError(f"file not found: {path}", where=where, hint="check the path")
    try:
        with path.open("rb") as file:
            head = file.read(65536)
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}", where=where,
                        hint="check the file's permissions") from None
    if not head.strip():
        raise DataError(f"{path} is empty", where=where, hint=hint)
    if looks_utf16(head):
        raise DataError(f"{path} is UTF-16 text, not UTF-8", where=where, hint=f"save it as UTF-8; {hint}")
    if b"\x00" in head:
        raise DataError(f"{path} is a binary file, not {what} text", where=where, hint=hint)
    return head


def read_user_csv(path: Path, *, where: str, **options: Any) -> pd.DataFrame:
    """A CSV file the user named (``options`` go to :func:`pandas.read_csv`); DataError naming the
    file and what to do for the problems of :func:`check_text_file`, text that is not UTF-8, and
    text that is not CSV (unbalanced quotes, a ragged line)."""
    check_text_file(path, where=where)
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **options)
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})",
                        where=where, hint=f"save it as UTF-8; {_CSV_HINT}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} has no header row", where=where, hint=_CSV_HINT) from None
    except pd.errors.ParserError as error:
        detail = str(error).strip().splitlines()[-1] if str(error).strip() else "unreadable"
        raise DataError(f"{path} is not valid CSV: {detail}", where=where,
                        hint="check the quotes and that every line has as many fields as the header") from None


def read_formula_csv(path: Path, *, where: str = "data.path") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user CSV with a 'formula' column: rows whose formula parses, plus the rejected rows
    (row, value, reason). DataError naming the file for an unreadable file (see :func:`read_user_csv`)."""
    frame = read_user_csv(path, where=where)
    if "formula" not in frame.columns:
        raise DataError(f"{path} has no 'formula' column", where=where,
                        hint="columns found: " + ", ".join(map(str, frame.columns)))
    compositions, rejected = Compositions.parse(frame["formula"].astype(str))
    bad = np.zeros(len(frame), dtype=bool)
    bad[[r.row for r in rejected]] = True
    table = frame[~bad].reset_index(drop=True)
    table["reduced_formula"] = [reduced_formula(d) for d in compositions.as_dicts()]
    table["composition_key"] = compositions.keys()
    rejected_frame = pd.DataFrame({"row": [r.row for r in rejected], "value": [r.formula for r in rejected],
                                   "reason": [r.reason for r in rejected]})
    return table, rejected_frame


def select(table: pd.DataFrame, filters: list[Step], *, run: RunLike | None = None,
           counts: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rows of ``table`` that pass every filter (training-data selection); ``counts`` gets the
    rows left after each filter."""
    for step in filters:
        component = step.build()
        missing = set(component.columns()) - set(table.columns)
        if missing:
            raise UserError(f"filter '{step.label}' reads {sorted(missing)}, which the data does not have",
                            where=step.where, hint="columns available: " + ", ".join(table.columns))
        keep = np.asarray(component.fit(table).keep(table, run=run), dtype=bool)
        if counts is not None:
            counts[f"after {step.label}"] = int(keep.sum())
        table = table[keep].reset_index(drop=True)
    return table


def samples_table(compositions: Compositions) -> pd.DataFrame:
    """Decoded samples as candidate rows: formula, reduced formula, composition key, element count;
    a sample with no element left is rejected by ``REJECTED_EMPTY``."""
    n_elements = compositions.n_elements
    empty = n_elements == 0
    keys = np.full(len(compositions), "", dtype=object)
    reduced = np.full(len(compositions), "", dtype=object)
    filled = compositions[~empty]
    keys[~empty] = filled.keys()
    reduced[~empty] = filled.reduced_formulas()
    return pd.DataFrame({
        "sample": np.arange(len(compositions)),
        "formula": compositions.formulas,
        "reduced_formula": reduced,
        "composition_key": keys,
        "n_elements": n_elements,
        "rejected_by": np.where(empty, REJECTED_EMPTY, ""),
    })


def ranked(candidates: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The accepted candidates (``rejected_by`` empty), sorted as ``[rank]`` asks, numbered from 1.

    With ``max_per_element_set`` or ``min_distance``, the ranking spreads its bets: walking down the
    sorted list, a candidate is skipped when its element set already has that many kept candidates,
    or when its atomic fractions lie within ``min_distance`` (L1) of a kept one. A skipped candidate
    is marked in ``candidates`` (``rejected_by`` = "rank: ..."), so the candidate table says why it
    is not in the ranking."""
    accepted = candidates[candidates["rejected_by"] == ""]
    if plan.rank:
        accepted = accepted.sort_values(plan.rank.by, ascending=not plan.rank.descending,
                                        kind="mergesort", na_position="last")
        skipped = _crowded(accepted, plan.rank.max_per_element_set, plan.rank.min_distance)
        for reason in np.unique(skipped[skipped != ""]):
            candidates.loc[accepted.index[skipped == reason], "rejected_by"] = reason
        accepted = accepted[skipped == ""]
    accepted = accepted.drop(columns=["rejected_by"]).reset_index(drop=True)
    accepted.insert(0, "rank", np.arange(1, len(accepted) + 1))
    return accepted


def _crowded(ordered: pd.DataFrame, per_element_set: int | None, min_distance: float | None) -> np.ndarray:
    """For rows in rank order: '' for a row kept, else the rank rule that skips it."""
    reasons = np.full(len(ordered), "", dtype=object)
    if not len(ordered) or (per_element_set is None and min_distance is None):
        return reasons
    fractions = Compositions.from_formulas(ordered["formula"].astype(str).tolist()).fractions
    element_sets = [tuple(np.flatnonzero(row)) for row in fractions > 0]
    per_set: dict[tuple, int] = {}
    kept: list[int] = []
    for i, elements in enumerate(element_sets):
        if per_element_set is not None and per_set.get(elements, 0) >= per_element_set:
            reasons[i] = f"rank: more than {per_element_set} per element set"
            continue
        if min_distance is not None and kept:
            nearest = np.abs(fractions[kept] - fractions[i]).sum(axis=1).min()
            if nearest < min_distance:
                reasons[i] = f"rank: within {min_distance:g} of a better candidate"
                continue
        kept.append(i)
        per_set[elements] = per_set.get(elements, 0) + 1
    return reasons
