"""Gap analysis: RAG status, XmR limits and run rules, triggers, forecasts, the as-of rule."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import PARAMS_YAML, ROOT, write_yaml
from hypothesis import given
from hypothesis import strategies as st

from csi_lib import catalogue, gaps, plots
from csi_lib.data import load_tables
from csi_lib.errors import ParamsError
from csi_lib.gaps.charts import gap_figure, xmr_figure
from csi_lib.gaps.triggers import breach_run
from csi_lib.ingest import Ingested
from csi_lib.kpis import KPI_COLUMNS, as_of_view, kpi_table, period_bounds
from csi_lib.kpis.spc import OUTSIDE, SHIFT, TREND, Limits
from csi_lib.kpis.trend import fit_line, forecast, t_cdf, t_ppf
from csi_lib.params import Params, load_params

DEMO = ROOT / "params" / "demo.yaml"
Q3 = pd.Period("2026Q3", freq="Q-DEC")
Demo = tuple[Params, Ingested, dict]   # params, tables, KPI tables by quarter


def _params(**changes: object) -> Params:
    """The tiny client of conftest with top-level sections replaced by ``changes``."""
    data = yaml.safe_load(PARAMS_YAML)
    data.update(changes)
    return Params.model_validate(data)


def _monthly(values: list[float], kpi: str = "sla_resolution", service: str = "net",
             first: str = "2025-10") -> pd.DataFrame:
    """A KPI table holding one monthly series."""
    months = pd.period_range(first, periods=len(values), freq="M")
    return pd.DataFrame({
        "service": pd.Series(service, index=range(len(values)), dtype="string"),
        "freq": "M",
        "period": pd.Series([m.strftime("%Y-%m") for m in months], dtype="string"),
        "period_start": [m.start_time for m in months],
        "kpi": pd.Series(kpi, index=range(len(values)), dtype="string"),
        "value": pd.Series(values, dtype="float64"),
        "n": 100,
    })[KPI_COLUMNS]


LIMITS = Limits(centre=0.0, ucl=3.0, lcl=-3.0, mr_mean=1.0, mr_ucl=3.267, n=12,
                first="2025-01", last="2025-12")


def _rules(values: list[float], limits: Limits = LIMITS) -> pd.DataFrame:
    labels = [f"p{i:02d}" for i in range(len(values))]
    return gaps.run_rules(pd.Series(values, index=labels, dtype="float64"), limits)


# ---------------------------------------------------------------- RAG status


@pytest.mark.parametrize(
    ("value", "target", "direction", "tolerance", "expected"),
    [
        # higher is better, target 90%, 5% tolerance: amber down to 85.5% inclusive
        (0.95, 0.9, "higher", 0.05, "green"),
        (0.9, 0.9, "higher", 0.05, "green"),
        (0.8999, 0.9, "higher", 0.05, "amber"),
        (0.855, 0.9, "higher", 0.05, "amber"),
        (0.8549, 0.9, "higher", 0.05, "red"),
        # lower is better, target 24 h: amber up to 25.2 h inclusive
        (23.0, 24.0, "lower", 0.05, "green"),
        (24.0, 24.0, "lower", 0.05, "green"),
        (24.01, 24.0, "lower", 0.05, "amber"),
        (25.2, 24.0, "lower", 0.05, "amber"),
        (25.21, 24.0, "lower", 0.05, "red"),
        # no tolerance: any miss is red
        (0.8999, 0.9, "higher", 0.0, "red"),
        (24.01, 24.0, "lower", 0.0, "red"),
        # scores: 4.2 * 0.95 = 3.99 is still amber
        (3.99, 4.2, "higher", 0.05, "amber"),
        (3.98, 4.2, "higher", 0.05, "red"),
        # a lower-is-better target of zero leaves no amber band
        (0.0, 0.0, "lower", 0.05, "green"),
        (1.0, 0.0, "lower", 0.05, "red"),
        (math.nan, 0.9, "higher", 0.05, "no data"),
        (0.5, None, "higher", 0.05, "no target"),
        (0.5, 0.9, "neutral", 0.05, "no target"),
    ],
)
def test_rag_at_the_boundaries(value: float, target: float | None, direction: str,
                               tolerance: float, expected: str) -> None:
    assert gaps.rag(value, target, direction, tolerance) == expected


@given(st.lists(st.floats(0, 1), min_size=2, max_size=12), st.floats(0.01, 1),
       st.sampled_from(["higher", "lower"]), st.floats(0, 0.5))
def test_status_never_improves_as_the_value_gets_worse(values: list[float], target: float,
                                                       direction: str, tolerance: float) -> None:
    ordered = sorted(values, reverse=direction == "higher")   # best first
    got = gaps.status(pd.Series(ordered), pd.Series([target] * len(ordered)),
                      pd.Series([direction] * len(ordered)), tolerance)
    rank = {"green": 0, "amber": 1, "red": 2}
    assert [rank[s] for s in got] == sorted(rank[s] for s in got)
    assert list(got) == [gaps.rag(v, target, direction, tolerance) for v in ordered]


def test_targets_take_the_service_override_first() -> None:
    params = _params(kpi_targets={"sla_resolution": 0.9, "fcr": 0.7},
                     gaps={"service_targets": {"mail": {"sla_resolution": 0.8}}})
    table = gaps.target_table(params).set_index(["service", "kpi"])
    assert table.loc[("mail", "sla_resolution"), "target"] == 0.8
    assert table.loc[("mail", "sla_resolution"), "source"] == "service override"
    assert table.loc[("net", "sla_resolution"), "target"] == 0.9
    assert table.loc[("net", "sla_resolution"), "threshold"] == pytest.approx(0.855)
    assert table.loc[("net", "backlog"), "source"] == "none"
    assert math.isnan(table.loc[("net", "backlog"), "target"])
    assert "volume" not in table.index.get_level_values("kpi")   # neutral: no target


# ---------------------------------------------------------------- target validation


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("{mail: {sla_resolutoin: 0.8}}", "mail.sla_resolutoin: unknown KPI 'sla_resolutoin'"),
        ("{mail: {volume: 100}}", "'volume' has no better direction"),
        ("{mail: {sla_resolution: 80}}", "write it as a fraction 0..1"),
        ("{mail: {csat_mean: 7}}", "1-5 scale"),
        ("{mail: {backlog: -1}}", "cannot be negative"),
    ],
)
def test_bad_service_targets_fail_when_params_load(tmp_path: Path, override: str,
                                                   message: str) -> None:
    text = PARAMS_YAML + f"gaps:\n  service_targets: {override}\n"
    path = write_yaml(tmp_path / "bad.yaml", text)
    with pytest.raises(ParamsError, match=r"gaps\.service_targets") as err:
        load_params(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_an_override_for_an_unknown_service_names_it_and_the_known_ones(tmp_path: Path) -> None:
    # Caught when the params load, before anything runs ...
    text = PARAMS_YAML + "gaps: {service_targets: {nope: {sla_resolution: 0.8}}}\n"
    (tmp_path / "tickets.csv").write_text("x")
    with pytest.raises(ParamsError, match=r"unknown service\(s\) \['nope'\]; services are net, mail"):
        load_params(write_yaml(tmp_path / "bad.yaml", text))
    # ... and by the gap analysis itself for params built another way.
    params = _params().model_copy(update={"gaps": gaps.GapSettings(
        service_targets={"nope": {"sla_resolution": 0.8}})})
    with pytest.raises(ParamsError, match=r"names service 'nope'.*known: net, mail"):
        gaps.validate_targets(params)
    with pytest.raises(ParamsError, match="names service 'nope'"):
        gaps.triggers(_monthly([0.9] * 6), params, Q3)


def test_baseline_must_hold_enough_months() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 6"):
        gaps.GapSettings(baseline_months=3)


# ---------------------------------------------------------------- XmR limits and run rules


def test_xmr_limits_by_hand() -> None:
    lim = gaps.xmr_limits(pd.Series([10.0, 12.0, 11.0, 13.0], index=["a", "b", "c", "d"]))
    mr = (2 + 1 + 2) / 3
    assert lim.centre == pytest.approx(11.5)
    assert lim.mr_mean == pytest.approx(mr)
    assert lim.ucl == pytest.approx(11.5 + 2.66 * mr)
    assert lim.lcl == pytest.approx(11.5 - 2.66 * mr)
    assert lim.mr_ucl == pytest.approx(3.267 * mr)
    assert (lim.n, lim.first, lim.last) == (4, "a", "d")


def test_a_limit_beyond_the_kpis_range_is_no_limit() -> None:
    lim = gaps.xmr_limits(pd.Series([0.0, 0.04, 0.0, 0.05]), floor=0.0, ceiling=1.0)
    assert lim.lcl is None                  # below 0%: a share cannot fall past it
    assert lim.ucl == pytest.approx(0.0225 + 2.66 * 0.13 / 3)
    assert _rules([0.0, 0.0], lim).empty    # 0% is not "outside" a limit that is not there


def test_rule_point_outside_the_limits() -> None:
    got = _rules([0, 1, 3.5, -1, -4, 3.0, -3.0])
    assert got[["rule", "at", "direction"]].values.tolist() == [
        [OUTSIDE, "p02", "up"], [OUTSIDE, "p04", "down"]]   # on a limit is inside


def test_rule_eight_on_one_side() -> None:
    assert _rules([1.0] * 7).empty
    got = _rules([1.0] * 8)
    assert got[["rule", "start", "at", "end", "points", "direction"]].values.tolist() == [
        [SHIFT, "p00", "p07", "p07", 8, "up"]]
    longer = _rules([-1.0] * 10)      # a longer run is one signal
    assert longer[["rule", "points", "direction"]].values.tolist() == [[SHIFT, 10, "down"]]
    # A point on the centre line belongs to neither side: it breaks the run.
    assert _rules([1.0] * 4 + [0.0] + [1.0] * 4).empty
    assert _rules([1.0] * 4 + [-1.0] + [1.0] * 4).empty


def test_rule_six_steadily_rising_or_falling() -> None:
    assert _rules([0.1, 0.2, 0.3, 0.4, 0.5]).empty
    up = _rules([-0.5, -0.3, -0.1, 0.1, 0.3, 0.5])
    assert up[["rule", "start", "at", "end", "direction"]].values.tolist() == [
        [TREND, "p00", "p05", "p05", "up"]]
    down = _rules([0.5, 0.3, 0.1, -0.1, -0.3, -0.5, -0.6])
    assert down[["rule", "at", "end", "points", "direction"]].values.tolist() == [
        [TREND, "p05", "p06", 7, "down"]]
    # A repeated value is neither rising nor falling.
    assert _rules([-0.5, -0.3, -0.1, -0.1, 0.3, 0.5]).empty


def test_missing_months_are_skipped_by_the_rules() -> None:
    got = _rules([1.0, 1.0, 1.0, math.nan, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert got[["rule", "end", "points"]].values.tolist() == [[SHIFT, "p08", 8]]


def test_control_limits_come_from_the_baseline_window_only() -> None:
    # 12 calm months (Jul 2025 - Jun 2026), then a jump in the quarter under review.
    calm = [0.90, 0.92] * 6
    table = _monthly([0.5] * 3 + calm + [0.70, 0.71, 0.69], first="2025-04")
    chart = gaps.control_chart(table, "net", "sla_resolution", Q3, baseline_months=12)
    assert chart.limits is not None
    assert chart.limits.centre == pytest.approx(0.91)     # the 0.5s before it are left out
    assert (chart.limits.first, chart.limits.last, chart.limits.n) == ("2025-07", "2026-06", 12)
    now = chart.signals.loc[chart.signals["current"]]
    assert set(now["rule"]) == {OUTSIDE}
    assert set(now["reading"]) == {"worse"}
    six = gaps.control_chart(table, "net", "sla_resolution", Q3, baseline_months=6)
    assert six.limits is not None
    assert six.limits.first == "2026-01"


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=20), st.floats(-100, 100),
       st.floats(0.5, 10))
def test_run_rules_do_not_depend_on_units_or_offsets(values: list[float], shift: float,
                                                     scale: float) -> None:
    """Signals are the same in hours or days, or measured from another zero."""
    moved = Limits(centre=shift, ucl=shift + 3 * scale, lcl=shift - 3 * scale, mr_mean=scale,
                   mr_ucl=3.267 * scale, n=12, first="a", last="b")
    # Six decimals: values apart stay apart after the transform, ties and values on a
    # limit or the centre line stay exactly there.
    values = [round(v, 6) for v in values]
    same = _rules([shift + v * scale for v in values], moved)
    pd.testing.assert_frame_equal(same, _rules(values))


def test_too_short_a_baseline_gives_no_limits_and_says_why() -> None:
    chart = gaps.control_chart(_monthly([0.9] * 6, first="2026-04"), "net", "sla_resolution",
                               Q3, baseline_months=12)
    assert chart.limits is None
    assert "only 3 month(s)" in chart.note
    assert chart.signals.empty


def _quarterly(values: dict[tuple[str, str], float], label: str = "2026Q3") -> pd.DataFrame:
    """A KPI table of one quarter: {(service, kpi): value}."""
    start = pd.Period(label, freq="Q-DEC").start_time
    return pd.DataFrame({
        "service": pd.Series([s for s, _ in values], dtype="string"),
        "freq": "Q", "period": pd.Series([label] * len(values), dtype="string"),
        "period_start": [start] * len(values),
        "kpi": pd.Series([k for _, k in values], dtype="string"),
        "value": pd.Series(list(values.values()), dtype="float64"), "n": 100,
    })[KPI_COLUMNS]


def test_gap_table_measures_the_gap_both_ways() -> None:
    params = _params(kpi_targets={"sla_resolution": 0.9, "resolution_median_h": 24})
    table = pd.concat([_quarterly({("net", "sla_resolution"): 0.81,
                                   ("net", "resolution_median_h"): 30.0}),
                       _monthly([0.9, 0.88, 0.86, 0.84, 0.82, 0.80])], ignore_index=True)
    g = gaps.gap_table(table, params, Q3, "net").set_index("kpi")
    assert g.at["sla_resolution", "gap"] == pytest.approx(-0.09)
    assert g.at["sla_resolution", "gap_rel"] == pytest.approx(-0.1)
    assert g.at["sla_resolution", "shortfall"] == pytest.approx(0.1)
    assert g.at["sla_resolution", "status"] == "red"
    assert g.at["sla_resolution", "trend"] == "worsening"
    assert g.at["sla_resolution", "slope"] == pytest.approx(-0.02)
    assert g.at["resolution_median_h", "gap_rel"] == pytest.approx(0.25)
    assert g.at["resolution_median_h", "shortfall"] == pytest.approx(0.25)
    assert g.at["resolution_median_h", "trend"] == "too little data"
    assert g.at["fcr", "status"] == "no target"
    assert math.isnan(g.at["fcr", "gap"])


def test_watermelon_is_green_sla_with_red_experience() -> None:
    params = _params(kpi_targets={"sla_resolution": 0.9, "csat_mean": 4.2})
    table = _quarterly({("net", "sla_resolution"): 0.95, ("net", "csat_mean"): 3.5,
                        ("mail", "sla_resolution"): 0.70, ("mail", "csat_mean"): 3.5})
    w = gaps.watermelon(table, params, Q3).set_index("service")
    assert (w.at["net", "sla"], w.at["net", "csat_mean"]) == ("green", "red")
    assert w.at["net", "verdict"] == "watermelon"
    assert w.at["net", "red"] == "csat_mean"
    assert w.at["mail", "verdict"] == "SLA not green"
    calm = _params(kpi_targets={"sla_resolution": 0.9, "csat_mean": 3.0})
    assert gaps.watermelon(table, calm, Q3).set_index("service").at["net", "verdict"] \
        == "consistent"


# ---------------------------------------------------------------- triggers


def _breach_params(**gap_settings: object) -> Params:
    return _params(kpi_targets={"sla_resolution": 0.9}, gaps=gap_settings)


def _consecutive(table: pd.DataFrame, params: Params) -> pd.DataFrame:
    got = gaps.triggers(table, params, Q3)
    assert list(got.columns) == gaps.TRIGGER_COLUMNS
    return got.loc[got["rule"] == "consecutive breach"]


@pytest.mark.parametrize(
    ("quarter", "raised"),
    [
        ([0.95, 0.50, 0.50], False),     # two breaches: no review
        ([0.50, 0.50, 0.50], True),      # three: review
        ([0.50, 0.95, 0.50], False),     # a good month in the middle resets the count
        ([0.50, 0.88, 0.50], False),     # amber is a miss within tolerance, not a breach
        ([0.50, math.nan, 0.50], False),  # a month with no data breaks the run too
    ],
)
def test_three_consecutive_breaches_raise_a_review(quarter: list[float], raised: bool) -> None:
    table = _monthly([0.95] * 9 + quarter)          # Oct 2025 - Sep 2026
    got = _consecutive(table, _breach_params())
    assert len(got) == int(raised)
    if raised:
        row = got.iloc[0]
        assert (row["service"], row["kpi"], row["since"], row["periods"], row["raised_in"]) \
            == ("net", "sla_resolution", "2026-07", 3, "2026Q3")
        assert "85.5%" in row["evidence"]
        assert "3 consecutive months" in row["evidence"]


def test_a_run_that_started_before_the_quarter_counts_in_full() -> None:
    table = _monthly([0.95] * 7 + [0.5] * 5)        # red since May 2026
    row = _consecutive(table, _breach_params()).iloc[0]
    assert (row["since"], row["periods"]) == ("2026-05", 5)


def test_a_run_that_ended_before_the_quarter_raises_nothing() -> None:
    table = _monthly([0.5] * 9 + [0.95] * 3)
    assert _consecutive(table, _breach_params()).empty


def test_trigger_count_and_frequency_come_from_params() -> None:
    table = _monthly([0.95] * 10 + [0.5] * 2)
    assert len(_consecutive(table, _breach_params(trigger_periods=2))) == 1
    quarters = _monthly([0.5, 0.5, 0.5], first="2026-01").assign(
        freq="Q", period=pd.Series(["2026Q1", "2026Q2", "2026Q3"], dtype="string"),
        period_start=[pd.Timestamp(d) for d in ("2026-01-01", "2026-04-01", "2026-07-01")])
    row = _consecutive(quarters, _breach_params(trigger_freq="Q")).iloc[0]
    assert (row["since"], row["periods"]) == ("2026Q1", 3)
    assert "3 consecutive quarters" in row["evidence"]


def test_breach_run_finds_the_run_still_going_in_the_quarter() -> None:
    assert breach_run([True, True, False, True], [False, False, True, True]) == (3, 1)
    assert breach_run([True, True, True, False], [False, True, True, True]) == (0, 3)
    assert breach_run([True, True, False, False], [False, False, True, True]) is None


def test_a_control_signal_raises_a_review_only_when_it_points_the_wrong_way() -> None:
    calm = [0.90, 0.92] * 6
    worse = _monthly([0.91] * 3 + calm + [0.84, 0.83, 0.84], first="2025-04")
    better = _monthly([0.91] * 3 + calm + [0.97, 0.98, 0.97], first="2025-04")
    params = _params(kpi_targets={})   # no target: only the chart can raise it
    got = gaps.triggers(worse, params, Q3)
    assert got[["service", "kpi", "rule", "since", "periods"]].values.tolist() == [
        ["net", "sla_resolution", "control signal", "2026-07", 3]]
    assert "below its lower control limit of" in got["evidence"].iloc[0]
    assert "Jul, Aug and Sep 2026" in got["evidence"].iloc[0]
    assert gaps.triggers(better, params, Q3).empty


def test_a_point_outside_the_limits_on_a_thin_basis_raises_no_review() -> None:
    calm = [0.90, 0.92] * 6
    spike = _monthly([0.91] * 3 + calm + [0.91, 0.91, 0.70], first="2025-04")
    params = _params(kpi_targets={})
    assert len(gaps.triggers(spike, params, Q3)) == 1          # 100 tickets behind it
    thin = spike.assign(n=spike["n"].where(spike["period"] != "2026-09", 12))
    assert gaps.triggers(thin, params, Q3).empty                # 12 tickets: noise
    strict = params.model_copy(update={"gaps": gaps.GapSettings(min_basis=5)})
    assert len(gaps.triggers(thin, strict, Q3)) == 1


def test_triggers_never_read_later_periods_or_mutate_their_input() -> None:
    table = _monthly([0.95] * 9 + [0.95, 0.5, 0.5])       # two breaches up to Sep 2026
    poisoned = pd.concat([table, _monthly([0.1] * 6, first="2026-10")], ignore_index=True)
    before = poisoned.copy()
    params = _breach_params()
    pd.testing.assert_frame_equal(gaps.triggers(poisoned, params, Q3),
                                  gaps.triggers(table, params, Q3))
    pd.testing.assert_frame_equal(poisoned, before)


# ---------------------------------------------------------------- trend and forecast


def test_student_t_matches_published_tables() -> None:
    assert t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    assert t_ppf(0.9, 10) == pytest.approx(1.372184, abs=1e-6)
    assert t_ppf(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert t_cdf(2.0, 5) == pytest.approx(0.949030, abs=1e-6)
    assert t_ppf(0.1, 4) == pytest.approx(-t_ppf(0.9, 4))


@given(st.floats(0.001, 0.999), st.integers(1, 60))
def test_t_quantile_inverts_the_distribution(q: float, df: int) -> None:
    assert t_cdf(t_ppf(q, df), df) == pytest.approx(q, abs=1e-9)


def test_a_steady_line_is_real_and_noise_is_not() -> None:
    line = fit_line(np.array([1.0, 2.1, 2.9, 4.0, 5.1, 5.9]))
    assert line.slope == pytest.approx(1.0, abs=0.05)
    assert line.real
    noise = fit_line(np.array([1.0, 3.0, 1.2, 2.8, 1.1, 2.9, 1.0, 3.0]))
    assert not noise.real


def test_forecast_interval_surrounds_the_line_and_respects_the_range() -> None:
    fit = fit_line(np.array([0.90, 0.92, 0.93, 0.95, 0.96, 0.98]))
    fc = forecast(fit, 5, 3, 0.8, floor=0.0, ceiling=1.0)
    assert fc.low <= fc.value <= fc.high <= 1.0
    assert fc.value == pytest.approx(1.0)       # the line passes 100%: clipped
    wide = forecast(fit, 5, 3, 0.95)
    assert wide.high - wide.low > fc.high - fc.low or fc.high == 1.0


# ---------------------------------------------------------------- the demo client


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo client's params, tables and a cache of its KPI tables by quarter."""
    params = load_params(DEMO)
    return params, load_tables(params, tmp_path_factory.mktemp("outputs")), {}


