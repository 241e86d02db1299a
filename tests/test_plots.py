"""Tests of csi_lib.plots: what each chart shows, and that it reads at the PDF's width."""

from __future__ import annotations

import base64
import io
import itertools

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from cycler import cycler
from matplotlib.collections import PathCollection
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from csi_lib import catalogue, plots
from csi_lib.errors import DataError, ParamsError

mpl.use("Agg")

MONTHS = ["2026-04", "2026-05", "2026-06", "2026-07"]
TZ_START = pd.Timestamp("2026-07-01", tz="UTC")
TZ_END = pd.Timestamp("2026-10-01", tz="UTC")


def _kpis(months: list[str] = MONTHS) -> pd.DataFrame:
    """A KPI long table: two services, monthly rows and one quarterly row per KPI."""
    values = {  # per service: value of month i = base + step * i
        "sla_resolution": (0.80, 0.03), "resolution_median_h": (20.0, -2.0),
        "volume": (100.0, 10.0), "backlog": (30.0, 5.0), "csat_mean": (3.9, 0.1),
        "fcr": (0.60, 0.02),
    }
    rows = []
    for service, offset in (("email", 0.0), ("network", 0.5)):
        for kpi, (base, step) in values.items():
            for i, month in enumerate(months):
                value = base * (1 + offset) + step * i
                if kpi.startswith(("sla", "fcr")):
                    value = min(value, 1.0)
                if kpi == "csat_mean":
                    value = min(value, 5.0)
                rows.append({"service": service, "freq": "M", "period": month,
                             "period_start": pd.Timestamp(f"{month}-01"), "kpi": kpi,
                             "value": value, "n": 50 + i})
            rows.append({"service": service, "freq": "Q", "period": "2026Q2",
                         "period_start": pd.Timestamp("2026-04-01"), "kpi": kpi,
                         "value": base * (1 + offset) * 0.5, "n": 150})
    return pd.DataFrame(rows)


def _tickets() -> pd.DataFrame:
    """Tickets of two services; durations in hours chosen so the expected numbers are plain."""
    spec = [  # service, priority, hours to resolve, resolved at (days after 1 Jul)
        ("email", "P1", 2.0, 1), ("email", "P1", 6.0, 2), ("email", "P2", 10.0, 3),
        ("email", "P2", 30.0, 40), ("email", "P3", 0.0, 50), ("email", "P3", 80.0, 91),
        ("email", "P4", 50.0, -1),       # resolved before the period
        ("email", "P4", 60.0, 92),       # resolved exactly at the period end: excluded
        ("network", "P1", 500.0, 5), ("network", "P2", 700.0, 6),
    ]
    rows = []
    for i, (service, prio, hours, day) in enumerate(spec):
        resolved = TZ_START + pd.Timedelta(days=day)
        rows.append({"ticket_id": f"T{i}", "service": service, "priority": prio,
                     "opened_at": resolved - pd.Timedelta(hours=hours),
                     "resolved_at": resolved, "record_type": "incident"})
    rows.append({"ticket_id": "OPEN", "service": "email", "priority": "P1",
                 "opened_at": TZ_START, "resolved_at": pd.NaT, "record_type": "incident"})
    frame = pd.DataFrame(rows)
    frame["resolved_at"] = pd.to_datetime(frame["resolved_at"], utc=True)
    return frame


def _series_line(ax) -> Line2D:
    return next(line for line in ax.get_lines() if line.get_gid() == "value")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _ticklabels(ax, axis: str = "y") -> list[str]:
    ax.figure.draw_without_rendering()
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels if t.get_text()]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


# ---------------------------------------------------------------- kpi_trends


@pytest.mark.parametrize("ids", [["fcr"], ["sla_resolution", "backlog"],
                                 ["sla_resolution", "resolution_median_h", "backlog", "fcr",
                                  "csat_mean"]])
def test_trends_one_panel_per_kpi_titled_with_its_label(ids):
    fig = plots.kpi_trends(_kpis(), "email", ids)
    assert len(fig.axes) == len(ids)
    titles = [" ".join(ax.get_title(loc="left").split()) for ax in fig.axes]
    assert titles == [catalogue.get(k).label for k in ids]


def test_trends_say_which_way_is_better():
    fig = plots.kpi_trends(_kpis(), "email", ["sla_resolution", "backlog", "volume"])
    texts = _texts(fig)
    assert "↑ higher is better" in texts
    assert "↓ lower is better" in texts
    assert texts.count("↑ higher is better") + texts.count("↓ lower is better") == 2


