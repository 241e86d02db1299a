"""Data-quality checks and score: tiny tables built inline, counts checked by hand."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csi_lib import quality
from csi_lib.errors import DataError
from csi_lib.ingest import Ingested
from csi_lib.params import Params, load_params
from csi_lib.quality.checks import WEIGHTS

PARAMS = """\
client: {id: tiny, name: Tiny Ltd}
reporting: {period: 2026Q3, timezone: UTC, history_quarters: 1}
sources:
  tickets:
    path: tickets.csv
    columns: {ticket_id: id, opened_at: opened, resolved_at: resolved, priority: prio,
              assignment_group: group}
services:
  - {id: net, name: Network, match: {assignment_group: [Net]}}
  - {id: mail, name: Mail, match: {assignment_group: [Mail]}}
sla:
  targets:
    P1: {response: 15min, resolution: 4h}
    P3: {response: 4h, resolution: 3d}
"""
END = pd.Timestamp("2026-10-01", tz="UTC")   # end of 2026Q3 in UTC
NAT = pd.NaT


@pytest.fixture
def params(tmp_path: Path) -> Params:
    path = tmp_path / "tiny.yaml"
    path.write_text(PARAMS, encoding="utf-8")
    return load_params(path)


def ts(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC") if text else NAT


def tickets(rows: list[dict]) -> pd.DataFrame:
    """Canonical tickets from short dicts; times as strings, defaults for the rest."""
    base = {"record_type": "incident", "priority": "P3", "state": "Closed",
            "category": "Email", "caller": "p-1", "responded_at": None, "closed_at": None}
    full = [{**base, **r} for r in rows]
    frame = pd.DataFrame({
        "ticket_id": pd.Series([r["ticket_id"] for r in full], dtype="string"),
        "record_type": pd.Series([r["record_type"] for r in full], dtype="string"),
        "opened_at": pd.Series([ts(r["opened_at"]) for r in full], dtype="datetime64[ns, UTC]"),
        "responded_at": pd.Series([ts(r["responded_at"]) for r in full],
                                  dtype="datetime64[ns, UTC]"),
        "resolved_at": pd.Series([ts(r.get("resolved_at")) for r in full],
                                 dtype="datetime64[ns, UTC]"),
        "closed_at": pd.Series([ts(r["closed_at"]) for r in full], dtype="datetime64[ns, UTC]"),
        "state": pd.Series([r["state"] for r in full], dtype="string"),
        "priority": pd.Series([r["priority"] for r in full], dtype="string"),
        "category": pd.Series([r["category"] for r in full], dtype="string"),
        "caller": pd.Series([r["caller"] for r in full], dtype="string"),
        "service": pd.Series([r["service"] for r in full], dtype="string"),
    })
    return frame.assign(source_row=np.arange(2, len(frame) + 2, dtype="int64"))


def excluded(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """(record_id, rule) pairs of excluded ticket rows."""
    return pd.DataFrame({
        "table": pd.Series(["tickets"] * len(rows), dtype="string"),
        "source_row": pd.Series(range(100, 100 + len(rows)), dtype="int64"),
        "record_id": pd.Series([r[0] for r in rows], dtype="string"),
        "rule": pd.Series([r[1] for r in rows], dtype="string"),
    })


def ingested(t: pd.DataFrame, ex: pd.DataFrame | None = None) -> Ingested:
    empty = pd.DataFrame()
    return Ingested(tickets=t, changes=empty, surveys=empty,
                    excluded=ex if ex is not None else excluded([]), rows_read={})


def cell(table: pd.DataFrame, service: str, check: str, column: str = "rows") -> object:
    row = table.loc[(table["service"] == service) & (table["check"] == check)]
    assert len(row) == 1, f"{service}/{check}: {len(row)} rows"
    return row[column].iloc[0]


FOUR = [
    {"ticket_id": "N1", "service": "net", "opened_at": "2026-07-01 09:00",
     "responded_at": "2026-07-01 09:10", "resolved_at": "2026-07-01 11:00",
     "closed_at": "2026-07-04 11:00"},
    {"ticket_id": "N2", "service": "net", "opened_at": "2026-07-02 09:00",
     "resolved_at": "2026-07-02 12:00", "closed_at": "2026-07-05 12:00"},      # no response
    {"ticket_id": "N3", "service": "net", "opened_at": "2026-08-03 09:00", "category": None,
     "state": "In progress"},                                                 # open, no response
    {"ticket_id": "N4", "service": "net", "opened_at": "2026-09-10 09:00",
     "responded_at": "2026-09-10 09:05", "resolved_at": "2026-09-10 10:00",
     "state": "Closed"},                                                      # closed, no closure
]


def test_completeness_counts_missing_cells_where_the_column_must_exist(params: Params) -> None:
    table = quality.quality_table(ingested(tickets(FOUR)), params, "2026Q3")

    # category: 1 of 4 missing -> 25%, over SATURATION: the whole 4-point weight is lost
    assert cell(table, "net", "complete:category") == 1
    assert cell(table, "net", "complete:category", "base") == 4
    assert cell(table, "net", "complete:category", "share") == pytest.approx(0.25)
    assert cell(table, "net", "complete:category", "severity") == "high"
    assert cell(table, "net", "complete:category", "points_lost") == pytest.approx(4.0)
    # first response: judged on the 3 resolved tickets only (N3 is open): N2 lacks one
    assert cell(table, "net", "complete:responded_at") == 1
    assert cell(table, "net", "complete:responded_at", "base") == 3
    # closure time: judged on the 3 tickets in state closed: N4 lacks one
    assert (cell(table, "net", "complete:closed_at"),
            cell(table, "net", "complete:closed_at", "base")) == (1, 3)
    # resolution time: judged on the 2 tickets with a closure time, both have one
    assert (cell(table, "net", "complete:resolved_at"),
            cell(table, "net", "complete:resolved_at", "base")) == (0, 2)
    # every check has a row for every service and the client-wide row
    assert cell(table, "mail", "complete:category", "base") == 0
    assert cell(table, quality.ALL, "complete:category") == 1
    assert list(table.columns) == quality.QUALITY_COLUMNS


def test_score_is_100_minus_points_lost(params: Params) -> None:
    table = quality.quality_table(ingested(tickets(FOUR)), params, "2026Q3")
    scores = quality.score(table)

    # category 4 points (25% > 10%), first response 4 * (1/3) / 0.1 -> capped at 4,
    # closure 2 * (1/3) / 0.1 -> capped at 2
    assert scores["net"] == pytest.approx(100 - 4 - 4 - 2)
    assert scores["mail"] == pytest.approx(100.0)        # no tickets: nothing lost
    assert list(scores.index) == ["net", "mail", quality.ALL]


def test_points_lost_grow_in_proportion_below_saturation(params: Params) -> None:
    rows = [{"ticket_id": f"N{i}", "service": "net", "opened_at": "2026-07-01 09:00",
             "state": "New", "category": None if i == 0 else "Email"} for i in range(40)]
    table = quality.quality_table(ingested(tickets(rows)), params, "2026Q3")

    # 1 of 40 = 2.5% missing category: 4 points x 0.025 / 0.10 = 1.0
    assert cell(table, "net", "complete:category", "points_lost") == pytest.approx(1.0)
    assert cell(table, "net", "complete:category", "severity") == "medium"


def test_score_is_clipped_at_zero_and_rated() -> None:
    table = pd.DataFrame({"service": ["a", "a", "b"], "points_lost": [70.0, 45.0, 5.0]})
    assert quality.score(table).to_dict() == {"a": 0.0, "b": 95.0}
    assert [quality.rating(v) for v in (100, 95, 94.9, 80, 79.9, 0)] == [
        "good", "good", "fair", "fair", "poor", "poor"]


def test_excluded_rows_are_traced_to_a_service_through_a_kept_twin(params: Params) -> None:
    ex = excluded([
        ("N1", "duplicate ticket id (first row kept)"),      # twin N1 is a net ticket
        ("X1", "resolved before opened"),                     # no kept twin: client only
        ("X2", "matches no service"),
        ("X3", "missing opened time"),
        ("X4", "matches no service"),
    ])
    table = quality.quality_table(ingested(tickets(FOUR), ex), params, "2026Q3")

    assert cell(table, "net", "duplicates") == 1
    assert cell(table, "net", "duplicates", "base") == 4 + 1     # kept + traced excluded
    assert cell(table, "net", "impossible_order") == 0
    assert cell(table, "mail", "duplicates") == 0
    everyone = {c: cell(table, quality.ALL, c) for c in
                ("duplicates", "impossible_order", "no_service", "excluded_other")}
    assert everyone == {"duplicates": 1, "impossible_order": 1, "no_service": 2,
                        "excluded_other": 1}
    assert cell(table, quality.ALL, "no_service", "base") == 4 + 5
    assert cell(table, quality.ALL, "no_service", "points_lost") == pytest.approx(
        WEIGHTS["no_service"])                                  # 2/9 > 10%
    assert set(table.loc[table["check"] == "no_service", "service"]) == {quality.ALL}


def test_events_after_the_period_end_are_counted_not_penalised(params: Params) -> None:
    rows = [*FOUR,
            {"ticket_id": "N5", "service": "net", "opened_at": "2026-10-02 09:00",
             "category": None, "state": "New"},               # after the end: out of scope
            {"ticket_id": "N6", "service": "net", "opened_at": "2026-09-30 20:00",
             "responded_at": "2026-09-30 21:00", "resolved_at": "2026-10-01 08:00",
             "closed_at": "2026-10-04 08:00"}]
    table = quality.quality_table(ingested(tickets(rows)), params, "2026Q3")

    assert cell(table, "net", "after_period_end") == 2
    assert cell(table, "net", "after_period_end", "base") == 6
    assert cell(table, "net", "after_period_end", "severity") == "info"
    assert cell(table, "net", "after_period_end", "points_lost") == 0.0
    # N5 is beyond what the period sees: its missing category is not counted
    assert (cell(table, "net", "complete:category"),
            cell(table, "net", "complete:category", "base")) == (1, 5)


def test_durations_over_a_year_and_closed_before_resolved(params: Params) -> None:
    rows = [
        {"ticket_id": "A", "service": "mail", "opened_at": "2025-01-01 09:00",
         "resolved_at": "2026-02-10 09:00", "closed_at": "2026-02-13 09:00"},   # 405 days
        {"ticket_id": "B", "service": "mail", "opened_at": "2025-06-01 09:00",
         "state": "New"},                                   # open 487 days at the end
        {"ticket_id": "C", "service": "mail", "opened_at": "2026-08-01 09:00",
         "resolved_at": "2026-08-02 09:00", "closed_at": "2026-08-01 12:00"},   # closed early
        {"ticket_id": "D", "service": "mail", "opened_at": "2025-10-01 09:00",
         "resolved_at": "2026-10-20 09:00"},   # resolved after the end: open for 365 days
    ]
    table = quality.quality_table(ingested(tickets(rows)), params, "2026Q3")

    assert cell(table, "mail", "over_a_year") == 2          # A and B, not D (364.6 days)
    assert cell(table, "mail", "closed_before_resolved") == 1


def test_outliers_use_the_robust_z_of_log_hours_per_priority(params: Params) -> None:
    # log10 hours: eleven 0s, ten 1s and one 4 -> median 0.5, MAD 0.5;
    # z = |4 - 0.5| / (1.4826 x 0.5) = 4.72 > 3.5, the others 0.67.
    hours = [1] * 11 + [10] * 10 + [10_000]
    opened = pd.Timestamp("2025-01-01 00:00", tz="UTC")
    rows = [{"ticket_id": f"T{i}", "service": "net", "opened_at": str(opened),
             "resolved_at": str(opened + pd.Timedelta(hours=h))} for i, h in enumerate(hours)]
    # A P1 group of 19 tickets with the same spread is too small to test.
    rows += [{"ticket_id": f"S{i}", "service": "net", "priority": "P1",
              "opened_at": str(opened),
              "resolved_at": str(opened + pd.Timedelta(hours=h))}
             for i, h in enumerate([1] * 9 + [10] * 9 + [10_000])]
    table = quality.quality_table(ingested(tickets(rows)), params, "2026Q3")

    assert cell(table, "net", "outliers") == 1
    assert cell(table, "net", "outliers", "base") == len(rows)


def test_a_group_with_no_spread_is_not_tested_for_outliers(params: Params) -> None:
    opened = pd.Timestamp("2026-07-01 00:00", tz="UTC")
    rows = [{"ticket_id": f"T{i}", "service": "net", "opened_at": str(opened),
             "resolved_at": str(opened + pd.Timedelta(hours=2 if i < 15 else 900))}
            for i in range(25)]
    table = quality.quality_table(ingested(tickets(rows)), params, "2026Q3")
    assert cell(table, "net", "outliers") == 0    # MAD 0: no scale to judge by


def test_inputs_are_not_mutated(params: Params) -> None:
    t = tickets(FOUR)
    ex = excluded([("N1", "duplicate ticket id (first row kept)")])
    before = (t.copy(deep=True), ex.copy(deep=True))
    tables = ingested(t, ex)
    quality.quality_table(tables, params, params.period("2026Q3"))
    pd.testing.assert_frame_equal(t, before[0])
    pd.testing.assert_frame_equal(ex, before[1])


def test_a_string_period_and_a_period_give_the_same_table(params: Params) -> None:
    tables = ingested(tickets(FOUR))
    pd.testing.assert_frame_equal(quality.quality_table(tables, params, "2026Q3"),
                                  quality.quality_table(tables, params, params.period("2026Q3")))


def test_missing_columns_are_named(params: Params) -> None:
    t = tickets(FOUR).drop(columns=["priority"])
    with pytest.raises(DataError, match=r"tickets table has no column\(s\) \['priority'\]"):
        quality.quality_table(ingested(t), params, "2026Q3")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_the_table(params: Params, seed: int) -> None:
    first = pd.Timestamp("2026-07-01", tz="UTC")
    rows = copy.deepcopy(FOUR) + [
        {"ticket_id": f"M{i}", "service": "mail", "opened_at": str(first),
         "resolved_at": str(first + pd.Timedelta(hours=2 ** (i % 9))),
         "priority": "P1" if i % 2 else "P3"} for i in range(50)]
    t = tickets(rows)
    ex = excluded([("N1", "duplicate ticket id (first row kept)"), ("Z", "matches no service")])
    shuffled = t.sample(frac=1, random_state=seed % (2**32 - 1)).reset_index(drop=True)
    pd.testing.assert_frame_equal(quality.quality_table(ingested(t, ex), params, "2026Q3"),
                                  quality.quality_table(ingested(shuffled, ex), params, "2026Q3"))


def test_check_summary_lists_row_checks_and_incomplete_columns(params: Params) -> None:
    table = quality.quality_table(ingested(tickets(FOUR)), params, "2026Q3")
    summary = quality.check_summary(table, "net")
    assert "Missing category" in set(summary["Check"])
    assert "Missing priority" not in set(summary["Check"])          # complete: not listed
    assert "Matches no service (excluded)" not in set(summary["Check"])   # client-wide only
    assert summary.set_index("Check").loc["Missing category", "Share"] == "25.0%"


def test_show_quality_displays_score_checks_and_client_note(params: Params,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    shown: list[dict] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    ex = excluded([("X2", "matches no service")])
    quality.show_quality(ingested(tickets(FOUR), ex), params, "2026Q3", "net")

    text = "\n".join(b["text/markdown"] for b in shown)
    assert "Data-quality score: 90.0 / 100 (fair)" in text
    assert "rest on **4 tickets opened** and **3 resolved**" in text
    assert "1 of 5 ticket rows (20.0%) were excluded at ingest: 1 matched no service" in text
    assert "How the score is computed" in text
    assert "<caption>Data-quality checks, Network, as of the end of 2026Q3</caption>" in \
        shown[1]["text/html"]


def test_client_note_when_nothing_was_excluded(params: Params) -> None:
    table = quality.quality_table(ingested(tickets(FOUR)), params, "2026Q3")
    note = quality.client_note(table, quality.score(table))
    assert note.startswith("Client-wide, no ticket row of 4 was excluded at ingest.")


def test_an_excluded_row_counts_against_the_service_ingest_attributed_it_to(
        params: Params) -> None:
    # Two of net's rows were excluded with no kept twin: before services were recorded
    # on excluded rows they counted client-wide only, and net still read as good.
    ex = excluded([("N8", "resolved before opened"), ("N9", "not a date in the expected format")])
    ex = ex.assign(service=pd.Series(["net", "net"], dtype="string"))
    table = quality.quality_table(ingested(tickets(FOUR), ex), params, "2026Q3")
    assert (cell(table, "net", "impossible_order"), cell(table, "net", "impossible_order",
                                                          "base")) == (1, 6)
    assert cell(table, "net", "excluded_other") == 1
    assert cell(table, "net", "impossible_order", "points_lost") == pytest.approx(15.0)
    assert cell(table, "mail", "impossible_order") == 0


def test_closed_time_taken_as_resolution_is_shown_not_penalised(params: Params) -> None:
    t = tickets(FOUR).assign(resolved_from_closed=[True, False, False, False])
    table = quality.quality_table(ingested(t), params, "2026Q3")
    assert (cell(table, "net", "resolved_from_closed"),
            cell(table, "net", "resolved_from_closed", "base")) == (1, 4)
    assert cell(table, "net", "resolved_from_closed", "severity") == "info"
    assert cell(table, "net", "resolved_from_closed", "points_lost") == 0
    summary = quality.check_summary(table, "net").set_index("Check")
    assert summary.loc["Closed time taken as resolution time (kept)", "Rows"] == "1"