def _kpis(demo: Demo, label: str) -> pd.DataFrame:
    """The demo's KPI table as known at the end of quarter ``label`` (computed once)."""
    params, t, cache = demo
    if label not in cache:
        cache[label] = kpi_table(t.tickets, t.changes, t.surveys, params, params.period(label))
    return cache[label].copy()


def test_network_raises_reviews_and_erp_does_not(demo: Demo) -> None:
    params = demo[0]
    got = gaps.triggers(_kpis(demo, "2026Q3"), params, params.period("2026Q3"))
    network = got.loc[got["service"] == "network"]
    assert {"consecutive breach", "control signal"} <= set(network["rule"])
    assert "sla_resolution" in set(network.loc[network["rule"] == "consecutive breach", "kpi"])
    assert got.loc[got["service"] == "erp"].empty
    assert set(got["raised_in"]) == {"2026Q3"}
    assert (got["periods"] >= 1).all()


def test_the_network_report_reads_as_a_deterioration(demo: Demo) -> None:
    params = demo[0]
    kpis = _kpis(demo, "2026Q3")
    network = gaps.build(params, kpis, params.period("2026Q3"), "network")
    g = network.gaps.set_index("kpi")
    assert g.at["sla_resolution", "status"] == "red"
    assert g.at["sla_resolution", "trend"] == "worsening"
    assert g.at["backlog", "status"] == "no target"
    text = gaps.summary_text(network)
    assert "**Improvement reviews are triggered for" in text
    assert "resolution SLA met" in text           # labels keep their acronyms
    assert "No target is set for" in text
    erp = gaps.build(params, kpis, params.period("2026Q3"), "erp")
    assert "No improvement review is triggered" in gaps.summary_text(erp)
    assert erp.gaps.set_index("kpi").at["resolution_median_h", "source"] == "service override"
    f = erp.forecasts.set_index("kpi")
    assert f.at["fcr", "outlook"] == "on course"
    assert f.at["fcr", "months"] == 12


