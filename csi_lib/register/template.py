"""The blank improvement register: drop-downs, number formats and an instructions sheet.

``write_register_template`` writes the workbook the consultant fills for a new
client; ``templates/improvement_register.xlsx`` is its output with no services.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from csi_lib import catalogue
from csi_lib.register.excel import HEADER_FILL, put, save_atomic
from csi_lib.register.layout import (
    BY_FIELD,
    COLUMNS,
    NUMBER_FORMATS,
    SCORES,
    SHEET,
    STATUSES,
    ServiceLike,
    service_pairs,
)

__all__ = ["LISTS", "TEMPLATE_ROWS", "template_workbook", "write_register_template"]

LISTS = "Lists"
TEMPLATE_ROWS = 500                      # rows that carry drop-downs and formats


def write_register_template(path: Path | str, services: Sequence[ServiceLike | str] = (),
                            ) -> Path:
    """Write a blank register for a client: drop-downs, formats and an instructions sheet.

    ``services`` (params' services, or ids) fill the service drop-down; with
    none, the consultant lists them in sheet ``Lists``. Returns the path.
    """
    wb = template_workbook(service_pairs(services))
    return save_atomic(wb, Path(path))


def template_workbook(services: list[tuple[str, str]]) -> Workbook:
    """The blank register workbook for ``(id, name)`` services."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    for j, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(1, j)
        put(cell, col.header)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.comment = Comment(col.help, "csi-kit", width=260, height=90)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = col.width
        fmt = NUMBER_FORMATS.get(col.kind)
        if fmt:
            ws.column_dimensions[letter].number_format = fmt
    ws.row_dimensions[1].height = 42
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{TEMPLATE_ROWS}"
    _lists_sheet(wb, services)
    _validations(ws)
    _instructions_sheet(wb)
    return wb


def _lists_sheet(wb: Workbook, services: list[tuple[str, str]]) -> None:
    ls = wb.create_sheet(LISTS)
    kpis = [k for k in catalogue.CATALOGUE.values() if k.direction != "neutral"]
    for j, header in enumerate(("Service id", "Service name", "", "Status", "",
                                "KPI id", "KPI"), start=1):
        if header:
            put(ls.cell(1, j), header)
            ls.cell(1, j).font = Font(bold=True)
    for i, (sid, name) in enumerate(services, start=2):
        put(ls.cell(i, 1), sid)
        put(ls.cell(i, 2), name)
    for i, status in enumerate(STATUSES, start=2):
        put(ls.cell(i, 4), status)
    for i, kpi in enumerate(kpis, start=2):
        put(ls.cell(i, 6), kpi.id)
        put(ls.cell(i, 7), f"{kpi.label} ({kpi.direction} is better)")
    for letter, width in zip("ABCDEFG", (16, 28, 3, 14, 3, 22, 44), strict=True):
        ls.column_dimensions[letter].width = width
    if not services:
        put(ls.cell(2, 2), "← list the client's service ids in column A")


def _validations(ws: Any) -> None:
    last = TEMPLATE_ROWS
    kpi_count = sum(k.direction != "neutral" for k in catalogue.CATALOGUE.values())

    def add(field: str, dv: DataValidation) -> None:
        col = BY_FIELD[field]
        letter = get_column_letter(COLUMNS.index(col) + 1)
        dv.promptTitle = col.header[:32]
        dv.prompt = col.help[:255]
        dv.showInputMessage = dv.showErrorMessage = True
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)

    # OFFSET/COUNTA: the drop-down grows with the ids listed in sheet Lists.
    add("service", DataValidation(
        type="list", formula1=f"OFFSET({LISTS}!$A$2,0,0,MAX(1,COUNTA({LISTS}!$A$2:$A$200)),1)",
        allow_blank=True, error="Pick a service id from the list (sheet Lists, column A).",
        errorTitle="Unknown service"))
    add("kpi", DataValidation(
        type="list", formula1=f"{LISTS}!$F$2:$F${kpi_count + 1}", allow_blank=True,
        error="Pick a KPI id from the list (sheet Lists, column F).", errorTitle="Unknown KPI"))
    add("status", DataValidation(
        type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=True,
        error="Status is one of: " + ", ".join(STATUSES), errorTitle="Unknown status"))
    for field in SCORES:
        add(field, DataValidation(type="whole", operator="between", formula1="1",
                                  formula2="5", allow_blank=True,
                                  error="A score is a whole number from 1 to 5.",
                                  errorTitle="Score out of range"))
    add("expected_improvement", DataValidation(
        type="decimal", operator="between", formula1="0", formula2="10", allow_blank=True,
        error="Enter a percentage, e.g. 20%.", errorTitle="Not a percentage"))
    add("confidence", DataValidation(
        type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
        error="Enter a percentage from 0% to 100%.", errorTitle="Not a percentage"))
    add("effort_hours", DataValidation(
        type="decimal", operator="greaterThan", formula1="0", allow_blank=True,
        error="Effort hours is a number of hours above zero.", errorTitle="Not hours"))
    for field in ("reach", "cost"):
        add(field, DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                  allow_blank=True, error="Enter a number, zero or more.",
                                  errorTitle="Not a number"))
    for field in ("proposed", "delivered", "decided", "review_date"):
        add(field, DataValidation(type="date", operator="greaterThan",
                                  formula1="DATE(2000,1,1)", allow_blank=True,
                                  error="Enter a date, e.g. 2026-07-01.", errorTitle="Not a date"))