def test_trends_draw_the_target_line_at_the_target():
    fig = plots.kpi_trends(_kpis(), "email", ["sla_resolution", "backlog"],
                           targets={"sla_resolution": 0.9, "csat_mean": 4.2})
    sla, backlog = fig.axes
    flat = [line for line in sla.get_lines() if np.all(np.asarray(line.get_ydata()) == 0.9)]
    assert len(flat) == 1
    assert flat[0].get_linestyle() == "--"
    assert "target 90%" in [t.get_text() for t in sla.texts]
    assert not [line for line in backlog.get_lines() if line.get_gid() == "target"]


def test_trends_plot_only_the_requested_service_and_freq():
    kpis = _kpis()
    fig = plots.kpi_trends(kpis, "network", ["resolution_median_h"])
    line = _series_line(fig.axes[0])
    want = kpis.query("service == 'network' and freq == 'M' and kpi == 'resolution_median_h'")
    np.testing.assert_allclose(line.get_ydata(), want["value"])
    assert len(line.get_xdata()) == len(MONTHS)

    quarterly = plots.kpi_trends(kpis, "network", ["resolution_median_h"], freq="Q")
    np.testing.assert_allclose(_series_line(quarterly.axes[0]).get_ydata(), [15.0])


def test_trends_sort_periods_whatever_the_row_order():
    kpis = _kpis().sample(frac=1, random_state=1)
    line = _series_line(plots.kpi_trends(kpis, "email", ["volume"]).axes[0])
    np.testing.assert_allclose(line.get_ydata(), [100, 110, 120, 130])


def test_trends_format_the_y_axis_by_unit():
    fig = plots.kpi_trends(_kpis(), "email",
                           ["sla_resolution", "resolution_median_h", "volume", "csat_mean"])
    share, hours, count, score = fig.axes
    assert all(label.endswith("%") for label in _ticklabels(share))
    assert all(label.endswith(" h") for label in _ticklabels(hours))
    assert all(label.replace(",", "").isdigit() for label in _ticklabels(count))
    assert _ticklabels(score) == ["1", "2", "3", "4", "5"]


def test_trends_label_months_briefly():
    fig = plots.kpi_trends(_kpis(), "email", ["fcr"])
    assert _ticklabels(fig.axes[0], "x")[-1] == "Jul 26"


def test_trends_show_no_data_instead_of_failing():
    kpis = _kpis()
    kpis = kpis.assign(value=kpis["value"].where(kpis["kpi"] != "fcr"))
    fig = plots.kpi_trends(kpis, "email", ["fcr", "volume"])
    assert "no data" in [t.get_text() for t in fig.axes[0].texts]
    assert "no data" not in [t.get_text() for t in fig.axes[1].texts]

    unknown = plots.kpi_trends(kpis, "no-such-service", ["fcr", "volume"])
    assert [t.get_text() for t in unknown.findobj(Text)].count("no data") == 2


def test_trends_draw_counts_of_zero_as_zero():
    kpis = _kpis()
    volume = (kpis["kpi"] == "volume") & (kpis["period"] == "2026-05")
    kpis = kpis.assign(value=kpis["value"].mask(volume), n=kpis["n"].mask(volume, 0))
    zero_backlog = kpis["kpi"] == "backlog"
    kpis = kpis.assign(value=kpis["value"].mask(zero_backlog, 0.0),
                       n=kpis["n"].mask(zero_backlog, 0))
    fig = plots.kpi_trends(kpis, "email", ["volume", "backlog"])
    np.testing.assert_allclose(_series_line(fig.axes[0]).get_ydata(), [100, 0, 120, 130])
    np.testing.assert_allclose(_series_line(fig.axes[1]).get_ydata(), [0, 0, 0, 0])


def test_trends_shade_the_highlighted_months():
    quarter = pd.Period("2026Q3", "Q-DEC")
    fig = plots.kpi_trends(_kpis(), "email", ["fcr"],
                           highlight=(quarter.start_time, quarter.end_time))
    (band,) = fig.axes[0].patches
    x0, x1 = band.get_x(), band.get_x() + band.get_width()
    july = date2num(pd.Timestamp("2026-07-01"))
    june = date2num(pd.Timestamp("2026-06-01"))
    assert x0 < july < x1
    assert not x0 < june < x1


