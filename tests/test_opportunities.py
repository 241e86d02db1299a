"""Opportunities: Pareto, repeat incidents, automation candidates and suggestions, by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from csi_lib import catalogue
from csi_lib import opportunities as opp
from csi_lib.errors import DataError, ParamsError
from csi_lib.ingest import Ingested
from csi_lib.opportunities.concentration import MAX_BARS
from csi_lib.params import Params, load_params

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
    P3: {response: 4h, resolution: 3d}
"""
START = pd.Timestamp("2026-07-01", tz="UTC")
END = pd.Timestamp("2026-10-01", tz="UTC")
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


@pytest.fixture
def params(tmp_path: Path) -> Params:
    path = tmp_path / "tiny.yaml"
    path.write_text(PARAMS, encoding="utf-8")
    return load_params(path)


def frame(rows: list[dict]) -> pd.DataFrame:
    """Canonical tickets: each row gives opened (Timestamp) and what differs from the defaults."""
    base = {"service": "net", "record_type": "incident", "category": "Email",
            "subcategory": None, "caller": "p-1", "resolved_at": pd.NaT}
    full = [{**base, **r} for r in rows]
    utc = "datetime64[ns, UTC]"
    return pd.DataFrame({
        "ticket_id": pd.Series([f"T{i}" for i in range(len(full))], dtype="string"),
        "service": pd.Series([r["service"] for r in full], dtype="string"),
        "record_type": pd.Series([r["record_type"] for r in full], dtype="string"),
        "opened_at": pd.Series([r["opened_at"] for r in full], dtype=utc),
        "resolved_at": pd.Series([r["resolved_at"] for r in full], dtype=utc),
        "category": pd.Series([r["category"] for r in full], dtype="string"),
        "subcategory": pd.Series([r["subcategory"] for r in full], dtype="string"),
        "caller": pd.Series([r["caller"] for r in full], dtype="string"),
    })


def categories(counts: dict[str, int], when: pd.Timestamp = START + DAY) -> list[dict]:
    return [{"opened_at": when, "category": c} for c, n in counts.items() for _ in range(n)]


# ---------------------------------------------------------------- Pareto


def test_pareto_counts_shares_and_the_vital_few() -> None:
    t = frame(categories({"Teams": 1, "Email": 5, "Disk": 1, "VPN": 3}))
    p = opp.pareto(t, "net", START, END)

    assert list(p["category"]) == ["Email", "VPN", "Disk", "Teams"]   # ties by name
    assert list(p["tickets"]) == [5, 3, 1, 1]
    assert list(p["share"]) == pytest.approx([0.5, 0.3, 0.1, 0.1])
    assert list(p["cumulative_share"]) == pytest.approx([0.5, 0.8, 0.9, 1.0])
    # VPN brings the total to exactly 80%: Disk is not needed
    assert list(p["in_80"]) == [True, True, False, False]
    assert list(p.columns) == ["category", *opp.PARETO_COLUMNS]


def test_pareto_includes_the_category_that_crosses_80() -> None:
    p = opp.pareto(frame(categories({"A": 7, "B": 2, "C": 1})), "net", START, END)
    assert list(p["in_80"]) == [True, True, False]     # 70% then 90%


def test_pareto_keeps_the_service_and_period_and_names_missing_categories() -> None:
    t = frame([
        {"opened_at": START, "category": None},                    # first instant: in
        {"opened_at": START, "category": "  "},                    # blank: (none)
        {"opened_at": END - pd.Timedelta(seconds=1), "category": "Email"},
        {"opened_at": END, "category": "Email"},                   # end is exclusive
        {"opened_at": START - HOUR, "category": "Email"},
        {"opened_at": START + DAY, "category": "Email", "service": "mail"},
    ])
    p = opp.pareto(t, "net", START, END)
    assert dict(zip(p["category"], p["tickets"], strict=True)) == {"(none)": 2, "Email": 1}


