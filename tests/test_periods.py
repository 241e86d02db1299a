from __future__ import annotations

import pandas as pd
import pytest

from csi_lib.errors import ParamsError
from csi_lib.periods import months_of, parse_quarter, quarter_label, recent_quarters


def test_calendar_quarter() -> None:
    q = parse_quarter("2026Q3")
    assert q.start_time == pd.Timestamp("2026-07-01")
    assert [str(m) for m in months_of(q)] == ["2026-07", "2026-08", "2026-09"]
    assert quarter_label(q) == "2026Q3"


def test_fiscal_year_starting_in_april_is_named_by_its_end_year() -> None:
    q = parse_quarter("2026Q1", fiscal_year_start_month=4)
    assert q.start_time == pd.Timestamp("2025-04-01")
    assert quarter_label(q - 1) == "2025Q4"
    assert [quarter_label(p) for p in recent_quarters(q, 3)] == ["2025Q3", "2025Q4", "2026Q1"]


@pytest.mark.parametrize("bad", ["2026Q5", "2026-Q3", "26Q3", "", "Q3 2026"])
def test_bad_labels(bad: str) -> None:
    with pytest.raises(ParamsError, match="YYYYQn"):
        parse_quarter(bad)
