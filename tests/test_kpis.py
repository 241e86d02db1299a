from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TICKETS_CSV, write_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csi_lib import catalogue
from csi_lib.ingest import _empty_changes, _empty_surveys, ingest
from csi_lib.kpis import KPI_COLUMNS, kpi_table
from csi_lib.params import load_params


def _table(tiny: Path, csv: str = TICKETS_CSV) -> pd.DataFrame:
    write_yaml(tiny.parent / "tickets.csv", csv)
    params = load_params(tiny)
    t = ingest(params).tickets
    return kpi_table(t, _empty_changes(), _empty_surveys(), params, params.period())


def _q(table: pd.DataFrame, service: str, kpi: str, period: str = "2026Q3") -> tuple[float, int]:
    row = table.loc[(table["service"] == service) & (table["kpi"] == kpi)
                    & (table["period"] == period)]
    assert len(row) == 1
    return float(row["value"].iloc[0]), int(row["n"].iloc[0])


def test_table_shape_covers_every_service_period_and_kpi(tiny: Path) -> None:
    table = _table(tiny)
    assert list(table.columns) == KPI_COLUMNS
    quarters = table.loc[table["freq"] == "Q", "period"].unique().tolist()
    months = table.loc[table["freq"] == "M", "period"].unique().tolist()
    assert quarters == ["2026Q2", "2026Q3"]  # history_quarters: 1
    assert months == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    assert len(table) == 2 * (2 + 6) * len(catalogue.ids())


def test_hand_computed_quarter_values(tiny: Path) -> None:
    t = _table(tiny)
    # net: T1 P1 2 h (met, responded in 10 min), T2 P2 48 h (missed, responded in 90 min)
    assert _q(t, "net", "volume") == (2, 2)
    assert _q(t, "net", "sla_resolution") == (0.5, 2)
    assert _q(t, "net", "sla_response") == (0.5, 2)
    assert _q(t, "net", "resolution_median_h") == (25.0, 2)
    assert _q(t, "net", "resolution_mean_h") == (25.0, 2)
    assert _q(t, "net", "resolution_p90_h")[0] == pytest.approx(2 + 0.9 * 46)
    assert _q(t, "net", "reassignment_rate") == (0.5, 2)
    assert _q(t, "net", "fcr") == (0.5, 2)
    assert _q(t, "net", "backlog") == (0, 0)
    # mail: T3 resolved in 3 h and reopened, no response recorded; T4 still open,
    # responded in 5 min
    assert _q(t, "mail", "reopen_rate") == (1.0, 1)
    assert _q(t, "mail", "fcr") == (0.0, 1)
    assert _q(t, "mail", "backlog") == (1, 1)
    assert _q(t, "mail", "sla_response") == (1.0, 1)


def test_monthly_backlog_and_empty_periods(tiny: Path) -> None:
    t = _table(tiny)
    assert _q(t, "mail", "backlog", "2026-08") == (0, 0)
    assert _q(t, "mail", "backlog", "2026-09") == (1, 1)
    value, n = _q(t, "net", "volume", "2026-05")
    assert np.isnan(value) and n == 0


def test_as_of_rule_ignores_what_happened_after_the_quarter(tiny: Path) -> None:
    later = (TICKETS_CSV
             + "T9,Incident,2026-10-02 09:00,,2026-10-02 10:00,Closed,1,Net,0,0,Late Opened\n"
             ).replace("2026-07-04 09:00,Closed", "2026-10-04 09:00,Closed")
    t = _table(tiny, later)
    assert _q(t, "net", "volume") == (2, 2)          # T9 opened after the quarter
    assert _q(t, "net", "sla_resolution") == (1.0, 1)  # T2 resolved after it: still open
    assert _q(t, "net", "backlog") == (1, 1)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16))
def test_row_order_does_not_change_any_kpi(tiny: Path, seed: int) -> None:
    params = load_params(tiny)
    t = ingest(params).tickets
    shuffled = t.sample(frac=1, random_state=seed).reset_index(drop=True)
    a = kpi_table(t, _empty_changes(), _empty_surveys(), params, params.period())
    b = kpi_table(shuffled, _empty_changes(), _empty_surveys(), params, params.period())
    pd.testing.assert_frame_equal(a, b)


def test_inputs_are_not_mutated(tiny: Path) -> None:
    params = load_params(tiny)
    t = ingest(params).tickets
    before = t.copy()
    kpi_table(t, _empty_changes(), _empty_surveys(), params, params.period())
    pd.testing.assert_frame_equal(t, before)


def test_sla_on_business_hours_stops_the_clock_outside_them(tiny: Path) -> None:
    calendar = ("sla:\n  calendar:\n    timezone: UTC\n    hours: {mon: 08:00-18:00, "
                "tue: 08:00-18:00, wed: 08:00-18:00, thu: 08:00-18:00, fri: 08:00-18:00}\n")
    write_yaml(tiny, tiny.read_text().replace("sla:\n", calendar))
    t = _table(tiny)
    # T2: Thu 09:00 -> Sat 09:00 is 48 h of wall time but 19 business hours,
    # within its 1-day P2 target; its wall-clock resolution time is unchanged.
    assert _q(t, "net", "sla_resolution") == (1.0, 2)
    assert _q(t, "net", "resolution_median_h") == (25.0, 2)


def test_a_bad_calendar_names_its_own_problem(tiny: Path) -> None:
    from csi_lib.errors import ParamsError

    write_yaml(tiny, tiny.read_text().replace(
        "sla:\n", "sla:\n  calendar: {timezone: UTC, hours: {mon: 18:00-08:00}}\n"))
    with pytest.raises(ParamsError, match="sla.calendar") as err:
        load_params(tiny)
    assert "Input should be '24x7'" not in str(err.value)