def test_pareto_of_nothing_is_empty_and_charted_as_a_message() -> None:
    p = opp.pareto(frame(categories({"A": 2})), "mail", START, END)
    assert p.empty
    assert list(p.columns) == ["category", *opp.PARETO_COLUMNS]
    fig = opp.pareto_chart(p)
    assert isinstance(fig, Figure)
    assert "No tickets in this period" in [t.get_text() for t in fig.axes[0].texts]


def test_pareto_needs_zoned_bounds_and_its_columns() -> None:
    t = frame(categories({"A": 1}))
    with pytest.raises(ParamsError, match=r"start=.* has no timezone"):
        opp.pareto(t, "net", START.tz_localize(None), END)
    with pytest.raises(ParamsError, match="is not after start"):
        opp.pareto(t, "net", END, START)
    with pytest.raises(DataError, match=r"no column\(s\) \['category'\]"):
        opp.pareto(t.drop(columns=["category"]), "net", START, END)


def test_pareto_chart_colours_the_vital_few_and_lumps_the_tail() -> None:
    counts = {f"C{i:02d}": 30 - i for i in range(15)}       # 15 categories, 12 bars + rest
    p = opp.pareto(frame(categories(counts)), "net", START, END)
    fig = opp.pareto_chart(p, title="t", subtitle="s")
    ax, right = fig.axes
    bars = ax.patches
    assert len(bars) == MAX_BARS + 1 == 13
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1].startswith("3")
    assert "others" in labels[-1]
    coloured = [b.get_facecolor() for b in bars]
    n80 = int(p["in_80"].sum())
    assert coloured[0] != coloured[-1]
    assert coloured[n80 - 1] == coloured[0]
    assert coloured[n80] == coloured[-1]
    line = next(ln for ln in right.get_lines() if ln.get_gid() == "cumulative")
    assert line.get_ydata()[-1] == pytest.approx(1.0)
    assert any(ln.get_gid() == "line80" for ln in right.get_lines())


