from __future__ import annotations

import io
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import PARAMS_YAML, TICKETS_CSV, write_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csi_lib import catalogue
from csi_lib.ingest import _empty_changes, _empty_surveys, ingest
from csi_lib.kpis import AGING_COLUMNS, KPI_COLUMNS, backlog_aging, kpi_table, stats
from csi_lib.kpis.grid import table_grids
from csi_lib.kpis.measures import group_tier, grouped_in_time
from csi_lib.kpis.stats import wilson
from csi_lib.params import Params, load_params


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
    assert list(table.columns) == [*KPI_COLUMNS, "ci_low", "ci_high"]
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
    assert np.isnan(value)
    assert n == 0


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
    with pytest.raises(ParamsError, match=r"sla\.calendar") as err:
        load_params(tiny)
    assert "Input should be '24x7'" not in str(err.value)


# ---------------------------------------------------------------- the full catalogue
# A canonical tickets table built inline (no ingest), with every optional input.
# net, 2026Q3: N2 repeats N1 (same caller and category, 2 days later), N7 repeats
# N6; N1 does not repeat N8 (11 days); N2, N3 and N7 breach their target; N5, N6
# and N9 are open at the quarter's end, N5 and N9 for more than 30 days. mail: M1
# and M2 are twins opened at the same instant; mail has no tiered group.
TICKETS = """\
ticket_id,record_type,service,priority,opened_at,responded_at,resolved_at,category,cmdb_ci,\
channel,assignment_group,reassignment_count,reopen_count,caller,knowledge
N1,incident,net,P1,2026-07-01 09:00,2026-07-01 09:10,2026-07-01 11:00,VPN,fw1,Self-service,\
Net,0,0,ann,true
N2,incident,net,P1,2026-07-03 09:00,2026-07-03 09:30,2026-07-03 19:00,VPN,fw2,Phone,Net L2,1,0,\
ann,KB0001
N3,incident,net,P2,2026-07-20 09:00,2026-07-20 12:00,2026-07-23 09:00,Wifi,fw1,portal,Net L2,2,1,\
ann,false
N4,request,net,P3,2026-08-01 10:00,,2026-08-02 10:00,VPN,fw1,Web,Net,0,0,bob,
N5,incident,net,P3,2026-08-05 10:00,2026-08-05 10:30,,Wifi,ap9,Email,Net,0,0,cy,
N6,incident,net,P3,2026-09-28 10:00,2026-09-28 11:00,,Wifi,ap9,,Net L3,0,0,cy,
N7,incident,net,P2,2026-09-29 08:00,2026-09-29 08:30,2026-09-30 20:00,Wifi,ap9,Chat,Net,0,0,cy,
N8,incident,net,P1,2026-06-20 09:00,2026-06-20 09:05,2026-06-20 12:00,VPN,fw1,Self-service,Net,0,0,\
ann,
N9,incident,net,P3,2026-05-01 09:00,2026-05-01 10:00,,DB,db1,Phone,Net,0,0,dan,
M1,incident,mail,P2,2026-07-10 09:00,2026-07-10 09:20,2026-07-10 12:00,Mail,mx1,Phone,Mail,0,0,\
eve,
M2,incident,mail,P2,2026-07-10 09:00,2026-07-10 09:40,2026-07-11 12:00,Mail,mx1,Phone,Mail,0,0,\
eve,
"""
CHANGES = """\
change_id,service,change_type,actual_end,outcome,caused_incident
C1,net,normal,2026-07-05 10:00,successful,false
C2,net,emergency,2026-08-05 10:00,failed,true
C3,net,emergency,2026-09-05 10:00,successful,
C4,net,standard,2026-09-10 10:00,backed_out,false
C5,net,normal,2026-06-10 10:00,successful,false
C6,net,normal,2026-10-10 10:00,successful,true
"""
SURVEYS = """\
ticket_id,service,answered_at,score
N1,net,2026-07-02 10:00,5
N2,net,2026-07-04 10:00,4
N3,net,2026-07-24 10:00,2
N4,net,2026-08-03 10:00,3
M1,mail,2026-07-11 10:00,1
"""
TIMES = ("opened_at", "responded_at", "resolved_at", "actual_end", "answered_at")
START, END = pd.Timestamp("2026-07-01", tz="UTC"), pd.Timestamp("2026-10-01", tz="UTC")