def test_trends_reject_bad_arguments_with_the_fix():
    with pytest.raises(ParamsError, match=r"unknown KPI 'mttr'.*Known KPIs: volume"):
        plots.kpi_trends(_kpis(), "email", ["mttr"])
    with pytest.raises(ParamsError, match=r"freq must be 'M'.*got 'W'"):
        plots.kpi_trends(_kpis(), "email", ["fcr"], freq="W")
    with pytest.raises(ParamsError, match="each KPI once"):
        plots.kpi_trends(_kpis(), "email", [])
    with pytest.raises(DataError, match=r"no column\(s\) \['n'\]"):
        plots.kpi_trends(_kpis().drop(columns="n"), "email", ["fcr"])
    doubled = pd.concat([_kpis(), _kpis().head(1)])
    with pytest.raises(DataError, match="one row for each"):
        plots.kpi_trends(doubled, "email", ["fcr"])


# ---------------------------------------------------------------- resolution_distribution


def test_distribution_plots_the_service_tickets_resolved_in_the_period():
    fig = plots.resolution_distribution(_tickets(), "email", TZ_START, TZ_END)
    (ax,) = fig.axes
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    hours = sorted(x for c in dots for x in c.get_offsets()[:, 0])
    # 0 h sits at the one-minute floor of the log axis; -1 day and the end are outside.
    np.testing.assert_allclose(hours, [1 / 60, 2, 6, 10, 30, 80])
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "P1\n2 tickets", "P2\n2 tickets", "P3\n2 tickets"]


def test_distribution_marks_targets_and_writes_median_and_p90():
    fig = plots.resolution_distribution(_tickets(), "email", TZ_START, TZ_END,
                                        targets_h={"P1": 4, "P2": 8, "P3": 72, "P4": 120})
    (ax,) = fig.axes
    for hours in (4, 8, 72, 120):
        assert [line for line in ax.get_lines()
                if np.all(np.asarray(line.get_xdata()) == hours)], hours
    texts = [t.get_text() for t in ax.texts]
    assert "median 4 h\nP90 5.6 h\ntarget 4 h" in texts        # P1: 2 h and 6 h
    assert "median 20 h\nP90 28 h\ntarget 8 h" in texts        # P2: 10 h and 30 h
    assert "none resolved\ntarget 5 d" in texts                  # P4 has a target only


def test_distribution_says_so_when_nothing_was_resolved():
    fig = plots.resolution_distribution(_tickets(), "hr-portal", TZ_START, TZ_END)
    assert any("no tickets resolved in this period" in t.lower() for t in _texts(fig))
    assert fig.axes, "IPython displays nothing for a figure without axes"


def test_distribution_needs_tz_aware_bounds():
    with pytest.raises(ParamsError, match="tz-aware"):
        plots.resolution_distribution(_tickets(), "email", pd.Timestamp("2026-07-01"), TZ_END)


def test_distribution_dates_are_the_local_days_of_utc_bounds():
    start = pd.Timestamp("2026-07-01", tz="Europe/London").tz_convert("UTC")
    end = pd.Timestamp("2026-10-01", tz="Europe/London").tz_convert("UTC")
    fig = plots.resolution_distribution(_tickets(), "email", start, end)
    assert any("1 Jul 2026 – 30 Sep 2026" in t for t in _texts(fig))


# ---------------------------------------------------------------- backlog_chart


def test_backlog_shows_opened_resolved_and_backlog_of_the_service():
    kpis = _kpis()
    fig = plots.backlog_chart(kpis, "email")
    top, bottom = fig.axes
    bars = {c.get_label(): [p.get_height() for p in c] for c in top.containers}
    assert bars == {"opened": [50, 51, 52, 53],               # n of "volume"
                    "resolved": [50, 51, 52, 53]}             # n of "resolution_median_h"
    (line,) = [ln for ln in bottom.get_lines() if ln.get_gid() == "backlog"]
    np.testing.assert_allclose(line.get_ydata(), [30, 35, 40, 45])
    assert "tickets per month" in top.get_ylabel()


def test_backlog_says_so_when_the_service_has_no_tickets():
    fig = plots.backlog_chart(_kpis(), "hr-portal")
    assert "No tickets for this service in these periods" in _texts(fig)


# ---------------------------------------------------------------- every chart


def _every_chart(kpis: pd.DataFrame, tickets: pd.DataFrame) -> list[Figure]:
    return [
        plots.kpi_trends(kpis, "email", ["sla_resolution", "backlog"], targets={"fcr": 0.7}),
        plots.resolution_distribution(tickets, "email", TZ_START, TZ_END, targets_h={"P1": 4}),
        plots.resolution_distribution(tickets, "nobody", TZ_START, TZ_END),
        plots.backlog_chart(kpis, "email"),
        plots.backlog_chart(kpis, "nobody"),
    ]


