"""Ingest of a mutated export either accounts for every row or fails with the kit's own message.

A small export is damaged the ways real ones are: dates in other formats,
blank cells, repeated rows, renamed or repeated columns, other encodings and
delimiters, a title row, a workbook instead of a CSV. Whatever the mutation,
ingest must either succeed with kept + excluded = records read (and the
export's rows all accounted for), or raise a CsiError with a message: never
another exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import openpyxl
from conftest import PARAMS_YAML, TICKETS_CSV
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csi_lib.errors import CsiError
from csi_lib.ingest import ingest
from csi_lib.params import load_params

HEADER, *BASE = list(csv.reader(io.StringIO(TICKETS_CSV + """\
T5,Incident,2026-07-05 14:00,2026-07-05 14:20,2026-07-06 09:00,Closed,2,Net,0,0,Zoë Fox
T6,Request,2026-08-13 08:30,,2026-08-20 17:45,Resolved,3,Mail,2,0,Bob Ray
""")))
TIME_COLUMNS = (2, 3, 4)
FORMATS = ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M",
           "%Y-%m-%dT%H:%M:%S+02:00", "%d %b %Y")


@st.composite
def exports(draw: st.DrawFn) -> dict:
    """A mutated copy of the export, and how it is written and described in the params."""
    header, rows = list(HEADER), [list(r) for r in BASE]
    for _ in range(draw(st.integers(0, 3))):  # repeated rows, verbatim or edited later
        rows.insert(draw(st.integers(0, len(rows))), list(rows[draw(st.integers(0, len(rows) - 1))]))
    cells = st.tuples(st.integers(0, len(rows) - 1), st.integers(0, len(header) - 1))
    for r, c in draw(st.lists(cells, max_size=5)):  # blank cells
        rows[r][c] = ""
    for r, c, fmt in draw(st.lists(st.tuples(st.integers(0, len(rows) - 1),
                                             st.sampled_from(TIME_COLUMNS),
                                             st.sampled_from(FORMATS)), max_size=6)):
        try:  # another date format (a cell not blanked or reformatted already)
            rows[r][c] = dt.datetime.strptime(rows[r][c], "%Y-%m-%d %H:%M").strftime(fmt)
        except ValueError:
            continue
    column = draw(st.integers(0, len(header) - 1))
    change = draw(st.sampled_from(["none", "rename", "repeat"]))
    if change == "rename":
        header[column] = header[column].upper() + "_"
    elif change == "repeat":
        header.append(header[column])
        rows = [[*r, r[column]] for r in rows]
    return {
        "header": header, "rows": rows,
        "xlsx": draw(st.booleans()),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])),
        "declare_encoding": draw(st.booleans()),
        "delimiter": draw(st.sampled_from([",", ";", "\t"])),
        "title": draw(st.booleans()),
        "declare_title": draw(st.booleans()),
        "date_format": draw(st.sampled_from(["keep", "none", "list"])),
    }


def _write(folder: Path, case: dict) -> tuple[Path, int]:
    """Write the export and its params; return the params path and the export's data rows."""
    table = [case["header"], *case["rows"]]
    title = [["Ticket export, third quarter"], []] if case["title"] else []
    params = PARAMS_YAML
    options = []
    if case["xlsx"]:
        book = openpyxl.Workbook()
        for row in [*title, *table]:
            book.active.append(row)
        book.save(folder / "tickets.xlsx")
        params = params.replace("path: tickets.csv", "path: tickets.xlsx")
        data_rows = sum(any(c for c in r) for r in case["rows"])  # empty rows are no rows
    else:
        text = io.StringIO()
        writer = csv.writer(text, delimiter=case["delimiter"], lineterminator="\n")
        writer.writerows([*title, *table])
        (folder / "tickets.csv").write_bytes(text.getvalue().encode(case["encoding"]))
        if case["declare_encoding"]:
            options.append(f"encoding: {case['encoding']}")
        data_rows = len(case["rows"])
    if case["title"] and case["declare_title"]:
        options.append("header_row: 3")
    if case["date_format"] == "none":
        params = params.replace('    date_format: "%Y-%m-%d %H:%M"\n', "")
    elif case["date_format"] == "list":
        params = params.replace('date_format: "%Y-%m-%d %H:%M"',
                                'date_format: ["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]')
    for option in options:
        params = params.replace("    path:", f"    {option}\n    path:", 1)
    path = folder / "tiny.yaml"
    path.write_text(params, encoding="utf-8")
    return path, data_rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_every_row_is_accounted_for_or_the_kit_explains(case: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, data_rows = _write(Path(tmp), case)
        try:
            result = ingest(load_params(path), key=b"k")
        except CsiError as exc:
            message = str(exc)
            result = None
    if result is None:
        # The kit's own error names the file (or the params file) it is about.
        assert "tickets.csv" in message or "tickets.xlsx" in message or "tiny.yaml" in message
        return
    kept, excluded = result.tickets, result.excluded
    assert len(kept) + len(excluded) == result.rows_read["tickets"]
    assert result.export_rows("tickets") == data_rows
    assert kept["ticket_id"].is_unique
    assert set(excluded["rule"]) <= set(result.issues["rule"])