def _frame(text: str) -> pd.DataFrame:
    """A canonical table from inline CSV: text as strings, times as UTC, counts as int."""
    frame = pd.read_csv(io.StringIO(text), dtype="string")
    cols = {c: pd.to_datetime(frame[c], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
            for c in TIMES if c in frame}
    cols |= {c: frame[c].astype("int64") for c in
             ("reassignment_count", "reopen_count", "score") if c in frame}
    if "caused_incident" in frame:
        cols["caused_incident"] = frame["caused_incident"].map(
            {"true": True, "false": False}).astype("boolean")
    return frame.assign(**cols)


def _params(**changes: object) -> Params:
    data = yaml.safe_load(PARAMS_YAML)
    data.update(changes)
    return Params.model_validate(data)


def _full(tickets: pd.DataFrame | None = None, changes: pd.DataFrame | None = None,
          surveys: pd.DataFrame | None = None, period: str = "2026Q3",
          params: Params | None = None) -> pd.DataFrame:
    params = params or _params()
    return kpi_table(_frame(TICKETS) if tickets is None else tickets,
                     _frame(CHANGES) if changes is None else changes,
                     _frame(SURVEYS) if surveys is None else surveys,
                     params, params.period(period))


def _row(table: pd.DataFrame, service: str, kpi: str, period: str = "2026Q3") -> pd.Series:
    row = table.loc[(table["service"] == service) & (table["kpi"] == kpi)
                    & (table["period"] == period)]
    assert len(row) == 1
    return row.iloc[0]


def _in(frame: pd.DataFrame, column: str, service: str = "net") -> pd.DataFrame:
    """Rows of ``service`` whose ``column`` falls in 2026Q3 (as known at its end)."""
    return frame.loc[(frame["service"] == service) & (frame[column] >= START)
                     & (frame[column] < END)]


def _assert_kpi(table: pd.DataFrame, kpi: str, value: float, n: int,
                service: str = "net") -> None:
    row = _row(table, service, kpi)
    assert row["n"] == n, kpi
    if np.isnan(value):
        assert np.isnan(row["value"]), kpi
    else:
        assert row["value"] == pytest.approx(value, rel=1e-12), kpi


def test_every_catalogue_kpi_is_computed_with_an_interval_where_it_has_one() -> None:
    table = _full()
    assert set(table["kpi"]) == set(catalogue.ids())
    quarter = table.loc[(table["period"] == "2026Q3") & (table["n"] > 0)]
    has_ci = quarter["ci_low"].notna() & quarter["ci_high"].notna()
    kinds = quarter["kpi"].map(lambda k: catalogue.get(k).interval)
    assert has_ci[kinds != "none"].all()
    assert not has_ci[kinds == "none"].any()
    assert {"sla_resolution", "resolution_median_h", "breach_overrun_p90_h",
            "change_incident_rate"} <= set(quarter.loc[has_ci, "kpi"])


def test_time_to_respond_median_and_p90() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    hours = (_in(t, "responded_at")["responded_at"] - _in(t, "responded_at")["opened_at"]) \
        / pd.Timedelta(hours=1)
    assert len(hours) == 6
    assert hours.median() == 0.5
    _assert_kpi(table, "response_median_h", hours.median(), 6)
    _assert_kpi(table, "response_p90_h", hours.quantile(0.9), 6)


def test_breach_overrun_is_how_late_breaches_were_on_the_sla_clock() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    done = _in(t, "resolved_at")
    target_h = done["priority"].map({"P1": 4, "P2": 24, "P3": 72})
    over = (done["resolved_at"] - done["opened_at"]) / pd.Timedelta(hours=1) - target_h
    late = over[over > 0]
    assert sorted(late) == [6.0, 12.0, 48.0]            # N2, N7, N3
    _assert_kpi(table, "breach_overrun_p50_h", late.median(), 3)
    _assert_kpi(table, "breach_overrun_p90_h", late.quantile(0.9), 3)
    # n = breaches: the resolution SLA's misses
    sla = _row(table, "net", "sla_resolution")
    assert round((1 - sla["value"]) * sla["n"]) == 3


def test_breach_overrun_runs_on_the_business_calendar() -> None:
    calendar = {"timezone": "UTC", "hours": dict.fromkeys(
        ["mon", "tue", "wed", "thu", "fri"], "08:00-18:00")}
    params = _params(sla={**yaml.safe_load(PARAMS_YAML)["sla"], "calendar": calendar})
    table = _full(params=params)
    # N2 (Fri 09:00-19:00): 9 business hours, 5 over its 4 h target; N3 (Mon 09:00 ->
    # Thu 09:00): 30 business hours, 6 over 24 h; N7 (Tue 08:00 -> Wed 20:00) 20 h: met.
    _assert_kpi(table, "breach_overrun_p50_h", 5.5, 2)
    _assert_kpi(table, "breach_overrun_p90_h", 5.9, 2)


def test_backlog_age_share_and_aging_buckets() -> None:
    t = _frame(TICKETS)
    params = _params()
    table = _full(t)
    open_ = t.loc[(t["service"] == "net") & (t["opened_at"] < END)
                  & ~(t["resolved_at"] < END)]
    age = (END - open_["opened_at"]) / pd.Timedelta(days=1)
    assert sorted(open_["ticket_id"]) == ["N5", "N6", "N9"]
    _assert_kpi(table, "backlog", len(open_), 3)
    _assert_kpi(table, "backlog_age_gt_30d", (age > 30).mean(), 3)

    aging = backlog_aging(t, params, params.period())
    assert list(aging.columns) == AGING_COLUMNS
    got = aging.loc[(aging["service"] == "net") & (aging["period"] == "2026Q3")]
    expected = pd.cut(age, [0, 1, 7, 30, np.inf]).value_counts(sort=False)
    assert got["bucket"].tolist() == [label for label, _ in catalogue.AGE_BUCKETS]
    assert got["n"].tolist() == expected.tolist() == [0, 1, 0, 2]
    assert got["share"].tolist() == pytest.approx((expected / len(age)).tolist())
    # every period end: the buckets add up to the backlog KPI
    backlog = table.loc[table["kpi"] == "backlog"].set_index(["service", "freq", "period"])["n"]
    sums = aging.groupby(["service", "freq", "period"])["n"].sum()
    pd.testing.assert_series_equal(sums.sort_index(), backlog.sort_index(), check_names=False)


def test_aging_bucket_edges_are_closed_above() -> None:
    t = _frame(TICKETS.splitlines()[0] + "\n"
               "X1,incident,net,P3,2026-09-30 00:00,,,,,,Net,0,0,,\n"       # exactly 1 day
               "X2,incident,net,P3,2026-08-31 23:00,,,,,,Net,0,0,,\n")      # 30 d 1 h
    params = _params()
    aging = backlog_aging(t, params, params.period())
    got = aging.loc[(aging["service"] == "net") & (aging["period"] == "2026-09"), "n"]
    assert got.tolist() == [1, 0, 0, 1]


def test_created_vs_resolved_ratio() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    opened, resolved = len(_in(t, "opened_at")), len(_in(t, "resolved_at"))
    assert (opened, resolved) == (7, 5)
    _assert_kpi(table, "resolved_per_opened", resolved / opened, opened)
    assert np.isnan(_row(table, "net", "resolved_per_opened")["ci_low"])


def _repeat_flags(t: pd.DataFrame) -> pd.Series:
    """Repeats by a plain self-join: same caller and category or CI, 0-7 days before."""
    inc = t.loc[(t["record_type"] == "incident") & t["caller"].notna()
                & (t["category"].notna() | t["cmdb_ci"].notna())]
    pairs = inc.merge(inc, on="caller", suffixes=("", "_prev"))
    gap = pairs["opened_at"] - pairs["opened_at_prev"]
    same = (pairs["category"] == pairs["category_prev"]).fillna(False) \
        | (pairs["cmdb_ci"] == pairs["cmdb_ci_prev"]).fillna(False)
    hit = (pairs["ticket_id"] != pairs["ticket_id_prev"]) & same \
        & (gap >= pd.Timedelta(0)) & (gap <= pd.Timedelta(days=7))
    return hit.groupby(pairs["ticket_id"]).any().reindex(inc["ticket_id"])


def test_repeat_incidents_match_a_plain_self_join() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    flags = _repeat_flags(t)
    assert sorted(flags[flags].index) == ["M1", "M2", "N2", "N7"]
    for service in ("net", "mail"):
        opened = _in(t, "opened_at", service)
        mine = flags.reindex(opened["ticket_id"]).dropna()
        _assert_kpi(table, "repeat_incident_rate", mine.mean(), len(mine), service)
    assert _row(table, "net", "repeat_incident_rate")["n"] == 6   # N4 is a request


def test_repeat_window_is_inclusive_and_needs_caller_and_category_or_ci() -> None:
    t = _frame(TICKETS.splitlines()[0] + "\n"
               "A1,incident,net,P3,2026-07-01 09:00,,,VPN,,,Net,0,0,ann,\n"
               "A2,incident,net,P3,2026-07-08 09:00,,,VPN,,,Net,0,0,ann,\n"    # 7 days: repeat
               "A3,incident,net,P3,2026-07-15 09:00:01,,,VPN,,,Net,0,0,ann,\n"  # 7 d 1 s: no
               "A4,incident,net,P3,2026-07-15 10:00,,,,,,Net,0,0,ann,\n"        # no category/CI
               "A5,incident,net,P3,2026-07-15 11:00,,,VPN,,,Net,0,0,,\n")       # no caller
    table = _full(t)
    _assert_kpi(table, "repeat_incident_rate", 1 / 3, 3)
    flags = _repeat_flags(t)
    assert flags.to_dict() == {"A1": False, "A2": True, "A3": False}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), wide=st.booleans())
