"""The fast paths of ingest give what the plain pandas steps give, on awkward cells."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from csi_lib.ingest.adapter import clean
from csi_lib.ingest.arrow import isin_column, may_need_trim
from csi_lib.ingest.distinct import per_value
from csi_lib.ingest.times import _read, automatic_formats, parse_times

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
