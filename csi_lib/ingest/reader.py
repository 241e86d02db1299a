"""Reading export files as text: no type guessing, with each row's line number.

CSV and Excel exports are read by :mod:`.reader_csv` and :mod:`.reader_xlsx`;
this module is what the adapters call, whatever the format: the header, the
data rows of the columns they need, and the checks that turn a file that
cannot be trusted (duplicate column names, a title row above the header, no
data rows) into a message naming the file and the fix.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from csi_lib.errors import DataError
from csi_lib.ingest.reader_csv import csv_header_rows, read_csv_text
from csi_lib.ingest.reader_xlsx import (
    column_letter,
    forget_text_sheet,
    header_names,
    rows_text,
    sheet_rows,
    text_sheet,
    xlsx_frame,
)
from csi_lib.params import ExportFile, Source

__all__ = ["XLSX_ENGINE", "header", "read_export", "read_file", "require_columns",
           "title_row_hint"]

# pandas' name for the engine the kit reads workbooks with (tests compare against it).
XLSX_ENGINE = "calamine"
# How far down a misplaced header is looked for.
SCAN_ROWS = 20


def _is_xlsx(spec: ExportFile) -> bool:
    return spec.path.suffix.lower() == ".xlsx"


def _check_exists(spec: ExportFile) -> None:
    if not spec.path.is_file():
        raise DataError(
            f"export {spec.path} does not exist: check `path` in the params file "
            "(relative paths are read from the params file's folder)"
        )


def _first_rows(spec: ExportFile, n: int) -> list[list[str]]:
    _check_exists(spec)
    if _is_xlsx(spec):
        return rows_text(sheet_rows(spec, n)[0])
    return csv_header_rows(spec, n)


def _line(spec: ExportFile) -> str:
    return "row" if _is_xlsx(spec) else "line"


def header(spec: ExportFile) -> list[str]:
    """The column names of an export (its ``header_row``), read without its rows."""
    if _is_xlsx(spec):
        _check_exists(spec)
        fast = text_sheet(spec)
        names = None if fast is None else fast.header_names(spec)
        return names if names is not None else header_names(
            spec, sheet_rows(spec, spec.header_row)[0])
    rows = _first_rows(spec, spec.header_row)
    if len(rows) < spec.header_row or not any(c.strip() for c in rows[-1]):
        raise DataError(
            f"{spec.path} has no column names on line {spec.header_row}"
            f"{' (the file is empty)' if not rows else ''}: check the file, and "
            "`header_row:` beside its `path:` in the params file."
        )
    return [c if c else f"Unnamed: {i}" for i, c in enumerate(rows[spec.header_row - 1])]


def title_row_hint(spec: ExportFile, names: Iterable[str | tuple[str, ...]]) -> str:
    """A sentence suggesting ``header_row:`` when ``names`` sit on another row; else ''.

    An element of ``names`` may be a tuple of alternative names (an adapter's defaults).
    """
    groups = [{n.strip()} if isinstance(n, str) else {a.strip() for a in n} for n in names]
    if not groups:
        return ""
    try:
        rows = _first_rows(spec, SCAN_ROWS)
    except DataError:
        return ""
    for i, row in enumerate(rows, start=1):
        cells = {c.strip() for c in row}
        if i != spec.header_row and all(g & cells for g in groups):
            return (f" The column names are on {_line(spec)} {i}, below a title: set "
                    f"`header_row: {i}` beside this file's `path:` in the params file.")
    return ""


def _refuse_repeated(spec: ExportFile, present: list[str], wanted: Iterable[str]) -> None:
    counts = Counter(present)
    repeated = [c for c in dict.fromkeys(wanted) if counts[c] > 1]
    if not repeated:
        return
    where = "; ".join(
        f"{c!r} in columns " + ", ".join(
            f"{i + 1} ({column_letter(i)})" if _is_xlsx(spec) else str(i + 1)
            for i, n in enumerate(present) if n == c)
        for c in repeated)
    raise DataError(
        f"{spec.path} repeats column name(s) the params read: {where}. The kit cannot tell "
        "which one holds the data: rename or remove the extra column(s) in the export."
    )


def _xlsx_rows(spec: ExportFile, wanted: list[str] | None) -> pd.DataFrame:
    fast = text_sheet(spec)
    present = None if fast is None else fast.header_names(spec)
    if fast is not None and present is not None:
        _refuse_repeated(spec, present, present if wanted is None else wanted)
        return fast.frame(spec, present, list(present) if wanted is None else wanted)
    rows, merged = sheet_rows(spec)
    present = header_names(spec, rows)
    _refuse_repeated(spec, present, present if wanted is None else wanted)
    return xlsx_frame(spec, rows, merged, wanted)


def read_file(spec: ExportFile, usecols: Iterable[str] | None = None) -> pd.DataFrame:
    """The export as text columns (empty cells as ""), with ``source_row`` line numbers.

    Only ``usecols`` are read when given: wide exports (a ServiceNow list export
    can carry a hundred columns) then cost what the mapped columns cost. A file
    with a header but no data rows is refused.
    """
    wanted = None if usecols is None else list(dict.fromkeys(usecols))
    if _is_xlsx(spec):
        _check_exists(spec)
        try:
            raw = _xlsx_rows(spec, wanted)
        finally:
            forget_text_sheet()  # the rows are read: the parsed sheet is no longer needed
    else:
        present = header(spec)
        _refuse_repeated(spec, present, present if wanted is None else wanted)
        raw = read_csv_text(spec, wanted)
        if wanted is not None:
            raw = raw[wanted]
        # The header is on line header_row, so data row i sits on line i + header_row + 1
        # (a CSV cell holding a line break shifts later rows; exports rarely do).
        first = spec.header_row + 1
        raw = raw.assign(source_row=np.arange(first, len(raw) + first, dtype="int64"))
    if raw.empty:
        raise DataError(
            f"{spec.path} has column names but no data rows (header on {_line(spec)} "
            f"{spec.header_row}): export it again with its rows (check the export's filter), "
            "or remove this source from the params file."
        )
    return raw


def require_columns(columns: Iterable[str], present: list[str], spec: ExportFile,
                    where: str) -> None:
    """Fail, naming the closest present column, when ``columns`` are not all in ``present``."""
    missing = [c for c in dict.fromkeys(columns) if c not in present]
    if not missing:
        return
    hints = []
    for col in missing:
        close = difflib.get_close_matches(col, present, n=1)
        hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise DataError(
        f"{spec.path} lacks column(s) {', '.join(hints)} named in {where}. "
        f"Its columns are: {', '.join(map(repr, present))}. Fix {where} in the params "
        "file, or the export." + title_row_hint(spec, missing)
    )


def read_export(source: Source) -> pd.DataFrame:
    """The columns ``source.columns`` maps, as text, with a ``source_row`` line number."""
    present = header(source)
    require_columns(source.columns.values(), present, source, "the params column map")
    return read_file(source, usecols=source.columns.values())