def test_rows_grouped_in_time_follow_a_lexsort(seed: int, n: int, wide: bool) -> None:
    # Packed keys (and, for keys too wide to pack, the lexsort fallback) give the
    # order of a lexsort by key, then time, then row; times tie on purpose.
    rng = np.random.default_rng(seed)
    time = rng.integers(0, 5, n)
    rows = np.flatnonzero(rng.random(n) < 0.7)
    key = rng.integers(0, 4, len(rows)) + (2**61 if wide else 0)
    by_time = np.argsort(time, kind="stable")
    rank = np.empty_like(by_time)
    rank[by_time] = np.arange(n)
    k, where = grouped_in_time(key, rows, rank, by_time)
    order = np.lexsort((rows, time[rows], key))
    assert (k == key[order]).all()
    assert (where == rows[order]).all()
    # Rows already in time order need no ranks.
    k, where = grouped_in_time(key, rows, None, None)
    order = np.lexsort((rows, key))
    assert (k == key[order]).all()
    assert (where == rows[order]).all()


@pytest.mark.parametrize(("tz", "fiscal"), [("UTC", 1), ("Europe/London", 4),
                                             ("Australia/Lord_Howe", 7)])
def test_quarter_cells_looked_up_from_month_cells_equal_a_search(tz: str, fiscal: int) -> None:
    params = _params(reporting={"period": "2026Q3", "timezone": tz, "history_quarters": 3,
                                "fiscal_year_start_month": fiscal})
    months, quarters = table_grids(params, params.period())
    rng = np.random.default_rng(fiscal)
    # Instants spread over the span and beyond it, some on the boundaries themselves.
    when = np.r_[rng.integers(months.bounds[0] - 10**16, months.bounds[-1] + 10**16, 5000),
                 months.bounds, months.bounds - 1, np.iinfo(np.int64).min]
    service = rng.integers(-1, 2, len(when))
    looked_up = quarters.regroup(months.cells(service, when), months)
    assert (looked_up == quarters.cells(service, when)).all()
    # Likewise the period ends an instant has passed, which the backlog counts from.
    passed = quarters.ends_passed(months)[np.searchsorted(months.ends, when, side="right")]
    assert (passed == np.searchsorted(quarters.ends, when, side="right")).all()
    with pytest.raises(ValueError, match="finer grid"):
        months.regroup(quarters.cells(service, when), quarters)
    with pytest.raises(ValueError, match="finer grid"):
        months.ends_passed(quarters)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200))