def _cut(frame: pd.DataFrame, end: pd.Timestamp, born: str, later: tuple[str, ...]
         ) -> pd.DataFrame:
    view = as_of_view(frame, end, born=born, later=later)
    if "state" in view:
        # An export taken at ``end`` shows a ticket closed later as still in progress.
        cut = pd.concat([frame.loc[view.index, c].notna() & view[c].isna() for c in later],
                        axis=1).any(axis=1)
        view = view.assign(state=view["state"].mask(cut, "In Progress"))
    return view.reset_index(drop=True)


def _same_report(a: gaps.GapContext, b: gaps.GapContext) -> None:
    for name in ("gaps", "history", "triggers", "forecasts", "watermelon"):
        pd.testing.assert_frame_equal(getattr(a, name).reset_index(drop=True),
                                      getattr(b, name).reset_index(drop=True), obj=name)
    for kpi, chart in a.charts.items():
        assert chart.limits == b.charts[kpi].limits
        pd.testing.assert_frame_equal(chart.points, b.charts[kpi].points)
        pd.testing.assert_frame_equal(chart.signals, b.charts[kpi].signals)
    assert gaps.summary_text(a) == gaps.summary_text(b)


def test_a_past_quarter_reads_no_later_data(demo: Demo) -> None:
    """2026Q2 gives the same report whether or not the data after it exist."""
    params, t, _ = demo
    q2 = params.period("2026Q2")
    _, end = period_bounds(q2, params.reporting.timezone)
    # The exports as they stood at the end of 2026Q2.
    tickets = _cut(t.tickets, end, "opened_at", ("responded_at", "resolved_at", "closed_at"))
    changes = _cut(t.changes, end, "actual_end", ())
    surveys = _cut(t.surveys, end, "answered_at", ())
    assert t.tickets["opened_at"].max() > end > tickets["opened_at"].max()
    then = kpi_table(tickets, changes, surveys, params, q2)
    today = _kpis(demo, "2026Q2")        # rerun now, with Q3 data in the exports
    for service in ("network", "erp"):
        _same_report(gaps.build(params, then, q2, service),
                     gaps.build(params, today, q2, service))