@settings(max_examples=50, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_the_vital_few_is_the_smallest_head_reaching_80(counts: list[int]) -> None:
    p = opp.pareto(frame(categories({f"K{i}": n for i, n in enumerate(counts)})), "net",
                   START, END)
    few = p.loc[p["in_80"], "tickets"]
    total = sum(counts)
    assert few.sum() * 5 >= 4 * total                             # reaches 80%
    assert (few.sum() - few.iloc[-1]) * 5 < 4 * total             # one fewer does not
    assert p["in_80"].iloc[: len(few)].all()                      # a head of the ranking


# ---------------------------------------------------------------- repeats


def incident(day: float, caller: str, category: str = "VPN", **extra: object) -> dict:
    return {"opened_at": START + day * DAY, "caller": caller, "category": category, **extra}


def test_repeat_clusters_chain_within_the_window_by_caller_and_category() -> None:
    t = frame([
        incident(0, "a"), incident(3, "a"), incident(12, "a"),     # 0-3 a cluster; 12 alone
        incident(1, "b"), incident(8, "b"),                         # exactly 7 days: repeats
        incident(0, "c"), incident(1, "c", record_type="request"),  # a request never repeats
        incident(0, "d"), incident(1, "d", "Email"),                # another category
        incident(0, "e", "Email"), incident(5, "e", "Email"), incident(10, "e", "Email"),
    ])
    r = opp.repeat_clusters(t, "net", START, END).set_index("category")

    assert r.loc["VPN"].to_dict() == {"clusters": 2, "tickets": 4, "repeats": 2, "callers": 2,
                                      "incidents": 7, "repeat_share": pytest.approx(2 / 7)}
    # chained: 0-5-10 is one cluster of three, though 0 and 10 are ten days apart
    assert r.loc["Email", ["clusters", "tickets", "repeats", "callers", "incidents"]].tolist() \
        == [1, 3, 2, 1, 4]
    assert list(r.index) == ["VPN", "Email"]                        # most tickets first


def test_repeats_look_back_before_the_period_and_twins_repeat_each_other() -> None:
    t = frame([
        incident(-2, "a"), incident(1, "a"),     # the first is before the period
        incident(-9, "c"), incident(2, "c"),     # too long before: no repeat
        incident(3, "b"), incident(3, "b"),      # opened at the same instant
    ])
    r = opp.repeat_clusters(t, "net", START, END).set_index("category")
    assert r.loc["VPN"].to_dict() == {"clusters": 2, "tickets": 3, "repeats": 3, "callers": 2,
                                      "incidents": 4, "repeat_share": pytest.approx(3 / 4)}


@settings(max_examples=30, deadline=None)
@given(days=st.lists(st.tuples(st.integers(-10, 95), st.integers(0, 3), st.integers(0, 1)),
                     max_size=40))
def test_repeats_agree_with_the_repeat_kpi(days: list[tuple[int, int, int]]) -> None:
    """The section counts the incidents the repeat_incident_rate KPI counts as repeats."""
    from csi_lib.kpis.measures import repeats

    t = frame([incident(d, f"c{c}", ["VPN", "WiFi"][k]) for d, c, k in days])
    flags = repeats(t, pd.Timedelta(days=opp.WINDOW_DAYS))
    in_period = ((t["opened_at"] >= START) & (t["opened_at"] < END)).to_numpy()
    r = opp.repeat_clusters(t, "net", START, END)
    assert int(r["repeats"].sum()) == int(flags[in_period].sum())


def test_a_shorter_window_finds_fewer_repeats() -> None:
    t = frame([incident(0, "a"), incident(3, "a"), incident(4, "a")])
    assert opp.repeat_clusters(t, "net", START, END, window_days=2)["tickets"].tolist() == [2]
    assert opp.repeat_clusters(t, "net", START, END)["tickets"].tolist() == [3]
    with pytest.raises(ParamsError, match="window_days must be a positive"):
        opp.repeat_clusters(t, "net", START, END, window_days=0)


def test_repeats_group_by_configuration_item_when_the_export_has_one() -> None:
    t = frame([incident(0, "a", "VPN"), incident(1, "a", "WiFi")])
    t = t.assign(cmdb_ci=pd.Series(["rtr-7", "rtr-7"], dtype="string"))
    r = opp.repeat_clusters(t, "net", START, END)
    assert r.columns[0] == "cmdb_ci"
    assert r.iloc[0].tolist()[:3] == ["rtr-7", 1, 2]


def test_no_repeats_and_no_incidents_give_empty_tables() -> None:
    t = frame([incident(0, "a"), incident(20, "a"), {**incident(1, "b"), "caller": None},
               {**incident(2, "b"), "caller": None}])
    for service in ("net", "mail"):
        r = opp.repeat_clusters(t, service, START, END)
        assert r.empty
        assert list(r.columns) == ["category", *opp.REPEAT_COLUMNS]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_does_not_change_the_repeats(seed: int) -> None:
    t = frame([incident(d % 40, f"c{d % 5}", ["VPN", "WiFi"][d % 2]) for d in range(60)])
    shuffled = t.sample(frac=1, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(opp.repeat_clusters(t, "net", START, END),
                                  opp.repeat_clusters(shuffled, "net", START, END))


# ---------------------------------------------------------------- automation


def resolved(category: str, subcategory: str, hours: list[float], day: float = 5) -> list[dict]:
    opened = START + day * DAY
    return [{"opened_at": opened, "resolved_at": opened + h * HOUR, "category": category,
             "subcategory": subcategory, "record_type": "request"} for h in hours]


AUTOMATION = (
    resolved("Account", "Reset", [1.0] * 20 + [2.0] * 20)          # short, tight, frequent
    + resolved("Access", "Role", [20.0] * 40)                        # too slow
    + resolved("Account", "Unlock", [1.0] * 10)                      # too rare
    + resolved("Email", "Misc", [0.5] * 10 + [1.0] * 10 + [4.0] * 10 + [20.0] * 10)  # too varied
)


def test_automation_candidates_pass_volume_speed_and_consistency() -> None:
    a = opp.automation_candidates(frame(AUTOMATION), "net", START, END, all_rows=True)
    rows = a.set_index("subcategory")

    # Reset: quartiles 1, 1.5, 2 -> spread (2 - 1) / 1.5; effort capped at 0.5 h x 40 tickets
    assert rows.loc["Reset", ["tickets", "median_h", "p25_h", "p75_h"]].tolist() == [
        40, 1.5, 1.0, 2.0]
    assert rows.loc["Reset", "spread"] == pytest.approx(1 / 1.5)
    assert rows.loc["Reset", "effort_h"] == 0.5
    assert rows.loc["Reset", "hours_freed"] == pytest.approx(20.0)
    assert rows.loc["Reset", "effort_basis"] == "median resolution time, capped at 0.5 h"
    # Misc: quartiles at positions 9.75, 19.5, 29.25 of 40 -> 0.875, 2.5, 8
    assert rows.loc["Misc", ["p25_h", "median_h", "p75_h"]].tolist() == pytest.approx(
        [0.875, 2.5, 8.0])
    tests = rows[["high_volume", "short", "consistent", "candidate"]]
    assert tests.to_dict("index") == {
        "Reset": {"high_volume": True, "short": True, "consistent": True, "candidate": True},
        "Misc": {"high_volume": True, "short": True, "consistent": False, "candidate": False},
        "Role": {"high_volume": True, "short": False, "consistent": True, "candidate": False},
        "Unlock": {"high_volume": False, "short": True, "consistent": True,
                   "candidate": False},
    }
    # candidates first, then by hours freed (20, 20, 5), ties by category name
    assert list(a["subcategory"]) == ["Reset", "Role", "Misc", "Unlock"]
    only = opp.automation_candidates(frame(AUTOMATION), "net", START, END)
    assert list(only["subcategory"]) == ["Reset"]
    assert list(only.columns) == ["category", "subcategory", *opp.AUTOMATION_COLUMNS]


def test_thresholds_can_be_overridden() -> None:
    a = opp.automation_candidates(frame(AUTOMATION), "net", START, END, max_spread=3.0,
                                  effort_cap_h=0.25)
    assert list(a["subcategory"]) == ["Reset", "Misc"]          # 10 h each: by name
    assert a["hours_freed"].tolist() == [10.0, 10.0]


def test_handle_time_replaces_the_capped_resolution_time() -> None:
    t = frame(AUTOMATION).assign(handle_time_h=0.2)
    a = opp.automation_candidates(t, "net", START, END)
    assert a.loc[0, "effort_h"] == pytest.approx(0.2)
    assert a.loc[0, "effort_basis"] == "median handle time"
    assert a.loc[0, "hours_freed"] == pytest.approx(40 * 0.2)


def test_without_subcategories_groups_are_categories() -> None:
    t = frame(AUTOMATION).assign(subcategory=pd.Series(pd.NA, dtype="string"))
    a = opp.automation_candidates(t, "net", START, END, all_rows=True)
    assert list(a.columns)[:2] == ["category", "tickets"]
    assert sorted(a["category"]) == ["Access", "Account", "Email"]


def test_only_tickets_resolved_in_the_period_count() -> None:
    late = resolved("Account", "Reset", [1.0] * 40, day=91.99)   # resolved after the end
    a = opp.automation_candidates(frame(late), "net", START, END, all_rows=True)
    assert a.empty
    assert list(a.columns) == ["category", "subcategory", *opp.AUTOMATION_COLUMNS]


# ---------------------------------------------------------------- suggestions and display


def repeats_for(service: str, clusters: int, category: str = "VPN") -> list[dict]:
    """``clusters`` callers with two incidents a day apart, resolved after 2 hours."""
    return [{**incident(day, f"{service}-{i}", category, service=service),
             "resolved_at": START + day * DAY + 2 * HOUR}
            for i in range(clusters) for day in (10 + i, 11 + i)]


def test_suggestions_list_candidates_and_frequent_repeats(params: Params) -> None:
    t = frame(AUTOMATION + repeats_for("net", 5) + repeats_for("mail", 4))
    s = opp.suggestions(t, params, "2026Q3")

    assert list(s.columns) == opp.SUGGESTION_COLUMNS
    assert s[["service", "source"]].values.tolist() == [
        ["net", "automation candidate"], ["net", "repeat incidents"]]   # mail: 4 < 5 clusters
    auto, rep = s.iloc[0], s.iloc[1]
    assert auto["title"] == "Automate or move to self-service: Account / Reset, Network"
    assert auto["hours_freed"] == pytest.approx(20.0)
    assert "40 tickets resolved in 2026Q3, median 1.5 h" in auto["evidence"]
    assert rep["title"] == "Problem review of repeat incidents: VPN, Network"
    # 5 repeats x effort min(median 2 h, 0.5 h)
    assert rep["hours_freed"] == pytest.approx(2.5)
    assert rep["evidence"].startswith("5 repeat incidents in 5 clusters from 5 callers in 2026Q3")
    assert s["linked_kpi"].tolist() == ["self_service_share", "repeat_incident_rate"]
    assert all(k in catalogue.CATALOGUE for k in s["linked_kpi"])


def test_no_tickets_no_suggestions(params: Params) -> None:
    s = opp.suggestions(frame([]), params, params.period("2026Q3"))
    assert s.empty
    assert list(s.columns) == opp.SUGGESTION_COLUMNS


def test_functions_do_not_mutate_the_tickets(params: Params) -> None:
    t = frame(AUTOMATION + repeats_for("net", 5))
    before = t.copy(deep=True)
    opp.pareto(t, "net", START, END)
    opp.repeat_clusters(t, "net", START, END)
    opp.automation_candidates(t, "net", START, END, all_rows=True)
    opp.suggestions(t, params, "2026Q3")
    pd.testing.assert_frame_equal(t, before)


def test_show_opportunities_displays_each_part(params: Params,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[object] = []
    figures: list[Figure] = []
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, raw=False: shown.append(obj))
    monkeypatch.setattr("csi_lib.plots.show_figure", lambda fig, alt=None: figures.append(fig))
    t = frame(AUTOMATION + repeats_for("net", 5))
    tables = Ingested(tickets=t, changes=pd.DataFrame(), surveys=pd.DataFrame())
    opp.show_opportunities(tables, params, "2026Q3", "net")

    texts = "\n".join(o["text/markdown"] for o in shown if isinstance(o, dict))
    assert len(figures) == 1
    # 4 categories over the 140 tickets: the Pareto stays by category
    assert "Tickets opened in 2026Q3 by category" in figures[0].axes[0].get_title(loc="left")
    assert "**5 of the 10 incidents** opened in 2026Q3 (50.0%)" in texts
    assert "**1 group of tickets** passes all three tests" in texts
    assert "free up to **20 h of agent time**" in texts
    assert "no handle time" in texts


def test_a_service_with_few_categories_gets_a_pareto_of_subcategories(
        params: Params, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    t = frame(resolved("Account", "Reset", [1.0] * 9) + resolved("Account", "Unlock", [1.0]))
    tables = Ingested(tickets=t, changes=pd.DataFrame(), surveys=pd.DataFrame())
    opp.show_pareto(tables, params, "2026Q3", "net")
    assert "**1 of 2 subcategories** make up 90%" in shown[0]["text/markdown"]
    opp.show_automation(tables, params, "2026Q3", "mail")   # a service without tickets
    assert shown[-1]["text/markdown"].startswith("**No tickets in this period.** Mail")


def test_an_export_without_callers_or_categories_says_so_instead_of_failing() -> None:
    from csi_lib.opportunities.selection import lacks

    bare = pd.DataFrame({"ticket_id": ["A"], "service": ["net"], "opened_at": [pd.NaT]})
    assert "no callers" in lacks(bare, "repeats")
    assert "no ticket categories" in lacks(bare, "pareto")
    assert "automation candidates cannot" in lacks(bare, "automation")
    with_caller = bare.assign(caller="p-1", cmdb_ci="CI-9")
    assert lacks(with_caller, "repeats") is None
    assert lacks(bare.assign(category=pd.Series([pd.NA], dtype="string")), "pareto") is not None
