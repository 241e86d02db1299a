"""The maturity questionnaire: an Excel workbook generated from the model.

Layout of the ``Questionnaire`` sheet (fixed, so that the reader,
:mod:`csi_lib.maturity.responses`, can name any cell):

* row 1: each respondent's name, above their column group; row 2: their role;
* row 3: headers: [Service,] Area id, Area, Level, Practice id, Practice,
  What counts as evidence, then per respondent ``Rating | Evidence | Comment``;
* row 4 on: one row per practice (per service and practice when there is a
  Service column).

More respondents are added as further ``Rating | Evidence | Comment`` groups to
the right. Every text cell is written as text, never as a formula (OWASP CSV
injection): a client's "=..." stays a string in every spreadsheet program.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from csi_lib.errors import DataError
from csi_lib.maturity.model import MaturityModel
from csi_lib.maturity.scoring import SCALE

__all__ = ["FIXED", "GROUP", "HEADER_ROW", "INSTRUCTIONS", "NAME_ROW", "ROLE_ROW", "SHEET",
           "write_questionnaire"]

SHEET = "Questionnaire"
INSTRUCTIONS = "Instructions"
NAME_ROW, ROLE_ROW, HEADER_ROW = 1, 2, 3
FIXED = ["Area id", "Area", "Level", "Practice id", "Practice", "What counts as evidence"]
GROUP = ["Rating", "Evidence", "Comment"]
_WIDTHS = {"Service": 14, "Area id": 13, "Area": 20, "Level": 11, "Practice id": 11,
           "Practice": 60, "What counts as evidence": 34, "Rating": 9, "Evidence": 26,
           "Comment": 26}
_HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
_GROUP_FILLS = [PatternFill("solid", fgColor=c) for c in ("FFF2CC", "E2EFDA", "FCE4D6", "EDE7F6")]
_THIN = Side(style="thin", color="A6A6A6")
_WRAP = Alignment(wrap_text=True, vertical="top")

def _put(ws: Worksheet, row: int, col: int, value: object, **style: Any) -> Cell:
    """Write one cell; strings are stored as text even when they start with '='."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"   # openpyxl would otherwise store "=..." as a formula
        cell.quotePrefix = value[:1] in ("=", "+", "-", "@")
    else:
        cell.value = value
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def write_questionnaire(path: Path | str, model: MaturityModel, *, client: str = "",
                        quarter: str = "", respondents: Sequence[str] = (),
                        roles: Sequence[str] = (), slots: int = 4,
                        services: Sequence[str] = (), overwrite: bool = False) -> Path:
    """Write a blank questionnaire for ``model`` to ``path`` (xlsx) and return the path.

    ``respondents`` (and their ``roles``) pre-fill the name rows; ``slots`` is
    the number of respondent column groups (at least one per name).
    ``services`` adds a Service column and one block of practice rows per
    service (for assessments scored per service). An existing file is never
    replaced unless ``overwrite`` is set: it may hold a client's answers.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DataError(f"questionnaire path {path} must end in .xlsx")
    if path.exists() and not overwrite:
        raise DataError(f"{path} already exists and may hold answers; choose another path, "
                        "or pass overwrite=True (CLI: --force) to replace it")
    wb = _workbook(model, client=client, quarter=quarter, respondents=respondents,
                   roles=roles, slots=max(slots, len(respondents), 1), services=services)
    return _save(wb, path)


def _save(wb: Workbook, path: Path) -> Path:
    """Save through a temporary file and a rename: readers never see half a workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        Path(tmp).chmod(0o644)  # mkstemp makes 0600; workbooks are meant to be handed over
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _workbook(model: MaturityModel, *, client: str, quarter: str, respondents: Sequence[str],
              slots: int, services: Sequence[str], roles: Sequence[str] = ()) -> Workbook:
    wb = Workbook()
    _instructions(wb.active, model, client=client, quarter=quarter)
    ws = wb.create_sheet(SHEET)
    fixed = (["Service"] if services else []) + FIXED
    first = len(fixed) + 1
    for col, name in enumerate(fixed, start=1):
        _put(ws, HEADER_ROW, col, name, font=Font(bold=True), fill=_HEAD_FILL, alignment=_WRAP)
    _put(ws, NAME_ROW, len(fixed), "Respondent name →", font=Font(bold=True),
         alignment=Alignment(horizontal="right"))
    _put(ws, ROLE_ROW, len(fixed), "Role →", font=Font(bold=True),
         alignment=Alignment(horizontal="right"))
    for slot in range(slots):
        col = first + slot * len(GROUP)
        fill = _GROUP_FILLS[slot % len(_GROUP_FILLS)]
        name = respondents[slot] if slot < len(respondents) else ""
        _put(ws, NAME_ROW, col, name, fill=fill, font=Font(bold=True))
        _put(ws, ROLE_ROW, col, roles[slot] if slot < len(roles) else "", fill=fill)
        for row in (NAME_ROW, ROLE_ROW):
            ws.merge_cells(start_row=row, start_column=col, end_row=row,
                           end_column=col + len(GROUP) - 1)
        for offset, header in enumerate(GROUP):
            _put(ws, HEADER_ROW, col + offset, header, font=Font(bold=True), fill=fill,
                 border=Border(left=_THIN) if offset == 0 else Border())
    rows = _practice_rows(model, services)
    for r, values in enumerate(rows, start=HEADER_ROW + 1):
        for col, value in enumerate(values, start=1):
            _put(ws, r, col, value, alignment=_WRAP)
        for col in range(first, first + slots * len(GROUP)):
            # Text format: a typed 60 stays "60" and a typed "=..." stays text.
            _put(ws, r, col, None, number_format="@", alignment=_WRAP,
                 border=Border(left=_THIN) if (col - first) % len(GROUP) == 0 else Border())
    last = HEADER_ROW + len(rows)
    headers = fixed + GROUP * slots
    for col, name in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(col)].width = _WIDTHS.get(name, 12)
    _validation(ws, first, slots, last)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=first)
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headers))}{last}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    wb.active = wb.index(ws)
    return wb


