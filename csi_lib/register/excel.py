"""Writing workbooks safely: text stays text, files appear whole.

A string that starts with ``=`` becomes a formula in openpyxl unless the cell is
typed as a string; a register cell holding ``=HYPERLINK("http://x")`` must reach
the hand-over workbook as those characters, never as a live link or formula
(OWASP, "CSV Injection": spreadsheet cells from untrusted input are written as
text). Cells are also marked with Excel's quote prefix, so that editing one in
Excel keeps it text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["HEADER_FILL", "put", "save_atomic", "write_table"]

HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")
HEADER_FONT = Font(bold=True, color="1F2933")
# What a spreadsheet reads as the start of a formula (OWASP CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def put(cell: Cell, value: Any, number_format: str | None = None) -> None:
    """Write ``value`` into ``cell``: strings as text (never formulas), numbers and dates as such.

    Missing values (None, NaN, NaT, "") leave the cell empty.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, str) and not value) or (
            pd.api.types.is_scalar(value) and pd.isna(value)):
        cell.value = None
        return
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, (bool, int, float, dt.date, dt.datetime)) and not isinstance(value, str):
        cell.value = value
        if number_format:
            cell.number_format = number_format
        return
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell.value = text
    # Assigning a string that starts with "=" makes openpyxl type the cell as a
    # formula; typing it back as a string writes it as an inline string.
    cell.data_type = "s"
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True


def write_table(ws: Worksheet, frame: pd.DataFrame, *, formats: dict[str, str] | None = None,
                widths: dict[str, float] | None = None, wrap: Sequence[str] = (),
                start_row: int = 1) -> None:
    """``frame`` as a table: bold header, frozen, filtered, with widths and number formats."""
    formats, widths = formats or {}, widths or {}
    for j, name in enumerate(frame.columns, start=1):
        cell = ws.cell(start_row, j)
        put(cell, str(name))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        ws.column_dimensions[get_column_letter(j)].width = widths.get(
            str(name), max(10.0, min(40.0, len(str(name)) + 2)))
    for i, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for j, (name, value) in enumerate(zip(frame.columns, row, strict=True), start=1):
            cell = ws.cell(i, j)
            put(cell, value, formats.get(str(name)))
            if name in wrap:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
            else:
                cell.alignment = Alignment(vertical="top")
    ws.freeze_panes = ws.cell(start_row + 1, 1)
    if len(frame.columns):
        last = get_column_letter(len(frame.columns))
        ws.auto_filter.ref = f"A{start_row}:{last}{start_row + max(len(frame), 1)}"


def save_atomic(wb: Workbook, path: Path) -> Path:
    """Save ``wb`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        wb.save(tmp)
        tmp.chmod(0o644)  # mkstemp makes 0600; workbooks are meant to be handed over
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return path