def test_a_report_handed_later_periods_ignores_them(demo: Demo) -> None:
    params = demo[0]
    q2 = params.period("2026Q2")
    table = _kpis(demo, "2026Q2")
    later = _kpis(demo, "2026Q3").loc[lambda k: k["period_start"] > q2.end_time]
    assert not later.empty
    # Absurd later values: any that leaked into the report would change it.
    poisoned = pd.concat([table, later.assign(value=later["value"] * 0 + 1e6)],
                         ignore_index=True)
    ctx = gaps.build(params, poisoned, q2, "network")
    _same_report(ctx, gaps.build(params, table, q2, "network"))
    assert ctx.kpis["period_start"].max() <= q2.end_time


def test_triggers_csv_is_written_only_when_asked(demo: Demo,
                                                 tmp_path: Path) -> None:
    params = demo[0]
    ctx = gaps.build(params, _kpis(demo, "2026Q3"), params.period("2026Q3"), "network")
    assert gaps.write_triggers(ctx, "") is None
    path = gaps.write_triggers(ctx, tmp_path / "network")
    assert path == tmp_path / "network" / "triggers.csv"
    back = pd.read_csv(path)
    assert list(back.columns) == gaps.TRIGGER_COLUMNS
    assert len(back) == len(ctx.triggers) > 0


