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
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from csi_lib import catalogue
from csi_lib.kpis.spc import OUTSIDE, SHIFT, TREND, ControlChart
from csi_lib.plots import (
    _FIG_W,
    THEME,
    _decimals,
    _figure,
    _fmt_value,
    _labelled,
    _themed,
    _title,
    _widest,
    _wrap,
)
from csi_lib.plots.panels import GRID, Canvas, Panel

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
#
# Small multiples on one canvas (csi_lib.plots.panels): every KPI's individuals
# chart in a grid of three, all on one time axis, laid out by hand in inches.


_XMR_COLS = 3
_XMR_PLOT = 0.95        # height of a panel's plot area
_XMR_TICKS = 0.2        # month labels under it
_XMR_ROW_GAP = 0.14
_XMR_GUTTER = 0.16      # white between a panel and the next column's tick labels
_XMR_EDGE = 0.04        # white at the figure's edges
_XMR_LEGEND = 0.4       # two rows of legend entries
_TICK_PAD = 0.04        # between tick labels and the plot area
_PAD = 0.07             # share of a panel's value range left free above and below


def _value_text(unit: str, v: float, step: float) -> str:
    """A value-axis tick label in the KPI's unit, as precise as the ticks' ``step``."""
    if unit == "share":
        return f"{v * 100:.{_decimals(step * 100)}f}%"
    if unit == "hours":
        return f"{v:,g} h"
    if unit == "count":
        return f"{v:,.0f}"
    return f"{v:.1f}"


def _subtitle(chart: ControlChart, unit: str, months: int | None) -> str:
    """Centre line and limits; the baseline's length where it is not ``months``."""
    lim = chart.limits
    if lim is None:
        return chart.note
    if lim.lcl is not None and lim.ucl is not None:
        limits = f"limits {_fmt_value(unit, lim.lcl)} – {_fmt_value(unit, lim.ucl)}"
    elif lim.lcl is not None:
        limits = f"lower limit {_fmt_value(unit, lim.lcl)}"
    elif lim.ucl is not None:
        limits = f"upper limit {_fmt_value(unit, lim.ucl)}"
    else:
        limits = "limits beyond the KPI's range"
    other = f"; {lim.n} baseline months" if lim.n != months else ""
    return f"centre {_fmt_value(unit, lim.centre)}, {limits}{other}"


def _value_range(chart: ControlChart, unit: str) -> tuple[float, float, list[float]]:
    """The panel's value range and its tick values: the data and the limits, padded."""
    lim = chart.limits
    values = chart.points["value"].to_numpy(dtype=float)
    seen = list(values[~np.isnan(values)])
    if lim is not None:
        seen += [v for v in (lim.centre, lim.ucl, lim.lcl) if v is not None]
    lo, hi = (min(seen), max(seen)) if seen else (0.0, 1.0)
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.2
    lo, hi = lo - _PAD * span, hi + _PAD * span
    if unit in ("share", "hours", "count"):
        lo = max(lo, 0.0)
    if unit == "share":
        hi = min(hi, 1.0 + _PAD * span)
    ticks = [float(t) for t in MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
             if lo - 1e-12 <= t <= hi + 1e-12]
    return lo, hi, ticks