_GUIDE = (
    ("How the kit uses this register", ""),
    ("", ("Each quarter, the prioritisation report scores every proposed and approved initiative, "
         "filters those whose expected improvement is below the client's minimum viable "
         "improvement, orders them so that nothing comes before what it depends on, and plans "
         "the quarter within the team hours ring-fenced for improvement.")),
    ("", ("Work in progress is committed first: its 'Effort hours' are the hours still to "
         "spend. Delivered initiatives satisfy the dependencies of others.")),
    ("", ("Rejected initiatives go to the decision log with their 'Decision notes' and "
         "'Decision date'. Never delete a rejected row: the log shows why it was rejected.")),
    ("", ("Delivered initiatives need their 'Delivered' date: the benefit review compares "
          "the linked KPI before and after it, net of the services the initiative did not "
          "touch. Record the post-implementation review in 'Review date', 'Outcome notes' "
          "and 'Residual risk'; reviewed initiatives move to the archive.")),
    ("", ("Initiatives suggested by the data (gap analysis triggers) appear in the report and in "
         "the backlog workbook's 'Suggestions' sheet; copy a suggestion here to adopt it.")),
    ("", ("The kit reads the values Excel shows (a formula's result, never the formula) and "
          "writes every text it copies into its workbooks as text, never as a formula.")),
    ("Rules the kit checks", ""),
    ("", "One header row (row 1) with these columns; extra columns are allowed and ignored."),
    ("", ("Every row needs an ID, a Title, a Service and a Status. Proposed, approved and "
         "in-progress rows also need the four 1-5 scores and Effort hours.")),
    ("", ("Scores are whole numbers from 1 to 5; Service and Other services use the ids in "
         "sheet Lists; 'Depends on' names ids of this sheet, without loops.")),
    ("Columns", ""),
)


def _instructions_sheet(wb: Workbook) -> None:
    ws = wb.create_sheet("Instructions", 0)
    put(ws.cell(1, 1), "Improvement register: instructions")
    ws.cell(1, 1).font = Font(bold=True, size=14)
    row = 3
    for head, text in _GUIDE:
        if head:
            put(ws.cell(row, 1), head)
            ws.cell(row, 1).font = Font(bold=True, size=12)
        else:
            put(ws.cell(row, 2), text)
            ws.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    for col in COLUMNS:
        put(ws.cell(row, 1), col.header)
        ws.cell(row, 1).font = Font(bold=True)
        put(ws.cell(row, 2), col.help + ("" if col.required else " (optional column)"))
        ws.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 100
    wb.active = wb.sheetnames.index(SHEET)