def _practice_rows(model: MaturityModel, services: Sequence[str]) -> list[list[object]]:
    base = [[a.id, a.name, f"{k} {model.level_name(k)}", p.id, p.text, p.evidence or ""]
            for a in model.areas for k, p in a.practices]
    if not services:
        return base
    return [[s, *row] for s in services for row in base]


def _validation(ws: Worksheet, first: int, slots: int, last: int) -> None:
    ranges = [f"{get_column_letter(first + s * len(GROUP))}{HEADER_ROW + 1}:"
              f"{get_column_letter(first + s * len(GROUP))}{last}" for s in range(slots)]
    # A list offers the letters; "information" style still accepts a percentage.
    dv = DataValidation(type="list", formula1='"N,P,L,F"', allow_blank=True,
                        showErrorMessage=True, errorStyle="information",
                        errorTitle="Rating", error="Ratings are N, P, L or F, or a percentage "
                        "from 0 to 100 (e.g. 60%). Anything else is refused when the "
                        "questionnaire is read.", showInputMessage=True, promptTitle="Rating",
                        prompt="N not (0-15%), P partially (>15-50%), L largely (>50-85%), "
                        "F fully (>85-100%) achieved, or a percentage. Blank: cannot judge.")
    for cells in ranges:
        dv.add(cells)
    ws.add_data_validation(dv)


def _instructions(ws: Worksheet, model: MaturityModel, *, client: str, quarter: str) -> None:
    ws.title = INSTRUCTIONS
    bold = Font(bold=True)
    lines: list[tuple[str, str]] = [
        ("CSI maturity questionnaire", ""),
        ("Client", client or "(fill in)"),
        ("Quarter", quarter or "(fill in, as YYYYQn)"),
        ("Model", f"{model.name}, version {model.version} ({model.id})"),
        ("", ""),
        ("How to fill it in", ""),
        ("1.", ("Each respondent types their name in row 1 (and role in row 2) above one "
               "column group of the Questionnaire sheet. Every group with ratings needs a name.")),
        ("2.", ("Rate each practice you know at first hand: how far is it achieved across the "
               "organisation today? Leave it blank if you cannot judge.")),
        ("3.", ("Rating: N, P, L or F from the drop-down, or the share achieved as a percentage "
               "from 0 to 100 (e.g. 60%).")),
        ("4.", ("Evidence: where the proof is (document, link, ticket). Comment: anything "
               "else the assessor should know.")),
        ("5.", ("Do not edit the Practice id column or delete rows. For another respondent, "
               "add three columns headed Rating, Evidence and Comment to the right.")),
        ("6.", ("Return the file; it is saved as <quarter>.xlsx (e.g. 2026Q3.xlsx) in the "
               "client's questionnaire folder.")),
        ("", ""),
        ("Rating scale (ISO/IEC 33020)", ""),
    ]
    lines += [(f"{b.code}", f"{b.name}: {b.range_text} (a letter counts as {b.midpoint:g}%)")
              for b in SCALE]
    lines += [("", ""), ("Levels", "")]
    lines += [(f"{k} {lvl.name}", lvl.description) for k, lvl in model.levels.items()]
    lines += [("", ""), ("How it is scored", ""),
              ("", ("The respondents' median rating is taken for each practice. An area "
                    "reaches level k when all its level-k practices are at least largely "
                    "achieved (L) and all practices of the lower levels fully achieved (F)."))]
    for r, (label, text) in enumerate(lines, start=1):
        heading = not text and label
        _put(ws, r, 1, label, font=Font(bold=True, size=14 if r == 1 else 11) if heading
             or label in ("Client", "Quarter", "Model") else bold if label else Font())
        _put(ws, r, 2, text, alignment=Alignment(wrap_text=True, vertical="top"))
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 100