def test_merged_month_cells_equal_quarter_cells_sorted_afresh(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    months, quarters = table_grids(_params(), _params().period())
    when = rng.integers(months.bounds[0] - 10**15, months.bounds[-1] + 10**15, n)
    service = rng.integers(-1, 2, n)
    values = np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 6, n) / 2)
    fine = stats.sort_cells(months.cells(service, when), values, months.size)
    into = quarters.regroup(np.arange(months.size), months)
    merged = stats.merge_cells(fine, into, quarters.size)
    afresh = stats.sort_cells(quarters.cells(service, when), values, quarters.size)
    for got, want in zip((merged.values, merged.start, merged.n),
                         (afresh.values, afresh.start, afresh.n), strict=True):
        assert np.array_equal(got, want)


def test_escalation_reads_tiers_from_group_names() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    done = _in(t, "resolved_at")
    tiered = done["assignment_group"].str.contains(r"L[23]$")
    assert tiered.tolist() == [False, True, True, False, False]
    _assert_kpi(table, "escalation_rate", tiered.mean(), 5)
    # mail's only group states no tier: the export does not tell, so no value
    _assert_kpi(table, "escalation_rate", np.nan, 0, "mail")


@pytest.mark.parametrize(("group", "tier"), [
    ("Network L2", 2.0), ("ERP L3", 3.0), ("Collaboration L2", 2.0), ("Service Desk L1", 1.0),
    ("L2 Network", 2.0), ("Tier 3 Apps", 3.0), ("Apps level-2", 2.0), ("2nd line Network", 2.0),
    ("Network Operations", np.nan), ("HTML2", np.nan), ("Mail2", np.nan), ("L22 Team", np.nan),
])
def test_group_tier_rule(group: str, tier: float) -> None:
    got = group_tier(pd.Series([group, None], dtype="string"))
    np.testing.assert_array_equal(got, [tier, np.nan])


