"""Charts of the gap report: distance to target, and XmR control charts.

They follow :mod:`csi_lib.plots`: the kit's theme applied inside the chart,
6.7 in wide, bare Figures never registered with pyplot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from csi_lib import catalogue
from csi_lib.kpis.spc import OUTSIDE, SHIFT, TREND, ControlChart
from csi_lib.plots import (
    _FIG_W,
    THEME,
    _figure,
    _fmt_value,
    _period_axis,
    _themed,
    _title,
    _widest,
)

__all__ = ["RAG_COLOURS", "gap_figure", "xmr_figure"]

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
    names = [catalogue.get(k).label for k in rows["kpi"]]
    with _themed():
        fig = _figure(0.9 + 0.3 * max(len(rows), 1))
        ax = fig.add_subplot()
        # The title starts where the axes do, right of the KPI names.
        _title(ax, f"Distance to target, {label}",
               f"relative to the target; bars to the left fall short. Shaded: the "
               f"{tolerance:.0%} tolerance band, where a miss is amber",
               _FIG_W - 0.3 - _widest(names, mpl.rcParams["ytick.labelsize"]))
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
        ax.set_yticks(y, labels=names)
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


def _draw_chart(top: Axes, bottom: Axes, chart: ControlChart) -> tuple[str, str]:
    """Draw one KPI's charts; returns its title and subtitle, set once the layout is known."""
    kpi = catalogue.get(chart.kpi)
    pts, lim = chart.points, chart.limits
    starts = pd.DatetimeIndex(pts["period_start"])
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
    return kpi.label, sub


def _period_ticks(top: Axes, bottom: Axes, chart: ControlChart, axes_w: float) -> None:
    starts = pd.DatetimeIndex(chart.points["period_start"])
    labels = [f"{s:%b %y}" for s in starts]
    for ax in (top, bottom):
        _period_axis(ax, starts, labels, "M", axes_w)
    top.tick_params(labelbottom=False)


def _tick_labels_in(ax: Axes) -> float:
    """Width of the y tick labels ``ax`` will draw, from its locator, formatter and limits."""
    lo, hi = ax.get_ylim()
    ticks = [v for v in ax.yaxis.get_major_locator().tick_values(lo, hi)
             if min(lo, hi) - 1e-9 <= v <= max(lo, hi) + 1e-9]
    labels = ax.yaxis.get_major_formatter().format_ticks(ticks)
    return _widest(labels, mpl.rcParams["ytick.labelsize"])


# Hand layout of the XmR figure, in inches: constrained layout would cost about as
# much as drawing the figure, for a grid whose parts all have known sizes.
_XMR_TOP = 1.15         # individuals chart
_XMR_GAP = 0.08         # between it and the moving-range chart
_XMR_MR = 0.55          # moving-range chart
_XMR_TICKS = 0.28       # month labels under it
_XMR_ROW_GAP = 0.12
_XMR_RIGHT = 0.34       # limit labels (UCL, CL, LCL) right of the axes
_XMR_EDGE = 0.04        # white at the figure's edges
_XMR_LEGEND = 0.42      # two rows of legend entries


def xmr_figure(charts: Sequence[ControlChart]) -> Figure:
    """Individuals (top) and moving-range (bottom) charts of each KPI, two per row.

    Signals of the run rules ring the points they cover; the light-blue band is
    the baseline the limits come from and the grey band the quarter under review.
    """
    n = len(charts)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    col_w = _FIG_W / ncols
    with _themed():
        fig = Figure(figsize=(_FIG_W, 1.0), dpi=THEME.dpi)
        pairs, titles = [], []
        for chart in charts:
            top = fig.add_axes((0, 0, 1, 1))
            bottom = fig.add_axes((0, 0, 1, 1), sharex=top)
            pairs.append((top, bottom))
            titles.append(_draw_chart(top, bottom, chart))
        # Left margin of each column: its widest y tick labels, and the mR axis label.
        rc = mpl.rcParams
        tick_pad = (rc["ytick.major.pad"] + rc["ytick.major.size"] * rc["ytick.left"]) / 72
        mr_label = (2 * 1.2 * THEME.note_pt + rc["axes.labelpad"]) / 72
        left = [_XMR_EDGE + tick_pad + 0.04 + max(
            (max(_tick_labels_in(t), _tick_labels_in(b) + mr_label)
             for i, (t, b) in enumerate(pairs) if i % ncols == c), default=0.0)
            for c in range(ncols)]
        axes_w = [col_w - left[c] - _XMR_RIGHT for c in range(ncols)]
        # Titles wrap to their column (they may run over the limit labels), then
        # each row is as tall as its tallest title.
        heads = [0.0] * nrows
        for i, ((top, bottom), chart, (title, sub)) in enumerate(
                zip(pairs, charts, titles, strict=True)):
            r, c = divmod(i, ncols)
            _period_ticks(top, bottom, chart, axes_w[c])
            size = THEME.title_pt - 1
            _title(top, title, sub, col_w - left[c] - 0.05, size)
            text_pt = top.title.get_text().count("\n") * 1.2 * size + size
            heads[r] = max(heads[r], (top.titleOffsetTrans.get_matrix()[1, 2] * 72 / fig.dpi
                                      + text_pt + 2) / 72)
        row_h = _XMR_TOP + _XMR_GAP + _XMR_MR + _XMR_TICKS + _XMR_ROW_GAP
        height = _XMR_EDGE + sum(heads) + nrows * row_h + _XMR_LEGEND
        fig.set_size_inches(_FIG_W, height)
        y = height - _XMR_EDGE
        for r in range(nrows):
            y -= heads[r]
            for c in range(ncols):
                i = r * ncols + c
                if i >= n:
                    break
                top, bottom = pairs[i]
                x0 = c * col_w + left[c]
                top.set_position(_frac((x0, y - _XMR_TOP, axes_w[c], _XMR_TOP), height))
                bottom.set_position(_frac((x0, y - _XMR_TOP - _XMR_GAP - _XMR_MR, axes_w[c],
                                           _XMR_MR), height))
            y -= row_h
        handles = [Line2D([], [], ls="none", marker=s["marker"], ms=6, mfc="none",
                          mec=s["color"], mew=1.6, label=s["label"])
                   for s in reversed(_SIGNAL_STYLE.values())]
        handles += [Patch(color=_BASELINE, label="baseline for the limits"),
                    Patch(color=THEME.highlight, label="quarter under review")]
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0), ncols=3,
                   fontsize=THEME.note_pt, handlelength=1.4, columnspacing=1.2,
                   borderaxespad=0.2)
        return fig


def _frac(box: tuple[float, float, float, float], height: float) -> tuple[float, ...]:
    """A box in inches (x, y, width, height) as fractions of a figure _FIG_W wide."""
    x, y, w, h = box
    return (x / _FIG_W, y / height, w / _FIG_W, h / height)
