"""Excel exports as text, read with calamine: sheets, header row, merged cells, damaged files.

calamine (Rust) reads XLSX about ten times faster than openpyxl, which matters
for exports of hundreds of thousands of rows. The sheet is loaded once; cells
become the text a CSV export would hold (``1`` not ``1.0``, dates as
``2026-07-01 09:00:00``), as pandas' calamine reader writes them.

A sheet holding only text cells (and no merged range) is read by fastexcel
instead (calamine too, straight into Arrow strings; :class:`TextSheet`): the
same text without a Python object per cell, in about a third of the time.
Every other sheet, and every message, comes from the calamine path.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine as calamine

from csi_lib.errors import DataError
from csi_lib.params import ExportFile

__all__ = ["TextSheet", "column_letter", "forget_text_sheet", "header_names", "sheet_rows",
           "text_sheet", "xlsx_frame"]

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


# ---------------------------------------------------------------- text sheets, read by fastexcel
#
# A sheet of text cells only (what most tools write for an export) is read once by
# fastexcel straight into Arrow strings: no Python object per cell, and one parse
# of the sheet serves the header and the rows. Cells of any other kind (numbers,
# dates, booleans, errors), merged cells, or anything fastexcel cannot read send
# the sheet to calamine above, whose messages and conversions (`_cell_text`) stay
# the reference: the text of a text cell is the same in both.

# Byte patterns in a sheet's XML that send it to calamine: merged ranges, and cells
# typed as ISO dates or errors (which fastexcel might give as text, unlike calamine).
NOT_TEXT_ONLY = (b"mergeCell", b't="d"', b"t='d'", b't="e"', b"t='e'")
XML_CHUNK = 1 << 24
# A cell holding a value (<v>) whose type is not text (a number, date or boolean), looked
# for in the sheet's first megabyte: such a sheet goes straight to calamine, without a
# first parse by fastexcel that it would then repeat.
VALUE_CELL = re.compile(rb"<c\b([^>]*)>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?<v>")
TEXT_TYPE = re.compile(rb"""\bt=["'](?:s|str|inlineStr)["']""")
HEAD_BYTES = 1 << 20
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class TextSheet:
    """A sheet of text cells: each used column's strings (null for an empty cell) from row 1."""

    columns: dict[int, pa.ChunkedArray]  # 0-based Excel column index -> its cells
    width: int  # columns from A to the last used one
    height: int  # rows from 1 to the last used one

    def header_names(self, spec: ExportFile) -> list[str] | None:
        """The names on ``spec.header_row`` as :func:`header_names` gives them; None when
        that row is missing or blank (calamine then reads the sheet and says so)."""
        if self.height < spec.header_row:
            return None
        row = spec.header_row - 1
        cells = [self.columns[j][row].as_py() if j in self.columns else None
                 for j in range(self.width)]
        texts = ["" if c is None else c for c in cells]
        if not any(t.strip() for t in texts):
            return None
        return [t or f"Unnamed: {i}" for i, t in enumerate(texts)]

    def frame(self, spec: ExportFile, names: list[str], usecols: list[str]) -> pd.DataFrame:
        """The data rows below the header, as :func:`xlsx_frame` gives them."""
        start = spec.header_row
        n = max(self.height - start, 0)
        keep = np.zeros(n, dtype=bool)
        for col in self.columns.values():
            body = col.slice(start)
            filled = pc.and_(pc.is_valid(body), pc.not_equal(pc.binary_length(body), 0))
            keep |= pc.fill_null(filled, False).to_numpy(zero_copy_only=False)
        lines = np.arange(start + 1, start + 1 + n, dtype="int64")
        rows = pa.array(np.flatnonzero(keep))
        index = {name: i for i, name in reversed(list(enumerate(names)))}
        out = {}
        for c in usecols:
            j = index[c]
            if j in self.columns:
                cells = pc.fill_null(self.columns[j].slice(start).take(rows), "")
            else:
                cells = pa.chunked_array([pa.array([""] * len(rows), pa.large_string())])
            out[c] = pd.Series(pd.arrays.ArrowStringArray(cells.cast(pa.large_string())),
                               dtype="str")
        frame = pd.DataFrame(out) if usecols else pd.DataFrame(index=range(len(rows)))
        return frame.assign(source_row=lines[keep])


def _sheet_part(zf: zipfile.ZipFile, name: str) -> str | None:
    """The zip member holding the sheet called ``name``, from the workbook's relationships."""
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    rel_id = next((s.get(f"{REL_NS}id") for s in book.iter(f"{MAIN_NS}sheet")
                   if s.get("name") == name), None)
    target = next((r.get("Target") for r in rels.iter(f"{PKG_REL_NS}Relationship")
                   if r.get("Id") == rel_id), None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _text_only(path: Path, name: str) -> bool:
    """Whether the sheet's XML has no merged range and no ISO-date or error cell."""
    with zipfile.ZipFile(path) as zf:
        part = _sheet_part(zf, name)
        if part is None:
            return False
        tail = b""
        with zf.open(part) as fh:
            while chunk := fh.read(XML_CHUNK):
                window = tail + chunk
                if any(p in window for p in NOT_TEXT_ONLY):
                    return False
                tail = chunk[-8:]
    return True


def _starts_with_text(path: Path, name: str) -> bool:
    """Whether the cells with a value in the sheet's first megabyte of XML are all text."""
    with zipfile.ZipFile(path) as zf:
        part = _sheet_part(zf, name)
        if part is None:
            return False
        with zf.open(part) as fh:
            head = fh.read(HEAD_BYTES)
    return all(TEXT_TYPE.search(cell[1]) for cell in VALUE_CELL.finditer(head))


def _read_text_sheet(spec: ExportFile) -> TextSheet | None:
    try:
        reader = fastexcel.read_excel(str(spec.path))
        names = reader.sheet_names
        name = names[0] if spec.sheet is None and names else spec.sheet
        if name not in names or not _starts_with_text(spec.path, name):
            return None
        with ThreadPoolExecutor(max_workers=1) as pool:  # the XML scan overlaps the parse
            scan = pool.submit(_text_only, spec.path, name)
            sheet = reader.load_sheet(name, header_row=None, skip_rows=0,
                                      schema_sample_rows=None, dtype_coercion="strict")
            columns = sheet.available_columns()
            if not scan.result() or any(c.dtype not in ("string", "null") for c in columns):
                return None
            table = sheet.to_arrow()
    except Exception:  # noqa: BLE001 (whatever fails here, calamine reads the file and says why)
        return None
    # fastexcel gives a RecordBatch: one array per column.
    cells = {c.absolute_index: pa.chunked_array([table.column(i)]).cast(pa.large_string())
             for i, c in enumerate(columns)}
    width = max(cells, default=-1) + 1
    return TextSheet(columns=cells, width=width, height=table.num_rows)


_TEXT_SHEETS: dict[tuple[str, int, int, str | None], TextSheet | None] = {}
_UNREAD = object()


def text_sheet(spec: ExportFile) -> TextSheet | None:
    """The sheet of ``spec`` as a :class:`TextSheet`, or None when calamine must read it.

    The last sheet read is kept (one), so that the header and then the rows of an
    export cost one parse; :func:`forget_text_sheet` lets it go once the rows are read.
    """
    stat = spec.path.stat()
    key = (str(spec.path), stat.st_mtime_ns, stat.st_size, spec.sheet)
    sheet = _TEXT_SHEETS.get(key, _UNREAD)
    if sheet is not _UNREAD:
        return sheet
    sheet = _read_text_sheet(spec)
    _TEXT_SHEETS.clear()
    _TEXT_SHEETS[key] = sheet
    return sheet


def forget_text_sheet() -> None:
    """Drop the sheet :func:`text_sheet` keeps."""
    _TEXT_SHEETS.clear()
