"""Charts of the gap report: distance to target, and XmR control charts.

They follow :mod:`csi_lib.plots`: the kit's theme applied inside the chart,
6.7 in wide, bare Figures never registered with pyplot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from csi_lib import catalogue
from csi_lib.kpis.spc import OUTSIDE, SHIFT, TREND, ControlChart
from csi_lib.plots import THEME, _figure, _fmt_value, _period_axis, _themed, _title

__all__ = ["RAG_COLOURS", "gap_figure", "xmr_figure"]

_FIG_W = THEME.width_in - 0.12   # as csi_lib.plots: saved with 0.06 in padding each side
# Okabe-Ito green, orange and vermillion: told apart with colour-vision deficiencies.
RAG_COLOURS = {"green": "#009E73", "amber": "#E69F00", "red": "#D55E00"}
# Signal markers, drawn in this order so that "outside limits" lies on top.
_SIGNAL_STYLE = {
    TREND: {"marker": "^", "color": THEME.palette[3], "ms": 8.5, "label": "6 rising or falling"},
    SHIFT: {"marker": "s", "color": THEME.palette[1], "ms": 7.5, "label": "8 on one side"},
    OUTSIDE: {"marker": "o", "color": THEME.target, "ms": 7.5, "label": "outside the limits"},
}
_BASELINE = "#DCEAF5"             # light blue behind the baseline months


# ---------------------------------------------------------------- distance to target


def gap_figure(gaps: pd.DataFrame, tolerance: float, label: str) -> Figure:
    """Each KPI with a target as a bar of its distance to target, right = better.

    ``gaps`` is :func:`csi_lib.gaps.gap_table` output. The distance is relative to
    the target (``gap_rel``) signed by the KPI's direction; the shaded band is the
    tolerance inside which a miss is amber.
    """
    rows = gaps.loc[gaps["target"].notna() & gaps["value"].notna()]
    with _themed():
        fig = _figure(0.9 + 0.3 * max(len(rows), 1))
        ax = fig.add_subplot()
        _title(ax, f"Distance to target, {label}",
               f"relative to the target; bars to the left fall short. Shaded: the "
               f"{tolerance:.0%} tolerance band, where a miss is amber", _FIG_W - 0.3)
        if rows.empty:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "No KPI of this service has a target", ha="center",
                    va="center", transform=ax.transAxes, color=THEME.muted)
            return fig
        sign = np.where([catalogue.get(k).direction == "higher" for k in rows["kpi"]], 1, -1)
        better = sign * rows["gap_rel"].to_numpy(dtype=float)
        y = np.arange(len(rows))
        colours = [RAG_COLOURS[s] for s in rows["status"]]
        ax.axvspan(-tolerance, 0, color=RAG_COLOURS["amber"], alpha=0.15, lw=0, zorder=0)
        ax.barh(y, better, color=colours, height=0.6, zorder=2)
        ax.axvline(0, color=THEME.ink, lw=1, zorder=3)
        # Each label sits across the target line from its bar, so it never meets the
        # KPI names; that side gets room for it.
        lo, hi = min(float(better.min()), -tolerance), max(float(better.max()), 0.0)
        room = 0.55 * max(-lo, hi, 0.05)
        ax.set_xlim(min(lo * 1.08, -room if (better > 0).any() else lo * 1.08),
                    max(hi * 1.08, room if (better <= 0).any() else hi * 1.08))
        for yi, b, (_, r) in zip(y, better, rows.iterrows(), strict=True):
            kpi = catalogue.get(r["kpi"])
            text = f"{kpi.format(r['value'])} vs {kpi.format(r['target'])}"
            ax.annotate(text, xy=(0, yi), xytext=(-5 if b > 0 else 5, 0),
                        textcoords="offset points", va="center",
                        ha="right" if b > 0 else "left", fontsize=THEME.note_pt,
                        color=THEME.ink)
        ax.set_yticks(y, labels=[catalogue.get(k).label for k in rows["kpi"]])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.grid(visible=False, axis="y")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+.0%}" if v else "target"))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        handles = [Patch(color=c, label=s) for s, c in RAG_COLOURS.items()]
        fig.legend(handles=handles, loc="outside lower center", ncols=3,
                   fontsize=THEME.note_pt)
        return fig


# ---------------------------------------------------------------- XmR charts


def _value_axis(ax: Axes, unit: str) -> None:
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    if unit == "share":
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    elif unit == "hours":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g} h"))
    elif unit == "count":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.1f}"))


def _limit_label(ax: Axes, y: float, text: str) -> None:
    ax.annotate(text, xy=(1, y), xycoords=("axes fraction", "data"), xytext=(3, 0),
                textcoords="offset points", va="center", ha="left", fontsize=THEME.note_pt - 0.5,
                color=THEME.muted)


def _band(ax: Axes, starts: pd.DatetimeIndex, mask: np.ndarray, colour: str) -> None:
    if mask.any():
        inside = starts[mask]
        half = pd.Timedelta(days=15)
        ax.axvspan(inside[0] - half, inside[-1] + half, color=colour, lw=0, zorder=0)


def _draw_chart(top: Axes, bottom: Axes, chart: ControlChart, axes_w: float) -> None:
    kpi = catalogue.get(chart.kpi)
    pts, lim = chart.points, chart.limits
    starts = pd.DatetimeIndex(pts["period_start"])
    labels = [f"{s:%b %y}" for s in starts]
    if lim is None:
        sub = chart.note
    else:
        if lim.lcl is not None and lim.ucl is not None:
            limits = f"limits {_fmt_value(kpi.unit, lim.lcl)} – {_fmt_value(kpi.unit, lim.ucl)}"
        elif lim.lcl is not None:
            limits = f"lower limit {_fmt_value(kpi.unit, lim.lcl)}"
        elif lim.ucl is not None:
            limits = f"upper limit {_fmt_value(kpi.unit, lim.ucl)}"
        else:
            limits = "limits beyond the KPI's range"
        sub = f"centre {_fmt_value(kpi.unit, lim.centre)}, {limits}; {lim.n} baseline months"
    # The title may run over the limit labels right of the axes.
    _title(top, kpi.label, sub, axes_w + 0.5, THEME.title_pt - 1)
    base = pts["baseline"].to_numpy(dtype=bool)
    quarter = pts["in_quarter"].to_numpy(dtype=bool)
    for ax in (top, bottom):
        _band(ax, starts, base, _BASELINE)
        _band(ax, starts, quarter, THEME.highlight)
    values = pts["value"].to_numpy(dtype=float)
    ok = ~np.isnan(values)
    if not ok.any():
        top.text(0.5, 0.5, "no data", transform=top.transAxes, ha="center", color=THEME.muted)
    top.plot(starts[ok], values[ok], marker="o", ms=3.5, lw=1.3, color=THEME.palette[0],
             zorder=3, gid="values")
    bottom.plot(starts, pts["moving_range"].to_numpy(dtype=float), marker="o", ms=2.5, lw=1,
                color=THEME.palette[0], zorder=3, gid="moving_range")
    if lim is not None:
        top.axhline(lim.centre, color=THEME.ink, lw=1, zorder=2, gid="centre")
        for value, name in ((lim.ucl, "UCL"), (lim.lcl, "LCL")):
            if value is not None:
                top.axhline(value, color=THEME.ink, lw=0.9, ls=(0, (4, 2)), zorder=2, gid=name)
                _limit_label(top, value, name)
        _limit_label(top, lim.centre, "CL")
        bottom.axhline(lim.mr_mean, color=THEME.ink, lw=0.8, zorder=2)
        bottom.axhline(lim.mr_ucl, color=THEME.ink, lw=0.8, ls=(0, (4, 2)), zorder=2)
        _limit_label(bottom, lim.mr_ucl, "UCL")
    by_label = dict(zip(pts["period"].astype(str), range(len(pts)), strict=True))
    for rule, style in _SIGNAL_STYLE.items():
        sig = chart.signals.loc[chart.signals["rule"] == rule]
        idx = sorted({i for s in sig.itertuples()
                      for i in range(by_label[s.start], by_label[s.end] + 1) if ok[i]})
        if idx:
            top.plot(starts[idx], values[idx], ls="none", marker=style["marker"],
                     ms=style["ms"], mfc="none", mec=style["color"], mew=1.6, zorder=4,
                     gid=rule)
    _value_axis(top, kpi.unit)
    _value_axis(bottom, "count" if kpi.unit == "count" else kpi.unit)
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("moving\nrange", fontsize=THEME.note_pt)
    top.tick_params(labelbottom=False)
    for ax in (top, bottom):
        _period_axis(ax, starts, labels, "M", axes_w)
    top.tick_params(labelbottom=False)


def xmr_figure(charts: Sequence[ControlChart]) -> Figure:
    """Individuals (top) and moving-range (bottom) charts of each KPI, two per row.

    Signals of the run rules ring the points they cover; the light-blue band is
    the baseline the limits come from and the grey band the quarter under review.
    """
    n = len(charts)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    axes_w = _FIG_W / ncols - 0.9
    with _themed():
        fig = _figure(0.5 + 2.6 * nrows)
        grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[2.1, 1] * nrows)
        for i, chart in enumerate(charts):
            r, c = divmod(i, ncols)
            top = fig.add_subplot(grid[2 * r, c])
            bottom = fig.add_subplot(grid[2 * r + 1, c], sharex=top)
            _draw_chart(top, bottom, chart, axes_w)
        handles = [Line2D([], [], ls="none", marker=s["marker"], ms=6, mfc="none",
                          mec=s["color"], mew=1.6, label=s["label"])
                   for s in reversed(_SIGNAL_STYLE.values())]
        handles += [Patch(color=_BASELINE, label="baseline for the limits"),
                    Patch(color=THEME.highlight, label="quarter under review")]
        fig.legend(handles=handles, loc="outside lower center", ncols=3,
                   fontsize=THEME.note_pt, handlelength=1.4, columnspacing=1.2)
        return fig