def test_a_tier_column_wins_over_group_names() -> None:
    t = _frame(TICKETS).assign(tier=pd.Series(
        ["1", "1", "2", None, None, None, "3", None, None, "L2", "1"], dtype="string"))
    table = _full(t)
    # net resolved in Q3: N1 1, N2 1, N3 2, N4 - (group Net: tier 1), N7 3
    _assert_kpi(table, "escalation_rate", 2 / 5, 5)
    _assert_kpi(table, "escalation_rate", 1 / 2, 2, "mail")


def test_knowledge_use_reads_flags_and_article_references() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    done = _in(t, "resolved_at")
    used = done["knowledge"].str.lower().isin(["true", "yes", "1"]) \
        | done["knowledge"].str.startswith("KB").fillna(False)
    assert used.tolist() == [True, True, False, False, False]
    _assert_kpi(table, "knowledge_use_rate", used.mean(), 5)


def test_self_service_share_of_tickets_with_a_channel() -> None:
    t = _frame(TICKETS)
    table = _full(t)
    opened = _in(t, "opened_at")
    channel = opened["channel"].dropna().str.lower()
    assert len(channel) == 6                             # N6 records no channel
    _assert_kpi(table, "self_service_share",
                channel.isin(["self-service", "portal", "web"]).mean(), 6)


def test_change_kpis_count_completed_changes_and_recorded_outcomes() -> None:
    c = _frame(CHANGES)
    table = _full(changes=c)
    done = _in(c, "actual_end")
    assert len(done) == 4
    _assert_kpi(table, "change_success_rate", (done["outcome"] == "successful").mean(), 4)
    _assert_kpi(table, "emergency_change_share", (done["change_type"] == "emergency").mean(), 4)
    caused = done["caused_incident"].dropna()
    _assert_kpi(table, "change_incident_rate", caused.astype(bool).mean(), len(caused))
    assert len(caused) == 3


