"""The fast paths of ingest give what the plain pandas steps give, on awkward cells."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from csi_lib.errors import DataError
from csi_lib.ingest.adapter import clean
from csi_lib.ingest.arrow import isin_column, may_need_trim
from csi_lib.ingest.distinct import per_value
from csi_lib.ingest.reader import read_file
from csi_lib.ingest.reader_xlsx import forget_text_sheet, text_sheet
from csi_lib.ingest.times import _localise, _read, automatic_formats, parse_times
from csi_lib.params.sources import ExportFile

CELLS = [
    "2026-07-01T09:00:00", "2026-07-01 09:00:00", "2026-07-01 09:00", "2026-07-01",
    "2026-02-28T23:59:59", "2026-02-29T00:00:00", "2024-02-29T00:00:00", "2026-04-31T00:00:00",
    "2026-13-01T00:00:00", "2026-07-01T24:00:00", "2026-07-01T09:60:00", "2026-07-01T09:00:60",
    "1969-12-31T23:59:59", "2300-01-01T00:00:00", "0001-01-01T00:00:00", "2026-7-1T9:00:00",
    "2026-07-01T09:00:00.5", "2026-07-01T09:00:00.123456789", "2026-07-01T09:00:00Z",
    "2026-07-01T09:00:00+01", "2026-07-01T09:00:00+01:00", " 2026-07-01T09:00:00",
    "2026-07-01  09:00:00", "01/07/2026 09:00:00", "1/7/2026 9:00", "31/12/2026 23:59",
    "12/31/2026 23:59:00", "2026/10/09 14:50:17.000", "12/Mar/24 10:15 AM", "not a date", "",
    None, "2026-03-29T01:30:00", "2026-10-25T01:30:00",
]
FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
           "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f",
           "ISO8601"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_fast_date_reading_matches_pandas(fmt: str, dtype: object) -> None:
    text = pd.Series(CELLS * 3, dtype=dtype, index=range(5, 5 + 3 * len(CELLS)))
    slow = _read(text, fmt, utc=False, fast=False)
    fast = _read(text, fmt, utc=False)
    pd.testing.assert_series_equal(fast, slow)
    plain = text[text.isin(["2026-07-01T09:00:00", "2026-07-01 09:00:00", "01/07/2026 09:00:00"])]
    pd.testing.assert_series_equal(_read(plain, fmt, utc=False),
                                   _read(plain, fmt, utc=False, fast=False))


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "Australia/Lord_Howe"])
@pytest.mark.parametrize("formats", [(), ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")])
def test_parse_times_is_the_same_with_and_without_the_fast_path(
        monkeypatch: pytest.MonkeyPatch, tz: str, formats: tuple[str, ...]) -> None:
    cells = [c for c in CELLS if c is None or "/" not in c]  # no slash dates: order is moot
    text = pd.Series(cells * 2, dtype="string")
    fast = parse_times(text, formats, tz, dayfirst=True)
    monkeypatch.setattr("csi_lib.ingest.times._read_plain", lambda text, fmt: None)
    slow = parse_times(text, formats, tz, dayfirst=True)
    for field in ("parsed", "bad", "implausible", "gap"):
        pd.testing.assert_series_equal(getattr(fast, field), getattr(slow, field))
    assert automatic_formats(True)[0] == "ISO8601"


STEPS = {
    "to_numeric": lambda v: pd.to_numeric(v, errors="coerce"),
    "replace": lambda v: v.replace({"a": "b", "b": "c", " 1": "one"}),
    "lower": lambda v: v.str.lower(),
}


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("cells", [
    ["1", "2", "2", "1"] * 5,
    ["1", "2.5", None, "x", "1", " 1", "1e3", "-0", ""] * 3,
    ["a", "b", "B", None, "a", "b"] * 4,
    [None] * 6,
    [],
])
@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_per_value_gives_the_step_on_the_whole_column(step: str, cells: list[object],
                                                      dtype: object) -> None:
    values = pd.Series(cells, dtype=dtype, index=[i * 2 for i in range(len(cells))], name="c")
    pd.testing.assert_series_equal(per_value(values, STEPS[step]), STEPS[step](values))


@pytest.mark.parametrize(("cells", "among"), [
    (["a", "b", None, "c"], ["b", None, "c", "c"]), (["a", "b", None, "c"], ["b", "c"]),
    (["a", None], []), ([], ["a"]), (["x", None], [None]), ([None], ["x"]),
])
@pytest.mark.parametrize("dtype", ["string", "str", object])
@pytest.mark.parametrize("among_dtype", ["string", "str", object])
def test_isin_column_is_pandas_isin(cells: list[object], among: list[object], dtype: object,
                                    among_dtype: object) -> None:
    values, candidates = pd.Series(cells, dtype=dtype), pd.Series(among, dtype=among_dtype)
    assert isin_column(values, candidates).tolist() == values.isin(candidates).tolist()


@pytest.mark.parametrize("placeholders", [(), ("?",), ("?", "#N/B", "")])
def test_cleaning_arrow_text_matches_cleaning_python_text(placeholders: tuple[str, ...]) -> None:
    cells = [" a ", "a", "", "  ", "?", " ? ", "#N/B", "\u00a0b\u3000", "\tc\n", "é ", "??",
             "\x1cd\x1f", "\x85e\u2028", "f\x7f", "ü", "\u200bg"]
    frames = {}
    for dtype in ("str", object):
        raw = pd.DataFrame({"col": pd.Series(cells * 2, dtype=dtype)}).assign(
            source_row=range(2, 2 + 2 * len(cells)))
        frames[dtype] = clean(raw, {"canon": "col"}, placeholders, "tickets", Path("x.csv"))
    pd.testing.assert_frame_equal(frames["str"][0], frames[object][0])
    assert frames["str"][1] == frames[object][1]


@pytest.mark.parametrize("cells", [["a", "b c"], ["a", " b"], ["a", "b "], ["é"], ["a\tb", ""],
                                   [None, "x"], [], ["", ""], ["\x1fz"], ["z\u3000"]])
@pytest.mark.parametrize("cut", [0, 1])
def test_may_need_trim_is_true_whenever_trimming_changes_a_cell(cells: list[object],
                                                                cut: int) -> None:
    arr = pa.chunked_array([pa.array(["  pad  ", *cells], pa.large_string()).slice(1 - cut + 1)
                            if cut else pa.array(cells, pa.large_string())],
                           pa.large_string())
    changes = pc.any(pc.not_equal(pc.utf8_trim_whitespace(arr), arr)).as_py() or False
    assert may_need_trim(arr) or not changes
    assert may_need_trim(arr) == any(c and (c[0].isspace() or c[-1].isspace()
                                            or not c[0].isascii() or not c[-1].isascii()
                                            or c[0] < " " or c[-1] < " ")
                                     for c in arr.to_pylist())


# --- XLSX: text sheets read by fastexcel, everything else by calamine ---------------------

TEXT_ROWS = [
    ["Export of tickets"], [],
    ["id", "group", " note ", "", "id2", "empty"],
    ["T1", "Net", " spaced ", "x", "a", None],
    [None, None, None, None, None, None],
    ["T2", "Mail", "é ü \u3000", None, "", None],
    ["T3", None, "", None, None, None],
    ["", "", "", "", "", None],
    ["T4", "Net", "line\nbreak", None, "b", None],
]


def _book(path: Path, rows: list[list[object]], *, at: str = "A1", merge: str | None = None,
          extra_sheet: bool = False) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Data"
    col0 = ord(at[0]) - 65
    row0 = int(at[1:])
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.cell(row=row0 + i, column=col0 + j + 1, value=value)
    if merge:
        ws.merge_cells(merge)
    if extra_sheet:
        book.create_sheet("Other").append(["a", "b"])
    book.save(path)
    return path


def _both(spec: ExportFile, usecols: list[str] | None,
          monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    def read() -> object:
        try:
            return read_file(spec, usecols).astype({"source_row": "int64"}).astype(object)
        except (DataError, KeyError) as exc:  # read_file expects usecols that exist
            return repr(exc)

    fast = read()
    with monkeypatch.context() as m:
        m.setattr("csi_lib.ingest.reader.text_sheet", lambda spec: None)
        slow = read()
    return fast, slow


@pytest.mark.parametrize("at", ["A1", "C4"])
@pytest.mark.parametrize("header_row", [1, 3, 4, 6, 30])
@pytest.mark.parametrize("usecols", [None, ["id", " note "], ["id", "Unnamed: 3", "empty"]])
def test_a_text_sheet_reads_as_calamine_reads_it(tmp_path: Path, at: str, header_row: int,
                                                usecols: list[str] | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = _book(tmp_path / "t.xlsx", TEXT_ROWS, at=at)
    spec = ExportFile(path=path, header_row=header_row)
    fast, slow = _both(spec, usecols, monkeypatch)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow)
    if at == "A1" and header_row == 3 and usecols is None:
        assert text_sheet(spec) is not None  # the fast path was taken
        forget_text_sheet()


@pytest.mark.parametrize("odd", [
    [1, "Net"], [1.5, "Net"], [True, "Net"], [dt.datetime(2026, 7, 1, 9), "Net"],
    [dt.date(2026, 7, 1), "Net"], ["T9", dt.timedelta(hours=1)], ["=1+1", "Net"],
])
def test_a_sheet_with_other_cells_goes_to_calamine(tmp_path: Path, odd: list[object],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = _book(tmp_path / "t.xlsx", [["id", "group"], ["T1", "Net"], odd])
    spec = ExportFile(path=path)
    # A formula without a cached value is an empty cell to both readers.
    assert (text_sheet(spec) is None) == (odd[0] != "=1+1")
    forget_text_sheet()
    fast, slow = _both(spec, None, monkeypatch)
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("merge", ["A1:B1", "B2:B3"])
def test_merged_cells_go_to_calamine_and_its_message(tmp_path: Path, merge: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = _book(tmp_path / "t.xlsx", [["Title"], ["id", "group"], ["T1", "Net"], ["T2", "Net"]],
                 merge=merge)
    spec = ExportFile(path=path, header_row=2)
    assert text_sheet(spec) is None
    forget_text_sheet()
    fast, slow = _both(spec, None, monkeypatch)
    if isinstance(slow, str):
        assert fast == slow and "merged cells over data rows" in slow
    else:
        pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("sheet", [None, "Data", "Other", "Missing"])
def test_sheets_are_chosen_as_calamine_chooses_them(tmp_path: Path, sheet: str | None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _book(tmp_path / "t.xlsx", [["a", "b"], ["T1", "Net"]], extra_sheet=True)
    fast, slow = _both(ExportFile(path=path, sheet=sheet), None, monkeypatch)
    if isinstance(slow, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04broken", b"id,group\nT1,Net\n",
                                     b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100])
def test_unreadable_workbooks_keep_their_messages(tmp_path: Path, content: bytes,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(content)
    fast, slow = _both(ExportFile(path=path), None, monkeypatch)
    assert isinstance(fast, str) and fast == slow


def _raw_book(path: Path, rows_xml: str, shared: list[str]) -> Path:
    """A workbook written by hand, with shared strings as Excel writes them."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sst = "".join(f"<si><t xml:space=\"preserve\">{s}</t></si>" for s in shared)
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            f'"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.'
            f'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.'
            f'worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.'
            'sharedStrings+xml"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/'
                        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="S" '
                            'sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'),
        "xl/sharedStrings.xml": (f'<sst xmlns="{main}" count="{len(shared)}" '
                                 f'uniqueCount="{len(shared)}">{sst}</sst>'),
        "xl/worksheets/sheet1.xml": (f'<worksheet xmlns="{main}"><sheetData>{rows_xml}'
                                     '</sheetData></worksheet>'),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize(("cell", "fast"), [
    ('<c r="B3" t="s"><v>3</v></c>', True),
    ('<c r="B3" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>', True),
    ('<c r="B3" t="str"><f>A1</f><v>formula text</v></c>', True),
    ('<c r="B3" t="e"><v>#N/A</v></c>', False),
    ('<c r="B3" t="d"><v>2026-07-01T09:00:00</v></c>', False),
    ('<c r="B3"><v>2</v></c>', False),
    ('<c r="B3" t="b"><v>1</v></c>', False),
])
def test_hand_written_cells_read_as_calamine_reads_them(tmp_path: Path, cell: str, fast: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
            '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>4</v></c></row>'
            f'<row r="3"><c r="A3" t="s"><v>2</v></c>{cell}</row>')
    path = _raw_book(tmp_path / "t.xlsx", rows, ["id", "group", "T1", " &amp; spaced ", "Net"])
    spec = ExportFile(path=path)
    assert (text_sheet(spec) is not None) == fast
    forget_text_sheet()
    got, expected = _both(spec, None, monkeypatch)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("unit", ["us", "ns"])
def test_utc_wall_times_are_read_as_any_zone_without_clock_changes(unit: str) -> None:
    naive = pd.Series(pd.to_datetime([
        "2026-07-01 09:00:00", None, "1969-12-31 23:59:59.999999", "1970-01-01",
        "1900-01-01", "2199-12-31 23:59:59", "2250-06-01", "2026-03-29 01:30:00.123456",
    ], format="ISO8601").as_unit(unit), index=range(3, 11))
    fast, fast_gap = _localise(naive, "UTC")
    slow, slow_gap = _localise(naive, "Etc/UTC")  # the general path: no shortcut for this name
    pd.testing.assert_series_equal(fast, slow)
    pd.testing.assert_series_equal(fast_gap, slow_gap)