def xmr_figure(charts: Sequence[ControlChart]) -> Figure:
    """The individuals (X) chart of each KPI, three to a row, on one time axis.

    The limits come from the moving ranges (:mod:`csi_lib.kpis.spc`); signals of
    the run rules ring the points they cover; the light-blue band is the
    baseline the limits come from and the grey band the quarter under review.
    """
    n = len(charts)
    ncols = min(_XMR_COLS, max(n, 1))
    nrows = math.ceil(n / ncols)
    col_w = _FIG_W / ncols
    months = sorted({(p, s) for c in charts
                     for p, s in zip(c.points["period"].astype(str), c.points["period_start"],
                                     strict=True)}, key=lambda m: m[1])
    at = {p: i for i, (p, _) in enumerate(months)}
    labels = [f"{pd.Timestamp(s):%b %y}" for _, s in months]
    kpis = [catalogue.get(c.kpi) for c in charts]
    ranges = [_value_range(c, k.unit) for c, k in zip(charts, kpis, strict=True)]
    tick_text = [[_value_text(k.unit, t, r[2][1] - r[2][0] if len(r[2]) > 1 else 1.0)
                  for t in r[2]] for k, r in zip(kpis, ranges, strict=True)]
    tick_pt = THEME.note_pt
    # Each column's plot areas start right of its widest tick labels, so they line up.
    left = [max((_widest(tick_text[i], tick_pt) for i in range(c, n, ncols)), default=0.0)
            + _TICK_PAD for c in range(ncols)]
    plot_w = [col_w - left[c] - _XMR_GUTTER for c in range(ncols)]
    title_pt, sub_pt = THEME.title_pt - 1.5, THEME.note_pt - 0.5
    # The baseline length most charts share is said once, in the legend.
    lengths = [c.limits.n for c in charts if c.limits is not None]
    months_n = max(set(lengths), key=lengths.count) if lengths else None
    heads, titles = [0.0] * nrows, []
    for i, (chart, kpi) in enumerate(zip(charts, kpis, strict=True)):
        r, c = divmod(i, ncols)
        title = _wrap(kpi.label, col_w - 0.1, title_pt, bold=True)
        sub = _wrap(_subtitle(chart, kpi.unit, months_n), col_w - 0.1, sub_pt)
        titles.append((title, sub))
        lines = title.count("\n") + 1, sub.count("\n") + 1 if sub else 0
        heads[r] = max(heads[r], (lines[0] * 1.2 * title_pt + lines[1] * 1.25 * sub_pt + 8) / 72)
    row_h = _XMR_PLOT + _XMR_TICKS + _XMR_ROW_GAP
    height = _XMR_EDGE + sum(heads) + nrows * row_h + _XMR_LEGEND
    x_ticks = {c: _labelled(labels, plot_w[c], THEME.note_pt, (1, 2, 3, 6, 12, 24), pad=0.12)
               for c in range(ncols)}
    with _themed():
        canvas = Canvas(_FIG_W, height)
        top = height - _XMR_EDGE
        for i, chart in enumerate(charts):
            r, c = divmod(i, ncols)
            head_top = top - sum(heads[:r]) - r * row_h
            lo, hi, ticks = ranges[i]
            panel = Panel((c * col_w + left[c], head_top - heads[r] - _XMR_PLOT, plot_w[c],
                           _XMR_PLOT), (-0.5, len(months) - 0.5), (lo, hi))
            _draw_panel(canvas, panel, chart, at)
            title, sub = titles[i]
            canvas.text(c * col_w + 0.02, head_top, title, ha="left", va="top",
                        fontsize=title_pt, fontweight="bold", color=THEME.ink,
                        linespacing=1.2)
            if sub:   # right under the title; a row's plot areas line up below
                below = (title.count("\n") + 1) * 1.2 * title_pt / 72 + 0.03
                canvas.text(c * col_w + 0.02, head_top - below, sub, ha="left", va="top",
                            fontsize=sub_pt, color=THEME.muted, linespacing=1.25)
            for t, text in zip(panel.y(ticks), tick_text[i], strict=True):
                canvas.text(panel.left - _TICK_PAD, t, text, ha="right", va="center",
                            fontsize=tick_pt, color=THEME.ink)
            canvas.segments("grid", [((panel.left, t), (panel.right, t))
                                     for t in panel.y(ticks)], color=GRID, lw=0.6, zorder=1)
            canvas.segments("frame", [((panel.left, panel.bottom), (panel.right, panel.bottom))],
                            color=THEME.muted, lw=0.8, zorder=1)
            for j in x_ticks[c]:
                canvas.text(float(panel.x([j])[0]), panel.bottom - _TICK_PAD, labels[j],
                            ha="center", va="top", fontsize=tick_pt, color=THEME.ink)
        fig = canvas.finish()
        handles = [Line2D([], [], color=THEME.ink, lw=1, label="centre line"),
                   Line2D([], [], color=THEME.ink, lw=0.9, ls=(0, (4, 2)),
                          label="natural process limits")]
        handles += [Line2D([], [], ls="none", marker=s["marker"], ms=6, mfc="none",
                           mec=s["color"], mew=1.6, label=s["label"])
                    for s in reversed(_SIGNAL_STYLE.values())]
        base = "baseline for the limits" + (f" ({months_n} months)" if months_n else "")
        handles += [Patch(color=_BASELINE, label=base),
                    Patch(color=THEME.highlight, label="quarter under review")]
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0), ncols=4,
                   fontsize=THEME.note_pt, handlelength=1.6, columnspacing=1.2,
                   borderaxespad=0.2)
        return fig


def _draw_panel(canvas: Canvas, panel: Panel, chart: ControlChart, at: dict[str, int]) -> None:
    """One KPI's individuals chart: bands, limits, values and the signals' rings."""
    pts, lim = chart.points, chart.limits
    x = np.array([at[p] for p in pts["period"].astype(str)], dtype=float)
    for mask, key, colour in ((pts["baseline"].to_numpy(dtype=bool), "baseline", _BASELINE),
                              (pts["in_quarter"].to_numpy(dtype=bool), "quarter",
                               THEME.highlight)):
        if mask.any():
            x0, x1 = panel.x([x[mask][0] - 0.5, x[mask][-1] + 0.5])
            canvas.rect(key, x0, panel.bottom, x1, panel.top, color=colour)
    values = pts["value"].to_numpy(dtype=float)
    ok = ~np.isnan(values)
    if not ok.any():
        canvas.text((panel.left + panel.right) / 2, (panel.bottom + panel.top) / 2, "no data",
                    ha="center", va="center", color=THEME.muted, fontsize=THEME.note_pt)
        return
    if lim is not None:
        canvas.hline("centre", panel, lim.centre, color=THEME.ink, lw=1)
        for value in (lim.ucl, lim.lcl):
            if value is not None:
                canvas.hline("limits", panel, value, color=THEME.ink, lw=0.9,
                             linestyle=(0, (4, 2)))
    canvas.line("values", panel.x(x[ok]), panel.y(values[ok]), marker="o", ms=3.2, lw=1.2,
                color=THEME.palette[0])
    by_label = dict(zip(pts["period"].astype(str), range(len(pts)), strict=True))
    for rule, style in _SIGNAL_STYLE.items():
        sig = chart.signals.loc[chart.signals["rule"] == rule]
        idx = sorted({i for s in sig.itertuples()
                      for i in range(by_label[s.start], by_label[s.end] + 1) if ok[i]})
        if idx:
            canvas.line(rule, panel.x(x[idx]), panel.y(values[idx]), ls="none",
                        marker=style["marker"], ms=style["ms"] - 1, mfc="none",
                        mec=style["color"], mew=1.4, zorder=4)