def test_charts_draw_every_kpi_and_mark_signals(demo: Demo) -> None:
    params = demo[0]
    ctx = gaps.build(params, _kpis(demo, "2026Q3"), params.period("2026Q3"), "network")
    charts = list(ctx.charts.values())[:4]
    fig = xmr_figure(charts)
    (ax,) = fig.axes                                 # one canvas for every panel
    lines = {line.get_gid(): line for line in ax.get_lines()}
    collections = {c.get_gid(): c for c in ax.collections}
    # Every KPI's title, and each of its monthly values once as a marker.
    titles = " ".join(t.get_text().replace("\n", " ") for t in ax.texts)
    for chart in charts:
        assert catalogue.get(chart.kpi).label in titles
    values = np.asarray(lines["values"].get_ydata(), dtype=float)
    assert (~np.isnan(values)).sum() == sum(c.points["value"].notna().sum() for c in charts)
    # A centre line per chart with limits, a dashed line per limit it has.
    limits = [c.limits for c in charts if c.limits is not None]
    assert len(collections["centre"].get_segments()) == len(limits)
    assert len(collections["limits"].get_segments()) == sum(
        (lim.ucl is not None) + (lim.lcl is not None) for lim in limits)
    # Rings on exactly the points that the "outside limits" signals cover.
    ringed = sum(len({i for s in c.signals.loc[c.signals["rule"] == OUTSIDE].itertuples()
                      for i in range(list(c.points["period"].astype(str)).index(s.start),
                                     list(c.points["period"].astype(str)).index(s.end) + 1)
                      if pd.notna(c.points["value"].iloc[i])}) for c in charts)
    assert ringed > 0
    assert (~np.isnan(np.asarray(lines[OUTSIDE].get_ydata(), dtype=float))).sum() == ringed
    bars = gap_figure(ctx.gaps, params.gaps.tolerance, ctx.label)
    assert len(bars.axes[0].patches) >= ctx.gaps["target"].notna().sum()


