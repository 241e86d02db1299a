"""Excel exports as text, read with calamine: sheets, header row, merged cells, damaged files.

calamine (Rust) reads XLSX about ten times faster than openpyxl, which matters
for exports of hundreds of thousands of rows. The sheet is loaded once; cells
become the text a CSV export would hold (``1`` not ``1.0``, dates as
``2026-07-01 09:00:00``), as pandas' calamine reader writes them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import python_calamine as calamine

from csi_lib.errors import DataError
from csi_lib.params import ExportFile

__all__ = ["column_letter", "header_names", "sheet_rows", "xlsx_frame"]

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted workbooks and old .xls files
ZIP = b"PK\x03\x04"


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column ``index``: 0 -> A, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _damaged(path: Path, exc: Exception) -> DataError:
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic == OLE2:
        what = ("is password-protected (encrypted) or an old .xls workbook: open it in Excel, "
                "remove the password (File > Info > Protect Workbook) and save it as .xlsx")
    elif magic.startswith(ZIP):
        what = f"is damaged or truncated ({exc}): export or copy the file again"
    else:
        shown = magic.decode("ascii", errors="replace")
        what = (f"is not an Excel workbook (it starts with {shown!r}): if it is a CSV export, "
                "give it a .csv name and `path:`")
    return DataError(f"cannot read {path}: it {what}.")


def _cell_text(value: object) -> str:
    """A cell as the text pandas' calamine reader gives with ``dtype=str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):  # pandas makes a date a midnight timestamp
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, dt.timedelta):
        return str(pd.Timedelta(value))
    return str(value)


def _column_text(values: list[object]) -> list[str]:
    if all(type(v) is str for v in values):  # the common case: no conversion
        return values  # type: ignore[return-value]
    return [_cell_text(v) for v in values]


def _sheet(spec: ExportFile) -> calamine.CalamineSheet:
    try:
        book = calamine.CalamineWorkbook.from_path(str(spec.path))
    except (calamine.CalamineError, OSError, ValueError) as exc:
        raise _damaged(spec.path, exc) from None
    try:
        if spec.sheet is None:
            return book.get_sheet_by_index(0)
        if spec.sheet not in book.sheet_names:
            raise DataError(
                f"{spec.path} has no sheet {spec.sheet!r}: its sheets are "
                f"{', '.join(map(repr, book.sheet_names))}. Fix `sheet:` beside this file's "
                "`path:` in the params file."
            )
        return book.get_sheet_by_name(spec.sheet)
    except (calamine.CalamineError, OSError, ValueError) as exc:
        raise _damaged(spec.path, exc) from None


def sheet_rows(spec: ExportFile, n: int | None = None) -> tuple[list[list[object]], list]:
    """(the sheet's first ``n`` rows of cell values, from row 1 and column A; merged ranges)."""
    sheet = _sheet(spec)
    try:
        rows = sheet.to_python(skip_empty_area=False, nrows=n)
        merged = sheet.merged_cell_ranges or []
    except (calamine.CalamineError, ValueError) as exc:
        raise _damaged(spec.path, exc) from None
    return rows, merged


def rows_text(rows: list[list[object]]) -> list[list[str]]:
    """Cell values as text (for the few rows scanned for a header)."""
    return [[_cell_text(v) for v in row] for row in rows]


def _merged_in_data(spec: ExportFile, merged: list, names: list[str], wanted: set[str]
                    ) -> list[str]:
    """Merged ranges over data rows of the columns read, as 'A5:A9 (column 'group')'."""
    found = []
    for (r0, c0), (r1, c1) in merged:
        if r1 < spec.header_row:  # a title or header cell: no data hides under it
            continue
        cols = [names[c] for c in range(c0, min(c1, len(names) - 1) + 1) if c < len(names)]
        if not wanted.intersection(cols):
            continue
        found.append(f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1} "
                     f"(column {', '.join(map(repr, cols))})")
    return found


def header_names(spec: ExportFile, rows: list[list[str]]) -> list[str]:
    """The names on ``spec.header_row`` of ``rows``, blanks named as pandas names them."""
    if len(rows) < spec.header_row or not any(
            _cell_text(c).strip() for c in rows[spec.header_row - 1]):
        raise DataError(f"{spec.path} has no column names on row {spec.header_row}"
                        f"{' (the sheet is empty)' if not rows else ''}: check `header_row:` "
                        "and `sheet:` beside this file's `path:` in the params file.")
    width = max(len(r) for r in rows)
    names = [c or f"Unnamed: {i}" for i, c in enumerate(rows_text([rows[spec.header_row - 1]])[0])]
    return names + [f"Unnamed: {i}" for i in range(len(names), width)]


def xlsx_frame(spec: ExportFile, rows: list[list[str]], merged: list,
               usecols: list[str] | None) -> pd.DataFrame:
    """The data rows below ``spec.header_row`` as text columns, with ``source_row``.

    ``rows`` and ``merged`` come from :func:`sheet_rows`. Fully empty rows are
    left out; ``source_row`` is each row's Excel row number. Merged cells over
    the data of a column read are refused: Excel keeps a merged value in the
    first cell only, so the other rows would read as empty.
    """
    names = header_names(spec, rows)
    wanted = list(names) if usecols is None else usecols
    hidden = _merged_in_data(spec, merged, names, set(wanted))
    if hidden:
        raise DataError(
            f"{spec.path} has merged cells over data rows: {'; '.join(hidden[:5])}"
            f"{f' and {len(hidden) - 5} more' if len(hidden) > 5 else ''}. Excel keeps a "
            "merged value in the first cell only, so the other rows would read as empty "
            "(and match no service). Unmerge the cells and fill the value down, or export "
            "the data again without merging."
        )
    body = rows[spec.header_row:]
    lines = np.arange(spec.header_row + 1, spec.header_row + 1 + len(body), dtype="int64")
    keep = np.array([any(v != "" for v in r) for r in body], dtype=bool)
    index = {n: i for i, n in reversed(list(enumerate(names)))}  # first of a repeated name
    columns = {}
    for c in wanted:
        j = index[c]
        columns[c] = _column_text([r[j] if j < len(r) else "" for r in body])
    out = pd.DataFrame(columns, dtype=object).loc[keep] if body else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in wanted})
    return out.reset_index(drop=True).assign(source_row=lines[keep])
