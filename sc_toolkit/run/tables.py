"""The tables a run passes between its sections: user CSVs of formulas, rows selected by filters,
decoded samples, the ranked accepted candidates. Pure functions of tables and components."""

from __future__ import annotations

from collections.abc import Iterator
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
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} has no header row", where=where, hint=_CSV_HINT) from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise _csv_problem(path, error, where) from None


def _csv_problem(path: Path, error: Exception, where: str) -> DataError:
    """The DataError for a file that is not UTF-8 text or not CSV."""
    if isinstance(error, UnicodeDecodeError):
        return DataError(f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})",
                         where=where, hint=f"save it as UTF-8; {_CSV_HINT}")
    detail = str(error).strip().splitlines()[-1] if str(error).strip() else "unreadable"
    return DataError(f"{path} is not valid CSV: {detail}", where=where,
                     hint="check the quotes and that every line has as many fields as the header")


def formula_rows(frame: pd.DataFrame, path: Path, *, where: str, first_row: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``frame`` (read from ``path``) whose 'formula' parses, with their reduced formula and
    composition key, plus the rejected rows (row counted from ``first_row``, value, reason)."""
    _require_formula(frame.columns, path, where)
    compositions, rejected = Compositions.parse(frame["formula"].astype(str))
    bad = np.zeros(len(frame), dtype=bool)
    bad[[r.row for r in rejected]] = True
    table = frame[~bad].reset_index(drop=True)
    table["reduced_formula"] = [reduced_formula(d) for d in compositions.as_dicts()]
    table["composition_key"] = compositions.keys()
    rejected_frame = pd.DataFrame({"row": [first_row + r.row for r in rejected],
                                   "value": [r.formula for r in rejected], "reason": [r.reason for r in rejected]})
    return table, rejected_frame


def read_formula_csv(path: Path, *, where: str = "data.path") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user CSV with a 'formula' column: rows whose formula parses, plus the rejected rows
    (row, value, reason). DataError naming the file for an unreadable file (see :func:`read_user_csv`)."""
    return formula_rows(read_user_csv(path, where=where), path, where=where)


def formula_chunks(path: Path, chunk_size: int, *, where: str) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """A CSV or Parquet file of formulas (by its suffix), ``chunk_size`` rows at a time, as
    :func:`formula_rows` reads them; a file of any size costs the memory of one chunk. DataError
    naming the file, raised here, for a file :func:`check_text_file` refuses, an unreadable Parquet
    file or a missing 'formula' column; a problem further down the file is raised when it is read."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        if not path.is_file():
            raise DataError(f"file not found: {path}", where=where, hint="check the path")
        try:
            file = pq.ParquetFile(path)
        except (OSError, ValueError) as error:
            raise DataError(f"{path} is not a readable Parquet file: {error}", where=where,
                            hint="give a Parquet or CSV file with a 'formula' column") from None
        _require_formula(file.schema_arrow.names, path, where)
        frames = (batch.to_pandas() for batch in file.iter_batches(batch_size=chunk_size))
    else:
        _require_formula(read_user_csv(path, where=where, nrows=0).columns, path, where)
        frames = _csv_chunks(path, chunk_size, where)
    return _parsed(frames, path, where)


def _csv_chunks(path: Path, chunk_size: int, where: str) -> Iterator[pd.DataFrame]:
    try:
        with pd.read_csv(path, encoding="utf-8-sig", chunksize=chunk_size) as reader:
            yield from reader
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise _csv_problem(path, error, where) from None


def _parsed(frames: Iterator[pd.DataFrame], path: Path, where: str) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    first_row = 0
    for frame in frames:
        yield formula_rows(frame, path, where=where, first_row=first_row)
        first_row += len(frame)


def _require_formula(columns, path: Path, where: str) -> None:
    if "formula" not in columns:
        raise DataError(f"{path} has no 'formula' column", where=where,
                        hint="columns found: " + ", ".join(map(str, columns)))


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
        skipped = crowded(accepted, plan.rank.max_per_element_set, plan.rank.min_distance)
        for reason in np.unique(skipped[skipped != ""]):
            candidates.loc[accepted.index[skipped == reason], "rejected_by"] = reason
        accepted = accepted[skipped == ""]
    accepted = accepted.drop(columns=["rejected_by"]).reset_index(drop=True)
    accepted.insert(0, "rank", np.arange(1, len(accepted) + 1))
    return accepted


def crowded(ordered: pd.DataFrame, per_element_set: int | None, min_distance: float | None,
            limit: int | None = None) -> np.ndarray:
    """For rows in rank order: '' for a row kept, else the rank rule that skips it. With ``limit``,
    the walk stops once that many rows are kept: every later row is 'rank: below the top <limit>'.
    Formulas are parsed a chunk at a time, so a long table costs the memory of the kept rows; the
    distance to the kept rows is computed only for those :class:`KeptFractions` cannot rule out."""
    reasons = np.full(len(ordered), "", dtype=object)
    if not len(ordered) or (per_element_set is None and min_distance is None and limit is None):
        return reasons
    formulas = ordered["formula"].astype(str).tolist()
    per_set: dict[tuple, int] = {}
    kept = KeptFractions(min_distance if min_distance is not None else np.inf)
    for start in range(0, len(formulas), _CHUNK):
        fractions = Compositions.from_formulas(formulas[start:start + _CHUNK]).fractions
        for j, row in enumerate(fractions):
            i = start + j
            if limit is not None and kept.n >= limit:
                reasons[i:] = f"rank: below the top {limit}"
                return reasons
            elements = tuple(np.flatnonzero(row > 0))
            if per_element_set is not None and per_set.get(elements, 0) >= per_element_set:
                reasons[i] = f"rank: more than {per_element_set} per element set"
                continue
            if min_distance is not None and kept.nearest(row) < min_distance:
                reasons[i] = f"rank: within {min_distance:g} of a better candidate"
                continue
            kept.add(row)
            per_set[elements] = per_set.get(elements, 0) + 1
    return reasons


class KeptFractions:
    """The atomic fractions of the rows a ranking kept, and the L1 distance of a new row to the
    nearest of them when it is below ``within`` (else any value >= ``within``), computed only for the
    kept rows that can be that close.

    A kept row lacking an element of which the new row has at least ``within`` (or having such an
    element that the new row lacks) is at least that far: its distance is a sum of non-negative
    terms, one of them that fraction, and a floating-point sum of non-negative terms is never below
    any of them. So the distance is computed (as ``np.abs(kept - row).sum(axis=1)``, the same
    numbers for any subset of rows) only for the kept rows that contain every such element of the
    new row and whose own such elements the new row contains: the kept rows holding the one of those
    elements held by fewest kept rows, then a test on bit masks of the element sets."""

    def __init__(self, within: float):
        self.within, self.n = within, 0
        self._fractions = np.empty((0, 0))
        self._present = np.empty((0, 0), dtype=np.uint8)  # packed bits: elements present
        self._major = np.empty((0, 0), dtype=np.uint8)  # packed bits: elements of fraction >= within
        self._holders: dict[int, np.ndarray] = {}  # element column -> the kept rows that contain it, ...
        self._n_holders: dict[int, int] = {}  # ... in the first this many places

    def nearest(self, row: np.ndarray) -> float:
        """The L1 distance to the nearest kept row if it is below ``within``; else >= ``within``."""
        if not self.n:
            return np.inf
        major = np.flatnonzero(row >= self.within).tolist()
        if major:
            rarest = min(major, key=lambda z: self._n_holders.get(z, 0))
            candidates = self._holders[rarest][:self._n_holders[rarest]] if rarest in self._holders else []
        else:
            candidates = np.arange(self.n)
        if not len(candidates):
            return np.inf
        present_bits, major_bits = np.packbits(row > 0), np.packbits(row >= self.within)
        close = (((self._present[candidates] & major_bits) == major_bits).all(axis=1)
                 & ((self._major[candidates] & ~present_bits) == 0).all(axis=1))
        candidates = candidates[close]
        if not len(candidates):
            return np.inf
        return float(np.abs(self._fractions[candidates] - row).sum(axis=1).min())

    def add(self, row: np.ndarray) -> None:
        if self.n == len(self._fractions):
            grown = max(2 * self.n, 1024)
            self._fractions = _grow(self._fractions, grown, len(row))
            self._present = _grow(self._present, grown, (len(row) + 7) // 8)
            self._major = _grow(self._major, grown, (len(row) + 7) // 8)
        self._fractions[self.n] = row
        self._present[self.n] = np.packbits(row > 0)
        self._major[self.n] = np.packbits(row >= self.within)
        for z in np.flatnonzero(row > 0).tolist():
            count = self._n_holders.get(z, 0)
            if count == len(self._holders.get(z, ())):
                self._holders[z] = _grow(self._holders.get(z, np.empty(0, dtype=np.int64)), max(2 * count, 64))
            self._holders[z][count] = self.n
            self._n_holders[z] = count + 1
        self.n += 1


def _grow(array: np.ndarray, rows: int, columns: int | None = None) -> np.ndarray:
    """``array`` in a new buffer of ``rows`` rows (of ``columns`` columns for a 2-D array)."""
    grown = np.empty((rows,) if columns is None else (rows, columns), dtype=array.dtype)
    if len(array):
        grown[:len(array)] = array
    return grown


#: Formulas parsed at a time by :func:`crowded`.
_CHUNK = 8192