def test_a_control_chart_puts_each_value_at_its_height_on_the_tick_scale(demo: Demo) -> None:
    """A value read off the chart against its tick labels is the KPI's value."""
    params = demo[0]
    ctx = gaps.build(params, _kpis(demo, "2026Q3"), params.period("2026Q3"), "network")
    chart = ctx.charts["resolution_median_h"]
    fig = xmr_figure([chart])
    (ax,) = fig.axes
    ticks = [(t.get_position()[1], float(t.get_text().removesuffix(" h").replace(",", "")))
             for t in ax.texts if t.get_text().endswith(" h") and t.get_ha() == "right"]
    assert len(ticks) >= 2
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    ys = np.asarray(ax.get_lines()[0].get_ydata(), dtype=float)
    ys = ys[~np.isnan(ys)]
    read = v0 + (ys - y0) / (y1 - y0) * (v1 - v0)
    np.testing.assert_allclose(read, chart.points["value"].dropna().to_numpy(), rtol=1e-9)


def test_the_client_wide_watermelon_table_is_computed_once_per_content(
        demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    from csi_lib.gaps import context

    params = demo[0]
    period = params.period("2026Q3")
    kpis = _kpis(demo, "2026Q3")
    calls = []
    real = context.watermelon
    monkeypatch.setattr(context, "watermelon", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(context, "_WATERMELONS", {})
    first = gaps.build(params, kpis, period, "network")
    second = gaps.build(params, kpis, period, "email")
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first.watermelon, real(kpis, params, period))
    pd.testing.assert_frame_equal(second.watermelon, first.watermelon)
    second.watermelon.loc[0, "verdict"] = "changed by a notebook"     # each has its own copy
    assert gaps.build(params, kpis, period, "erp").watermelon.equals(first.watermelon)
    # Other figures are other content: computed afresh.
    changed = kpis.assign(value=kpis["value"] * 0.5)
    gaps.build(params, changed, period, "network")
    assert len(calls) == 2


def test_a_report_raises_the_reviews_the_client_wide_triggers_raise(demo: Demo) -> None:
    """The report hands its own control charts to the triggers: same reviews as fresh ones."""
    params = demo[0]
    period = params.period("2026Q3")
    ctx = gaps.build(params, _kpis(demo, "2026Q3"), period, "network")
    every = gaps.triggers(ctx.kpis, params, period)
    assert not ctx.triggers.empty
    pd.testing.assert_frame_equal(
        ctx.triggers, every.loc[every["service"] == "network"].reset_index(drop=True))


def test_charts_fit_inside_the_png_they_are_shown_as(demo: Demo) -> None:
    """Saved with a fixed margin, not cropped to their content: nothing may stick out,
    and the PNG is the PDF text width."""
    params = demo[0]
    ctx = gaps.build(params, _kpis(demo, "2026Q3"), params.period("2026Q3"), "network")
    charts = list(ctx.charts.values())
    pad = (plots.THEME.width_in - plots._FIG_W) / 2
    for fig in (xmr_figure(charts[:6]), xmr_figure(charts[6:9]), xmr_figure(charts[:1]),
                gap_figure(ctx.gaps, params.gaps.tolerance, ctx.label)):
        png = plots.figure_png(fig)
        assert abs(int.from_bytes(png[16:20], "big") - plots.THEME.width_in * plots.THEME.dpi) <= 1
        w, h = fig.get_size_inches()
        box = fig.get_tightbbox()
        assert -pad <= box.x0 and box.x1 <= w + pad
        assert -pad <= box.y0 and box.y1 <= h + pad
        # No text runs into another (titles, subtitles, tick labels of every panel).
        texts = [t for ax in fig.axes for t in ax.texts if t.get_text()]
        boxes = [t.get_window_extent() for t in texts]
        for i, box in enumerate(boxes):
            for j in range(i + 1, len(boxes)):
                assert not box.overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())