def test_csat_share_satisfied() -> None:
    s = _frame(SURVEYS)
    table = _full(surveys=s)
    for service in ("net", "mail"):
        answers = _in(s, "answered_at", service)["score"]
        _assert_kpi(table, "csat_satisfied", (answers >= 4).mean(), len(answers), service)
        _assert_kpi(table, "csat_mean", answers.mean(), len(answers), service)


def test_kpis_whose_inputs_are_not_exported_have_no_value() -> None:
    bare = _frame(TICKETS).drop(columns=["caller", "knowledge", "channel", "assignment_group"])
    changes = _frame(CHANGES).drop(columns=["change_type", "caused_incident"])
    table = _full(bare, changes)
    for kpi in ("repeat_incident_rate", "knowledge_use_rate", "self_service_share",
                "escalation_rate", "emergency_change_share", "change_incident_rate"):
        for service in ("net", "mail"):
            _assert_kpi(table, kpi, np.nan, 0, service)
    _assert_kpi(table, "change_success_rate", 0.5, 4)
    assert "where the export records" in catalogue.get("knowledge_use_rate").method


def test_an_empty_knowledge_column_records_nothing() -> None:
    t = _frame(TICKETS).assign(knowledge=pd.Series(pd.NA, index=range(11), dtype="string"))
    _assert_kpi(_full(t), "knowledge_use_rate", np.nan, 0)


def test_wilson_interval_matches_the_textbook_values() -> None:
    cells = wilson(np.array([0.0, 5.0, 10.0, 0.0]), np.array([10, 10, 10, 0]))
    z = NormalDist().inv_cdf(0.975)
    # k = 0 of 10: upper bound z^2 / (n + z^2); symmetric for k = n
    assert cells.high[0] == pytest.approx(z * z / (10 + z * z))
    assert cells.low[2] == pytest.approx(1 - z * z / (10 + z * z))
    assert (cells.low[1], cells.high[1]) == (pytest.approx(0.2366, abs=1e-4),
                                             pytest.approx(0.7634, abs=1e-4))
    assert np.isnan([cells.value[3], cells.low[3], cells.high[3]]).all()


def test_bootstrap_of_a_quantile_equals_resampling_the_tickets(monkeypatch) -> None:
    # The Beta draws must give the bootstrap distribution that resampling n values
    # with replacement gives, for medians and P90s, small and larger n.
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 20_000)
    rng = np.random.default_rng(3)
    for n, q in [(2, 0.5), (5, 0.9), (8, 0.5), (40, 0.9)]:
        x = np.sort(rng.lognormal(0, 1, n))
        low, high = stats._bootstrap(x, np.array([0]), np.array([n]), q,
                                     np.random.default_rng(4))
        reps = np.quantile(x[rng.integers(0, n, (20_000, n))], q, axis=1)
        want = np.quantile(reps, [0.025, 0.975])
        width = want[1] - want[0]
        assert abs(low[0] - want[0]) <= 0.03 * width, (n, q)
        assert abs(high[0] - want[1]) <= 0.03 * width, (n, q)


def test_draws_row_by_row_equal_one_broadcast_draw() -> None:
    # The bootstrap's streams must give the draws the seeded intervals were made with.
    n = np.array([1, 2, 7, 40, 1000])
    for q in (0.5, 0.9):
        u1, v = stats._draws(n, q, np.random.default_rng(11))
        k = (np.floor((n - 1) * q).astype(np.int64) + 1)[:, None]
        rng = np.random.default_rng(11)
        want = rng.beta(k, n[:, None] - k + 1.0, size=(len(n), catalogue.BOOTSTRAP_RESAMPLES))
        assert np.array_equal(u1, want)
        assert np.array_equal(v, rng.random((len(n), catalogue.BOOTSTRAP_RESAMPLES)))


@pytest.mark.parametrize("rows", [1, 7, 10**6])
def test_intervals_do_not_depend_on_how_cells_are_batched(monkeypatch, rows: int) -> None:
    want = _full()
    monkeypatch.setattr(stats, "_BATCH_ROWS", rows)
    pd.testing.assert_frame_equal(_full(), want)