def test_charts_do_not_change_their_inputs():
    kpis, tickets = _kpis(), _tickets()
    before_k, before_t = kpis.copy(deep=True), tickets.copy(deep=True)
    _every_chart(kpis, tickets)
    pd.testing.assert_frame_equal(kpis, before_k)
    pd.testing.assert_frame_equal(tickets, before_t)


def test_charts_leave_no_figure_open_in_pyplot():
    before = plt.get_fignums()
    figs = _every_chart(_kpis(), _tickets())
    assert plt.get_fignums() == before
    assert all(isinstance(f, Figure) for f in figs)


def test_charts_are_pngs_as_wide_as_the_pdf_text():
    for fig in _every_chart(_kpis(), _tickets()):
        png = plots.figure_png(fig)                     # as the reports show it
        assert png.startswith(b"\x89PNG")
        width_px = int.from_bytes(png[16:20], "big")     # IHDR width
        assert abs(width_px - plots.THEME.width_in * plots.THEME.dpi) <= 1


def test_chart_content_fits_inside_the_png():
    # Saved with a fixed margin, not cropped to the content: nothing may stick out.
    pad = (plots.THEME.width_in - plots._FIG_W) / 2
    for fig in _every_chart(_kpis(), _tickets()):
        w, h = fig.get_size_inches()
        plots.figure_png(fig)                       # lays the figure out
        box = fig.get_tightbbox()
        assert box.x0 >= -pad and box.y0 >= -pad, fig.axes[0].get_title(loc="left")
        assert box.x1 <= w + pad and box.y1 <= h + pad, fig.axes[0].get_title(loc="left")


def test_show_figure_displays_one_png_drawn_once(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, raw=False, metadata=None: shown.append((obj, raw, metadata)))
    fig = plots.backlog_chart(_kpis(), "email")
    draws = []
    original = fig.draw
    monkeypatch.setattr(fig, "draw", lambda renderer: (draws.append(1), original(renderer)))
    plots.show_figure(fig)
    plots.show_figure(fig, alt="Bars of tickets opened and resolved")
    assert len(draws) == 2                      # one draw per display, no measuring draw
    (first, raw, meta), (_, _, alt_meta) = shown
    assert raw and meta is None
    assert base64.b64decode(first["image/png"]) == plots.figure_png(fig)
    assert first["text/plain"].startswith("<Figure size")
    assert alt_meta == {"image/png": {"alt": "Bars of tickets opened and resolved"}}


def test_charts_look_the_same_whatever_the_global_style():
    kpis, tickets = _kpis(), _tickets()
    odd_style = {"font.size": 20, "xtick.labelsize": 20, "ytick.labelsize": 3,
                 "xtick.color": "red", "grid.color": "red", "lines.linewidth": 5,
                 "axes.prop_cycle": cycler(color=["k"]), "xtick.minor.visible": True,
                 "axes.labelpad": 20, "lines.markersize": 20, "date.converter": "concise"}
    with mpl.rc_context(odd_style):
        odd = [_png(f) for f in _every_chart(kpis, tickets)]
    with mpl.rc_context():
        plots.set_theme()
        plots.set_theme()                # idempotent
        themed = [_png(f) for f in _every_chart(kpis, tickets)]
    assert odd == themed


def test_set_theme_is_idempotent():
    with mpl.rc_context():
        plots.set_theme()
        first = dict(mpl.rcParams)
        plots.set_theme()
        assert dict(mpl.rcParams) == first
        assert mpl.rcParams["figure.dpi"] == plots.THEME.dpi


def test_long_series_keep_labels_apart_and_titles_inside():
    months = [str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")]
    ids = ["sla_resolution", "resolution_median_h", "backlog", "fcr", "volume", "csat_mean"]
    fig = plots.kpi_trends(_kpis(months), "email", ids, targets={"fcr": 0.7})
    fig.draw_without_rendering()
    page = fig.bbox
    for ax in fig.axes:
        boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) >= 2
        for a, b in itertools.pairwise(boxes):
            assert a.x1 < b.x0, "x tick labels overlap"
        title = ax.get_title(loc="left")
        (text,) = [t for t in ax.findobj(Text) if t.get_text() == title]
        assert text.get_window_extent().x1 <= page.x1, f"{title!r} runs off the figure"