def test_a_client_with_almost_no_history_still_gets_a_report(tiny: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    """Four tickets in one quarter: no limits, no trend, no forecast; every section says so."""
    ctx = gaps.prepare(tiny, "2026Q3", "net", tmp_path / "outputs")
    assert all(chart.limits is None for chart in ctx.charts.values())
    f = ctx.forecasts.set_index("kpi")
    assert f.loc["sla_resolution", "outlook"] == "too little data"
    assert f.loc["backlog", "outlook"] == "no target"      # six month-ends of backlog: a fit
    assert ctx.gaps.set_index("kpi").loc["sla_resolution", "trend"] == "too little data"
    assert ctx.triggers.empty
    for show in (gaps.show_summary, gaps.show_gap_table, gaps.show_gap_chart,
                 gaps.show_triggers, gaps.show_signals, gaps.show_control_charts,
                 gaps.show_watermelon, gaps.show_forecast, gaps.show_targets,
                 gaps.show_history, gaps.show_method):
        show(ctx)
    out = capsys.readouterr().out
    assert "No improvement review is raised" in out
    assert "No control chart shows a signal" in out


def test_importing_the_package_stays_light() -> None:
    """csi_lib.params imports csi_lib.gaps: that must not pull in matplotlib."""
    code = "import sys, csi_lib.params, csi_lib.gaps; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