def test_intervals_of_a_period_are_the_same_in_every_report_that_shows_it() -> None:
    q3, q4 = _full(period="2026Q3"), _full(period="2026Q4")
    keys = ["service", "freq", "period", "kpi"]
    months = ["2026-07", "2026-08", "2026-09", "2026Q3"]
    a = q3.loc[q3["period"].isin(months)].set_index(keys).sort_index()
    b = q4.loc[q4["period"].isin(months)].set_index(keys).sort_index()
    assert a["ci_low"].notna().sum() > 20
    pd.testing.assert_frame_equal(a, b)


def _random_tables(seed: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random canonical tables over 2026Q2-Q3 with every optional column, some gaps."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-15", tz="UTC").value
    opened = rng.integers(start, pd.Timestamp("2026-10-10", tz="UTC").value, n)
    hours = rng.lognormal(2, 1.5, n) * 3600e9
    resolved = np.where(rng.random(n) < 0.8, opened + hours.astype(np.int64), -2**63)

    def text(choices: list[str | None], size: int = n) -> pd.Series:
        return pd.Series(rng.choice(np.array(choices, dtype=object), size), dtype="string")

    def times(ns: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(np.where(ns == -2**63, np.datetime64("NaT"),
                                                 ns.astype("datetime64[ns]")), utc=True))

    tickets = pd.DataFrame({
        "ticket_id": pd.Series([f"T{i}" for i in range(n)], dtype="string"),
        "record_type": text(["incident", "incident", "request"]),
        "service": text(["net", "mail", "other"]),
        "priority": text(["P1", "P2", "P3"]),
        "opened_at": times(opened),
        "responded_at": times(np.where(rng.random(n) < 0.8, opened + 600_000_000_000, -2**63)),
        "resolved_at": times(resolved),
        "category": text(["VPN", "Wifi", None]),
        "cmdb_ci": text(["fw1", "ap1", None]),
        "channel": text(["Portal", "Phone", None]),
        "assignment_group": text(["Net", "Net L2", "Mail", None]),
        "reassignment_count": rng.integers(0, 3, n),
        "reopen_count": rng.integers(0, 2, n),
        "caller": text(["ann", "bob", None]),
        "knowledge": text(["true", "false", None]),
    })
    m = max(n // 3, 1)
    changes = pd.DataFrame({
        "change_id": pd.Series([f"C{i}" for i in range(m)], dtype="string"),
        "service": text(["net", "mail"], m),
        "change_type": text(["normal", "emergency", None], m),
        "actual_end": times(rng.integers(start, END.value, m)),
        "outcome": text(["successful", "failed"], m),
        "caused_incident": pd.array(rng.choice([True, False, None], m), dtype="boolean"),
    })
    surveys = pd.DataFrame({
        "ticket_id": tickets["ticket_id"].iloc[:m].reset_index(drop=True),
        "service": text(["net", "mail"], m),
        "answered_at": times(rng.integers(start, END.value, m)),
        "score": rng.integers(1, 6, m),
    })
    return tickets, changes, surveys


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_row_order_changes_no_kpi_and_no_interval(seed: int, n: int) -> None:
    t, c, s = _random_tables(seed, n)
    params = _params()
    a = kpi_table(t, c, s, params, params.period())
    shuffle = np.random.default_rng(seed + 1).permutation
    b = kpi_table(t.iloc[shuffle(len(t))], c.iloc[shuffle(len(c))], s.iloc[shuffle(len(s))],
                  params, params.period())
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_intervals_hold_their_estimate_and_shares_stay_in_range(seed: int, n: int) -> None:
    t, c, s = _random_tables(seed, n)
    params = _params()
    table = kpi_table(t, c, s, params, params.period())
    with_ci = table.loc[table["ci_low"].notna()]
    assert (with_ci["ci_low"] <= with_ci["value"]).all()
    assert (with_ci["value"] <= with_ci["ci_high"]).all()
    assert table.loc[table["n"] == 0, "value"].loc[
        lambda v: v.index.isin(table.index[table["kpi"] != "backlog"])].isna().all()
    # Survey answers of a period may outnumber its resolutions: that rate is not bounded.
    units = table["kpi"].map(lambda k: catalogue.get(k).unit)
    shares = table.loc[(units == "share") & table["value"].notna()
                       & (table["kpi"] != "csat_response_rate")]
    assert shares["value"].between(0, 1).all()
    assert shares["ci_low"].between(0, 1).all()
    assert shares["ci_high"].between(0, 1).all()
    aging = backlog_aging(t, params, params.period())
    sums = aging.groupby(["service", "freq", "period"])["n"].sum()
    backlog = table.loc[table["kpi"] == "backlog"].set_index(["service", "freq", "period"])["n"]
    assert (sums.sort_index().to_numpy() == backlog.sort_index().to_numpy()).all()


def test_no_input_is_mutated() -> None:
    t, c, s = _frame(TICKETS), _frame(CHANGES), _frame(SURVEYS)
    before = [x.copy(deep=True) for x in (t, c, s)]
    params = _params()
    _full(t, c, s)
    backlog_aging(t, params, params.period())
    for after, was in zip((t, c, s), before, strict=True):
        pd.testing.assert_frame_equal(after, was)


def test_monthly_cells_split_the_quarter() -> None:
    table = _full()
    months = ["2026-07", "2026-08", "2026-09"]
    for kpi in ("volume", "resolved_per_opened", "breach_overrun_p50_h", "self_service_share"):
        n = sum(_row(table, "net", kpi, m)["n"] for m in months)
        assert n == _row(table, "net", kpi)["n"], kpi
    september = _row(table, "net", "breach_overrun_p50_h", "2026-09")     # N7 only
    assert (september["value"], september["n"]) == (12.0, 1)
    assert september["ci_low"] == september["ci_high"] == 12.0


# --- tickets lacking a field only some KPIs need (issue 15, case 2) -------------------------

PARTIAL = """\
ticket_id,record_type,service,priority,opened_at,responded_at,resolved_at,closed_at,state,\
reassignment_count,reopen_count
A1,incident,net,P1,2026-07-01T09:00Z,,2026-07-01T10:00Z,2026-07-02T10:00Z,closed,0,0
A2,incident,net,P2,2026-07-01T09:00Z,,,2026-08-15T00:00Z,closed,1,1
A3,incident,net,P2,2026-07-01T09:00Z,,,,closed,0,0
A4,incident,net,,2026-07-02T09:00Z,,2026-07-02T11:00Z,2026-07-02T11:00Z,closed,0,0
A5,incident,net,P1,2026-07-03T09:00Z,,,2026-10-05T00:00Z,closed,0,0
"""


def test_a_ticket_lacking_a_field_leaves_only_the_kpis_that_need_it() -> None:
    t = _frame(PARTIAL).assign(closed_at=lambda f: pd.to_datetime(
        f["closed_at"], utc=True, format="ISO8601").astype("datetime64[ns, UTC]"))
    table = _full(t, _frame(CHANGES).iloc[:0], _frame(SURVEYS).iloc[:0])
    # Volume counts every ticket, whichever fields it lacks.
    _assert_kpi(table, "volume", 5, 5)
    # Resolution times and the SLA need a resolution time (A1, A4) and a priority with a
    # target (A1 only: A4 has none).
    _assert_kpi(table, "resolution_median_h", 1.5, 2)
    _assert_kpi(table, "sla_resolution", 1.0, 1)
    # Reopen and reassignment need only the end of the work: A2 ends at its closure.
    # A3 (closed, no time at all) cannot be placed in a period; A5 closes after the quarter.
    _assert_kpi(table, "reopen_rate", 1 / 3, 3)
    _assert_kpi(table, "reassignment_rate", 1 / 3, 3)
    # Backlog: A2 leaves at its closure (open at the July end, not later); A3 is finished
    # but carries no time, so it is never counted open; A5 is open at the quarter end.
    _assert_kpi(table, "backlog", 1, 1)
    july = table.loc[(table["service"] == "net") & (table["kpi"] == "backlog")
                     & (table["period"] == "2026-07")]
    assert july["n"].tolist() == [2]  # A2 and A5
