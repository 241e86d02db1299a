"""Export files as they arrive: encodings, delimiters, title rows, damaged workbooks."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import TICKETS_CSV, write_yaml

from csi_lib.errors import DataError, ParamsError
from csi_lib.ingest import ingest
from csi_lib.ingest.reader import XLSX_ENGINE, read_file
from csi_lib.params import load_params
from csi_lib.params.sources import ExportFile

ROWS = list(csv.reader(io.StringIO(TICKETS_CSV)))


def _edit(tiny: Path, old: str, new: str) -> Path:
    text = tiny.read_text()
    assert old in text
    return write_yaml(tiny, text.replace(old, new, 1))


def _option(tiny: Path, line: str) -> Path:
    return _edit(tiny, "    path: tickets.csv\n", f"    path: tickets.csv\n    {line}\n")


def _csv_bytes(tiny: Path, data: bytes) -> Path:
    (tiny.parent / "tickets.csv").write_bytes(data)
    return tiny


def _xlsx(tiny: Path, rows: list[list[object]], *, sheet: str = "Sheet1",
          merge: str | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    book.save(tiny.parent / "tickets.xlsx")
    return _edit(tiny, "path: tickets.csv", "path: tickets.xlsx")


# --- encodings -------------------------------------------------------------------------


def test_a_cp1252_export_says_which_byte_and_line_and_what_to_set(tiny: Path) -> None:
    _csv_bytes(tiny, TICKETS_CSV.replace("Cy Fox", "Zoë Fox").encode("cp1252"))
    with pytest.raises(DataError) as err:
        ingest(load_params(tiny))
    message = str(err.value)
    assert f"{tiny.parent / 'tickets.csv'} is not utf-8 text: byte 0xeb on line 5" in message
    assert "`encoding:`" in message and "cp1252" in message
    t = ingest(load_params(_option(tiny, "encoding: cp1252")), key=None).tickets
    assert t.loc[3, "caller"] == "Zoë Fox"


def test_byte_order_marks_choose_the_encoding(tiny: Path) -> None:
    expected = ingest(load_params(tiny), key=None).tickets
    # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated.
    _csv_bytes(tiny, TICKETS_CSV.replace(",", "\t").encode("utf-16"))
    pd.testing.assert_frame_equal(ingest(load_params(tiny), key=None).tickets, expected)
    _csv_bytes(tiny, TICKETS_CSV.encode("utf-8-sig"))
    pd.testing.assert_frame_equal(ingest(load_params(tiny), key=None).tickets, expected)


def test_utf16_without_a_byte_order_mark_is_named(tiny: Path) -> None:
    _csv_bytes(tiny, TICKETS_CSV.encode("utf-16-le"))
    with pytest.raises(DataError, match=r"tickets\.csv holds NUL bytes, as UTF-16 text does: "
                                        r"set `encoding: utf-16`"):
        ingest(load_params(tiny))
    t = ingest(load_params(_option(tiny, "encoding: utf-16-le"))).tickets
    assert list(t["ticket_id"]) == ["T1", "T2", "T3", "T4"]


def test_encoding_and_delimiter_are_validated(tiny: Path) -> None:
    _option(tiny, "encoding: klingon")
    with pytest.raises(ParamsError, match=r"unknown encoding 'klingon': .*cp1252"):
        load_params(tiny)
    _edit(tiny, "encoding: klingon", "delimiter: ';;'")
    with pytest.raises(ParamsError, match=r"delimiter ';;' must be one character"):
        load_params(tiny)
    _edit(tiny, "delimiter: ';;'", "delimiter: tab")
    assert load_params(tiny).sources.tickets.delimiter == "\t"


def test_csv_options_are_refused_for_a_workbook(tiny: Path) -> None:
    _xlsx(tiny, ROWS)
    _edit(tiny, "path: tickets.xlsx", "path: tickets.xlsx\n    encoding: cp1252")
    with pytest.raises(ParamsError, match=r"encoding apply to CSV exports only, and "
                                          r"tickets\.xlsx is a workbook"):
        load_params(tiny)


# --- delimiters, header rows, repeated names, empty files ---------------------------------


def test_semicolon_and_tab_separated_exports_are_sniffed(tiny: Path) -> None:
    expected = ingest(load_params(tiny), key=None).tickets
    for sep in (";", "\t", "|"):
        _csv_bytes(tiny, TICKETS_CSV.replace(",", sep).encode())
        pd.testing.assert_frame_equal(ingest(load_params(tiny), key=None).tickets, expected)


def test_a_named_delimiter_wins_over_sniffing(tiny: Path) -> None:
    # Commas inside the caller field would fool a sniffer on so few lines.
    text = TICKETS_CSV.replace(",", ";").replace("Ann Lee", "Lee, Ann")
    _csv_bytes(tiny, text.encode())
    t = ingest(load_params(_option(tiny, "delimiter: semicolon")), key=None).tickets
    assert t.loc[0, "caller"] == "Lee, Ann"


def test_a_title_row_above_the_header_is_found_and_header_row_suggested(tiny: Path) -> None:
    _csv_bytes(tiny, ("Incident export, Q3 2026\n\n" + TICKETS_CSV).encode())
    with pytest.raises(DataError) as err:
        ingest(load_params(tiny))
    assert "The column names are on line 3, below a title: set `header_row: 3`" in str(err.value)
    result = ingest(load_params(_option(tiny, "header_row: 3")))
    assert list(result.tickets["source_row"]) == [4, 5, 6, 7]


def test_repeated_column_names_are_refused_with_their_positions(tiny: Path) -> None:
    header, *body = TICKETS_CSV.splitlines()
    text = "\n".join([header + ",prio", *(line + ",9" for line in body)]) + "\n"
    _csv_bytes(tiny, text.encode())
    with pytest.raises(DataError, match=r"tickets\.csv repeats column name\(s\) the params "
                                        r"read: 'prio' in columns 7, 12\. .*rename or remove"):
        ingest(load_params(tiny))


def test_a_header_only_export_says_it_has_no_data_rows(tiny: Path) -> None:
    _csv_bytes(tiny, TICKETS_CSV.splitlines()[0].encode() + b"\n")
    with pytest.raises(DataError, match=r"tickets\.csv has column names but no data rows "
                                        r"\(header on line 1\): export it again"):
        ingest(load_params(tiny))


def test_an_empty_file_says_so(tiny: Path) -> None:
    _csv_bytes(tiny, b"")
    with pytest.raises(DataError, match=r"tickets\.csv has no column names on line 1 \(the "
                                        r"file is empty\)"):
        ingest(load_params(tiny))


# --- workbooks ---------------------------------------------------------------------------


def test_a_workbook_reads_like_the_csv(tiny: Path) -> None:
    expected = ingest(load_params(tiny), key=b"k").tickets
    _xlsx(tiny, ROWS)
    pd.testing.assert_frame_equal(ingest(load_params(tiny), key=b"k").tickets, expected)


def test_a_wrong_sheet_name_lists_the_sheets(tiny: Path) -> None:
    _xlsx(tiny, ROWS, sheet="Incidents")
    _edit(tiny, "path: tickets.xlsx", "path: tickets.xlsx\n    sheet: Tickets")
    with pytest.raises(DataError, match=r"tickets\.xlsx has no sheet 'Tickets': its sheets are "
                                        r"'Incidents'\. Fix `sheet:`"):
        ingest(load_params(tiny))


def test_a_title_row_in_a_workbook_suggests_header_row(tiny: Path) -> None:
    _xlsx(tiny, [["Incidents, third quarter"], [], *ROWS], merge="A1:K1")
    with pytest.raises(DataError, match=r"The column names are on row 3, below a title: set "
                                        r"`header_row: 3`"):
        ingest(load_params(tiny))
    _edit(tiny, "path: tickets.xlsx", "path: tickets.xlsx\n    header_row: 3")
    result = ingest(load_params(tiny))  # the merged title cell hides no data
    assert list(result.tickets["source_row"]) == [4, 5, 6, 7]


def test_merged_cells_over_data_are_reported_as_merged(tiny: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][7] = ""  # T2's group sits under T1's merged cell H2:H3
    _xlsx(tiny, rows, merge="H2:H3")
    with pytest.raises(DataError, match=r"tickets\.xlsx has merged cells over data rows: "
                                        r"H2:H3 \(column 'group'\)\. .*Unmerge the cells and "
                                        r"fill the value down"):
        ingest(load_params(tiny))


@pytest.mark.parametrize(("content", "says"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
     "is password-protected (encrypted) or an old .xls workbook"),
    (TICKETS_CSV.encode(), "is not an Excel workbook (it starts with 'id,type,')"),
])
def test_unreadable_workbooks_say_why(tiny: Path, content: bytes, says: str) -> None:
    _xlsx(tiny, ROWS)
    (tiny.parent / "tickets.xlsx").write_bytes(content)
    with pytest.raises(DataError) as err:
        ingest(load_params(tiny))
    assert f"cannot read {tiny.parent / 'tickets.xlsx'}: it {says}" in str(err.value)


def test_a_truncated_workbook_says_to_copy_it_again(tiny: Path) -> None:
    _xlsx(tiny, ROWS)
    path = tiny.parent / "tickets.xlsx"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(DataError, match=r"tickets\.xlsx: it is damaged or truncated .*export "
                                        r"or copy the file again"):
        ingest(load_params(tiny))


def test_typed_cells_read_as_pandas_calamine_reads_them(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["T1", "T2"],
                          "opened": [dt.datetime(2026, 7, 1, 9, 0),
                                     dt.datetime(2026, 7, 2, 9, 30, 15)],
                          "n": [1, 2.5], "flag": [True, False], "prio": ["1 - Critical", ""]})
    path = tmp_path / "typed.xlsx"
    frame.to_excel(path, index=False)
    ours = read_file(ExportFile(path=path))
    theirs = pd.read_excel(path, dtype=str, na_filter=False, engine=XLSX_ENGINE)
    pd.testing.assert_frame_equal(ours.drop(columns="source_row"), theirs, check_dtype=False)
    assert list(ours["source_row"]) == [2, 3]
