"""Charts of the reports: one seaborn theme and the chart functions the notebooks call.

Every chart displays 6.7 in wide, the PDF text width on A4, so its fonts print
at their nominal size. Charts draw under the theme whatever the kernel's matplotlib
state (a kernel reused between notebooks keeps rcParams), so they do not rely on
:func:`set_theme` having run. They are bare :class:`~matplotlib.figure.Figure`
objects, never registered with pyplot: a notebook of many charts holds none of
them once displayed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator, PercentFormatter

from csi_lib import catalogue
from csi_lib.errors import DataError, ParamsError

__all__ = ["THEME", "Theme", "backlog_chart", "kpi_trends", "resolution_distribution",
           "set_theme"]


@dataclass(frozen=True)
class Theme:
    """The look shared by every chart of the kit."""

    # Okabe & Ito (2008), "Color Universal Design": distinguishable with the
    # common colour-vision deficiencies and in greyscale print.
    palette: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                "#D55E00", "#F0E442")
    target: str = "#D55E00"      # dashed target marks, the same colour in every chart
    ink: str = "#262626"         # medians, boxes, row notes
    muted: str = "#6B6B6B"       # subtitles, notes, "no data"
    highlight: str = "#E8E8E8"   # band behind the period under review
    width_in: float = 6.7        # PDF text width on A4: fonts print at nominal size
    dpi: int = 144
    font_scale: float = 0.8      # seaborn "notebook" x 0.8: 9.6 pt labels, 8.8 pt ticks
    title_pt: float = 10.0
    note_pt: float = 7.5
    font: str = "DejaVu Sans"    # ships with matplotlib: the same PNG on every machine


THEME = Theme()
# IPython and nbconvert save figures with bbox_inches="tight" and 0.1 in of
# padding: a figure this wide comes out at THEME.width_in.
_FIG_W = THEME.width_in - 0.12
_HOUR = pd.Timedelta(hours=1)
_HINT = {"higher": "↑ higher is better", "lower": "↓ lower is better"}


def _rc() -> dict[str, Any]:
    """rcParams of the theme: seaborn whitegrid/notebook plus the kit's choices."""
    return {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("notebook", font_scale=THEME.font_scale),
        "axes.prop_cycle": cycler(color=list(THEME.palette)),
        "font.family": ["sans-serif"],
        "font.sans-serif": [THEME.font],
        "axes.titlesize": THEME.title_pt,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": THEME.dpi,
        "savefig.dpi": THEME.dpi,
        "savefig.bbox": "tight",
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "legend.frameon": False,
    }


def set_theme() -> None:
    """Apply the kit's theme to matplotlib globally; in IPython, show figures as PNG only.

    Idempotent. The kit's charts apply the theme themselves; this makes any
    other chart drawn in the notebook match them.
    """
    mpl.rcParams.update(_rc())
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        from IPython.core.pylabtools import select_figure_formats

        # One PNG per figure: Typst embeds PNG, and SVG or PDF copies would
        # double the size of every executed notebook.
        select_figure_formats(shell, {"png"})


@contextmanager
def _themed() -> Iterator[None]:
    """Matplotlib's defaults plus the theme, whatever the global state, restored on exit.

    Build charts inside it: text, lines and each axis' first tick (created with
    the Axes; later ticks copy it) keep the theme when the figure is drawn later.
    """
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(_rc())
        yield


def _figure(height_in: float) -> Figure:
    # Figure() directly, not plt.figure(): pyplot never holds a reference to it.
    return Figure(figsize=(_FIG_W, height_in), dpi=THEME.dpi, layout="constrained")


# ---------------------------------------------------------------- text


def _text_in(text: str, size: float, *, bold: bool = False) -> float:
    """Width of one line of ``text`` in inches, measured without a layout draw (~0.3 s)."""
    prop = FontProperties(family=THEME.font, size=size, weight="bold" if bold else "normal")
    return text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0] / 72


def _wrap(text: str, width_in: float, size: float, *, bold: bool = False) -> str:
    lines: list[str] = []
    for word in text.split():
        if lines and _text_in(f"{lines[-1]} {word}", size, bold=bold) <= width_in:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def _title(ax: Axes, title: str, subtitle: str | None, width_in: float = 5.0,
           size: float = THEME.title_pt) -> None:
    """Bold title and a grey subtitle under it, both wrapped to ``width_in``."""
    # Wrap here: constrained layout makes room for a title's height, not its width.
    pad = 6.0
    if subtitle is not None:    # "" keeps the room, so titles in a row line up
        subtitle = _wrap(subtitle, width_in, THEME.note_pt)
        pad += 1.3 * THEME.note_pt * (subtitle.count("\n") + 1)
    ax.set_title(_wrap(title, width_in, size, bold=True), loc="left", fontsize=size, pad=pad)
    if subtitle:
        ax.annotate(subtitle, xy=(0, 1), xycoords="axes fraction", xytext=(0, 4),
                    textcoords="offset points", ha="left", va="bottom",
                    fontsize=THEME.note_pt, color=THEME.muted)


def _no_data(ax: Axes, message: str = "no data") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            color=THEME.muted, fontsize=THEME.title_pt)


def _message_figure(title: str, message: str, detail: str) -> Figure:
    """A small figure saying why there is no chart (with an Axes: IPython skips empty figures)."""
    fig = _figure(1.6)
    ax = fig.add_subplot()
    _title(ax, title, None)
    ax.set_axis_off()
    ax.text(0.5, 0.55, message, transform=ax.transAxes, ha="center", va="center",
            fontsize=THEME.title_pt + 1, color=THEME.ink)
    ax.text(0.5, 0.2, detail, transform=ax.transAxes, ha="center", va="center",
            fontsize=THEME.note_pt, color=THEME.muted)
    return fig


def _fmt_hours(h: float) -> str:
    """A duration as a reader says it: minutes, then hours, then days."""
    value, unit = (h * 60, "min") if h < 1 else (h, "h") if h < 48 else (h / 24, "d")
    text = f"{value:.1f}" if value < 10 else f"{value:,.0f}"
    return f"{text.removesuffix('.0')} {unit}"


def _fmt_value(unit: str, v: float) -> str:
    if unit == "share":
        # One decimal near 0% and 100%, where rounding would hide the gap
        # between, say, 4.6% and a 5% target.
        return f"{v:.1%}" if v < 0.1 or v > 0.99 else f"{v:.0%}"
    if unit == "hours":
        return f"{v:g} h" if v < 10 else f"{v:,.0f} h"
    return f"{v:,.0f}" if unit == "count" else f"{v:.1f}"


# ---------------------------------------------------------------- axes


def _unit_axis(ax: Axes, unit: str) -> None:
    """Y axis in the KPI's unit; counts and hours start at zero, scores span 1-5."""
    if unit == "score":
        ax.set_ylim(0.8, 5.2)
        ax.set_yticks([1, 2, 3, 4, 5])
        ax.set_ylabel("score (1–5)")
        return
    # A fixed number of bins keeps the ticks independent of the panel size.
    locator = MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=unit == "count")
    ax.yaxis.set_major_locator(locator)
    lo, hi = ax.get_ylim()
    if unit == "share":
        lo, hi = max(lo, 0.0), min(hi, 1.01)
        ax.set_ylim(lo, hi)
        ticks = locator.tick_values(lo, hi)
        step = 100 * (ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
        decimals = next(d for d in range(4) if abs(round(step, d) - step) < 1e-9 or d == 3)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=decimals))
    else:
        ax.set_ylim(0, hi)
        fmt = "{:,.0f}" if unit == "count" else "{:g} h"
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt.format(x)))


def _periods(rows: pd.DataFrame, freq: str) -> tuple[pd.DatetimeIndex, list[str]]:
    """Sorted period starts and their labels: "Jul 26", or the (fiscal) quarter label."""
    first = rows.drop_duplicates("period_start").sort_values("period_start")
    starts = pd.DatetimeIndex(first["period_start"])
    labels = [f"{s:%b %y}" for s in starts] if freq == "M" else list(first["period"])
    return starts, labels


def _half(freq: str) -> pd.Timedelta:
    return pd.Timedelta(days=15 if freq == "M" else 45)


def _period_axis(ax: Axes, starts: pd.DatetimeIndex, labels: Sequence[str], freq: str,
                 axes_w_in: float) -> None:
    """Label as many periods as fit without touching, always including the latest."""
    ax.set_xlim(starts[0] - _half(freq), starts[-1] + _half(freq))
    per_period = axes_w_in / max(len(starts), 1)
    need = max(_text_in(s, mpl.rcParams["xtick.labelsize"]) for s in labels) + 0.1
    steps = (1, 2, 3, 6, 12, 24) if freq == "M" else (1, 2, 4, 8)
    step = next((s for s in steps if s * per_period >= need), steps[-1])
    keep = list(range(len(starts) - 1, -1, -step))[::-1]
    ax.set_xticks(starts[keep], labels=[labels[i] for i in keep])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(visible=False, axis="x")


def _shade(ax: Axes, starts: pd.DatetimeIndex, freq: str,
           highlight: tuple[pd.Timestamp, pd.Timestamp] | None) -> None:
    """Shade the periods that start in ``[start, end)`` of ``highlight``."""
    if highlight is None:
        return
    lo, hi = (_naive(t) for t in highlight)
    inside = starts[(starts >= lo) & (starts < hi)]
    if len(inside):
        # Markers sit on period starts: the band reaches half a period either side.
        ax.axvspan(inside[0] - _half(freq), inside[-1] + _half(freq), color=THEME.highlight,
                   lw=0, zorder=0)


def _naive(ts: pd.Timestamp) -> pd.Timestamp:
    # period_start is the client's wall time without a zone: drop a zone, keep wall time.
    ts = pd.Timestamp(ts)
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _highlight_note(fig: Figure, highlight: tuple[pd.Timestamp, pd.Timestamp] | None) -> None:
    if highlight is not None:
        lo, hi = (_naive(t) for t in highlight)
        last = hi - pd.Timedelta(days=1) if hi == hi.normalize() else hi
        fig.supxlabel(f"Shaded: {lo:%b %Y} – {last:%b %Y}, the period under review",
                      fontsize=THEME.note_pt, color=THEME.muted, x=0.01, ha="left")


# ---------------------------------------------------------------- inputs


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} has no column(s) {missing}; its columns are "
                        f"{list(frame.columns)}. Pass the table csi_lib builds.")


def _service_kpis(kpis: pd.DataFrame, service: str, freq: str) -> pd.DataFrame:
    if freq not in ("M", "Q"):
        raise ParamsError(f"freq must be 'M' (months) or 'Q' (quarters), got {freq!r}")
    _require(kpis, ["service", "freq", "period", "period_start", "kpi", "value", "n"],
             "the KPI table")
    rows = kpis.loc[(kpis["service"] == service) & (kpis["freq"] == freq)]
    dup = rows.loc[rows.duplicated(["kpi", "period"], keep=False)]
    if not dup.empty:
        raise DataError(f"the KPI table has {len(dup)} rows sharing (service, freq, period, "
                        f"kpi), e.g. {service!r} {dup['kpi'].iloc[0]!r} "
                        f"{dup['period'].iloc[0]!r}; it must have one row for each.")
    return rows.sort_values("period_start")


def _series(rows: pd.DataFrame, kpi: str, column: str) -> pd.DataFrame:
    one = rows.loc[rows["kpi"] == kpi]
    return pd.DataFrame({"x": pd.DatetimeIndex(one["period_start"]),
                         "y": one[column].to_numpy(dtype=float)})


# ---------------------------------------------------------------- KPI trends


def kpi_trends(kpis: pd.DataFrame, service: str, kpi_ids: Sequence[str], *,
               targets: Mapping[str, float] | None = None, freq: str = "M",
               highlight: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> Figure:
    """Small multiples of ``service``'s KPIs over time, one panel per KPI id.

    ``targets`` maps KPI ids to targets in the KPI's unit (shares as fractions);
    ids without one get no target line. ``highlight`` shades the periods that
    start in ``[start, end)``, e.g. ``(quarter.start_time, quarter.end_time)``.
    A KPI with no value in any period shows "no data".
    """
    ids = [kpi_ids] if isinstance(kpi_ids, str) else list(kpi_ids)
    if not ids or len(set(ids)) != len(ids):
        raise ParamsError(f"kpi_ids must name each KPI once, got {ids}; e.g. ['sla_resolution']")
    defs = [catalogue.get(k) for k in ids]
    targets = dict(targets or {})
    rows = _service_kpis(kpis, service, freq)
    starts, labels = _periods(rows.loc[rows["kpi"].isin(ids)], freq)
    ncols = 1 if len(ids) == 1 else 2 if len(ids) in (2, 4) else 3
    nrows = math.ceil(len(ids) / ncols)
    axes_w = _FIG_W / ncols - 0.65              # less the y tick labels and gaps
    title_pt = THEME.title_pt - (1 if ncols == 3 else 0)   # most labels then fit one line
    with _themed():
        fig = _figure(0.3 + 2.1 * nrows + (0.2 if highlight is not None else 0))
        grid = fig.add_gridspec(nrows, ncols)
        for i, kpi in enumerate(defs):
            ax = fig.add_subplot(grid[i // ncols, i % ncols])
            _title(ax, kpi.label, _HINT.get(kpi.direction, ""), axes_w + 0.1, title_pt)
            data = _series(rows, kpi.id, "value")
            if data["y"].isna().all():
                _no_data(ax)
                continue
            if kpi.unit == "count":     # NaN means n == 0: nothing counted is 0, not missing
                data = data.assign(y=data["y"].fillna(0.0))
            _shade(ax, starts, freq, highlight)
            ax.plot(data["x"], data["y"], marker="o", ms=4, color=THEME.palette[0], gid="value")
            target = targets.get(kpi.id)
            if target is not None and not math.isnan(target):
                ax.axhline(target, color=THEME.target, ls=(0, (4, 2)), lw=1.3, gid="target",
                           zorder=1.5)
            _unit_axis(ax, kpi.unit)
            _period_axis(ax, starts, labels, freq, axes_w)
            if target is not None and not math.isnan(target):
                _target_label(ax, target, kpi.unit, data, (axes_w, 1.4))
        _highlight_note(fig, highlight)
        return fig


def _target_label(ax: Axes, target: float, unit: str, data: pd.DataFrame,
                  axes_in: tuple[float, float]) -> None:
    """Label the target line in the corner (left/right, above/below) that the data leaves free."""
    text = f"target {_fmt_value(unit, target)}"
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    pts = data.dropna()
    px = (mdates.date2num(pts["x"]) - x0) / (x1 - x0)
    py = (pts["y"].to_numpy() - y0) / (y1 - y0)
    if len(px) > 1:     # sample the line between markers too
        dense = np.linspace(px[0], px[-1], 200)
        px, py = np.concatenate([px, dense]), np.concatenate([py, np.interp(dense, px, py)])
    w = _text_in(text, THEME.note_pt) / axes_in[0] + 0.04
    h = THEME.note_pt * 1.4 / 72 / axes_in[1]
    ty = (target - y0) / (y1 - y0)
    candidates = []
    for side, ha in ((0.0, "left"), (1.0, "right")):
        for sign in (1, -1):
            xs = (px <= w) if side == 0 else (px >= 1 - w)
            band = (py - ty) * sign
            hits = int((xs & (band > -0.02) & (band < h + 0.02)).sum())
            hits += 1000 * (not 0 <= ty + sign * h <= 1)   # would leave the plot area
            candidates.append((hits, side, sign, ha))
    _, side, sign, ha = min(candidates, key=lambda c: c[0])   # first best: left, above
    ax.annotate(text, xy=(side, target), xycoords=("axes fraction", "data"),
                xytext=(3 if side == 0 else -3, 2 * sign), textcoords="offset points", ha=ha,
                va="bottom" if sign > 0 else "top", fontsize=THEME.note_pt, color=THEME.target)


# ---------------------------------------------------------------- resolution times

# Ticks of a log axis of durations, in hours, with the words a reader uses.
_DURATION_TICKS = [(1 / 60, "1 min"), (5 / 60, "5 min"), (15 / 60, "15 min"), (1, "1 h"),
                   (2, "2 h"), (4, "4 h"), (8, "8 h"), (24, "1 d"), (72, "3 d"), (168, "1 wk"),
                   (720, "30 d"), (2160, "90 d"), (8760, "1 yr")]
_FLOOR_H = 1 / 60     # a log axis cannot show zero: instant resolutions sit at one minute


def resolution_distribution(tickets: pd.DataFrame, service: str, start: pd.Timestamp,
                            end: pd.Timestamp, *,
                            targets_h: Mapping[str, float] | None = None) -> Figure:
    """Opened-to-resolved time of ``service``'s tickets resolved in ``[start, end)``, by priority.

    Each dot is a ticket, on a log scale; the box spans the middle half, the
    bar is the median and the diamond P90, both also written beside the row.
    ``targets_h`` (priority -> hours) are drawn as dashed marks. ``start`` and
    ``end`` must be tz-aware (e.g. from :func:`csi_lib.kpis.period_bounds`).
    """
    _require(tickets, ["service", "priority", "opened_at", "resolved_at"], "the ticket table")
    for name, ts in (("start", start), ("end", end)):
        if pd.Timestamp(ts).tzinfo is None:
            raise ParamsError(f"{name}={ts!r} has no timezone; pass a tz-aware Timestamp, "
                              "e.g. from csi_lib.kpis.period_bounds(period, tz)")
    targets = {str(p): float(h) for p, h in (targets_h or {}).items()}
    sel = tickets.loc[(tickets["service"] == service) & (tickets["resolved_at"] >= start)
                      & (tickets["resolved_at"] < end)]
    hours = (sel["resolved_at"] - sel["opened_at"]) / _HOUR
    bad = int((hours < 0).sum() + hours.isna().sum())
    priority = sel["priority"].astype("string").fillna("no priority").astype(str)
    sel = pd.DataFrame({"priority": priority, "h": hours}).loc[hours >= 0]
    first, last = _day(start), _day(end) - pd.Timedelta(days=1)
    span = f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    title = "Time from opened to resolved, by priority"
    with _themed():
        if sel.empty:
            return _message_figure(title, "No tickets resolved in this period",
                                   f"service {service}, {span}")
        prios = sorted(set(sel["priority"]) | set(targets), key=lambda p: (len(p), p))
        fig = _figure(1.5 + 0.62 * len(prios))
        ax = fig.add_subplot()
        note = f"{len(sel):,} tickets resolved {span}"
        if bad:
            note += f"; {bad:,} not shown (resolved before opened, or no opening time)"
        _title(ax, title, note, _FIG_W - 2.2)
        _draw_rows(ax, sel, prios, targets)
        counts = sel["priority"].value_counts()
        ax.set_yticks(range(len(prios)),
                      labels=[f"{p}\n{counts.get(p, 0):,} tickets" for p in prios])
        ax.set_ylim(len(prios) - 0.5, -0.5)     # P1 at the top
        ax.grid(visible=False, axis="y")
        ax.set_xscale("log")
        lo = min([sel["h"].clip(lower=_FLOOR_H).min(), *targets.values()]) / 1.8
        hi = max([sel["h"].max(), *targets.values()]) * 1.8
        ax.set_xlim(lo, hi)
        _duration_ticks(ax, lo, hi)
        ax.set_xlabel("time to resolve (log scale)")
        fig.legend(handles=_legend_handles(bool(targets)), loc="outside lower center",
                   ncols=5, fontsize=THEME.note_pt, handlelength=1.6, columnspacing=1.2)
        return fig


def _day(ts: pd.Timestamp) -> pd.Timestamp:
    """The date a period boundary opens, however it is zoned.

    Boundaries are local midnights, often passed converted to UTC; the nearest
    UTC midnight is that local date for any zone within 12 hours of UTC.
    """
    return pd.Timestamp(ts).tz_convert("UTC").tz_localize(None).round("D")


def _draw_rows(ax: Axes, sel: pd.DataFrame, prios: list[str], targets: dict[str, float]) -> None:
    rng = np.random.default_rng(0)   # fixed jitter: the same PNG on every run
    for y, prio in enumerate(prios):
        h = sel.loc[sel["priority"] == prio, "h"]
        if prio in targets:
            t = targets[prio]
            ax.plot([t, t], [y - 0.42, y + 0.42], color=THEME.target, ls=(0, (3, 1.5)), lw=1.6,
                    gid="target", zorder=4)
        if h.empty:
            _row_note(ax, y, "none resolved", targets.get(prio))
            continue
        x = h.clip(lower=_FLOOR_H).to_numpy()
        alpha = float(np.clip(6 / np.sqrt(len(x)), 0.12, 0.7))   # dense rows stay readable
        ax.scatter(x, y + rng.uniform(-0.17, 0.17, len(x)), s=8, lw=0, alpha=alpha,
                   color=THEME.palette[0], gid="tickets", zorder=2)
        q25, q50, q75, q90 = (max(q, _FLOOR_H) for q in h.quantile([0.25, 0.5, 0.75, 0.9]))
        ax.add_patch(Rectangle((q25, y - 0.26), q75 - q25, 0.52, fill=False, ec=THEME.ink,
                               lw=1, zorder=3))
        ax.plot([q50, q50], [y - 0.26, y + 0.26], color=THEME.ink, lw=2.4, gid="median",
                zorder=5, solid_capstyle="butt")
        ax.plot([q90], [y], marker="D", ms=5, color=THEME.ink, mec="white", mew=0.8,
                ls="none", gid="p90", zorder=5)
        _row_note(ax, y, f"median {_fmt_hours(q50)}\nP90 {_fmt_hours(q90)}", targets.get(prio))


def _row_note(ax: Axes, y: float, text: str, target: float | None) -> None:
    if target is not None:
        text += f"\ntarget {_fmt_hours(target)}"
    ax.annotate(text, xy=(1, y), xycoords=("axes fraction", "data"), xytext=(8, 0),
                textcoords="offset points", ha="left", va="center", fontsize=THEME.note_pt,
                color=THEME.ink, linespacing=1.3)


def _duration_ticks(ax: Axes, lo: float, hi: float) -> None:
    # Ticks at least 1/7 of the axis apart (log space), so labels never touch.
    gap, kept = math.log10(hi / lo) / 7, []
    for h, label in _DURATION_TICKS:
        if lo <= h <= hi and (not kept or math.log10(h / kept[-1][0]) >= gap):
            kept.append((h, label))
    ax.set_xticks([h for h, _ in kept], labels=[label for _, label in kept])
    ax.xaxis.set_minor_locator(NullLocator())


def _legend_handles(with_target: bool) -> list[Any]:
    handles = [
        Line2D([], [], marker="o", ls="none", ms=4, color=THEME.palette[0], label="one ticket"),
        Rectangle((0, 0), 1, 1, fill=False, ec=THEME.ink, label="middle half of tickets"),
        Line2D([], [], color=THEME.ink, lw=2.4, label="median"),
        Line2D([], [], marker="D", ls="none", ms=5, color=THEME.ink,
               label="P90: 9 in 10 resolved by then"),
    ]
    if with_target:
        handles.append(Line2D([], [], color=THEME.target, ls=(0, (3, 1.5)), lw=1.6,
                              label="resolution target"))
    return handles


# ---------------------------------------------------------------- backlog


def backlog_chart(kpis: pd.DataFrame, service: str, *, freq: str = "M",
                  highlight: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> Figure:
    """Tickets opened and resolved per period (top) and the open backlog at period end (bottom).

    Opened is the ``n`` of KPI ``volume``, resolved the ``n`` of
    ``resolution_median_h`` (tickets resolved), the backlog the value of ``backlog``.
    """
    rows = _service_kpis(kpis, service, freq)
    opened = _series(rows, "volume", "n")
    resolved = _series(rows, "resolution_median_h", "n")
    backlog = _series(rows, "backlog", "value")
    word = "month" if freq == "M" else "quarter"
    with _themed():
        if not any(s["y"].fillna(0).ne(0).any() for s in (opened, resolved, backlog)):
            return _message_figure(f"Tickets opened, resolved and open each {word}",
                                   "No tickets for this service in these periods",
                                   f"service {service}")
        starts, labels = _periods(
            rows.loc[rows["kpi"].isin(["volume", "resolution_median_h", "backlog"])], freq)
        fig = _figure(4.9 + (0.2 if highlight is not None else 0))
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.15, 1])
        _title(top, f"Tickets opened and resolved each {word}",
               "when fewer are resolved than opened, the backlog grows", _FIG_W - 2.5)
        # Side-by-side bars, each a third of a period wide, centred on the period start.
        width = _half(freq) * 2 / 3
        for series, label, colour, shift in ((opened, "opened", THEME.palette[0], -0.5),
                                             (resolved, "resolved", THEME.palette[1], 0.5)):
            top.bar(series["x"] + width * shift, series["y"], width=width, color=colour,
                    lw=0, label=label, zorder=2)
        top.legend(loc="lower right", bbox_to_anchor=(1, 1.0), ncols=2, borderaxespad=0.3)
        top.set_ylabel(f"tickets per {word}")
        _title(bottom, f"Open backlog at {word} end", "tickets not yet resolved")
        if backlog["y"].isna().all():
            _no_data(bottom)
        else:
            bottom.plot(backlog["x"], backlog["y"], marker="o", ms=4, color=THEME.palette[2],
                        gid="backlog")
            bottom.fill_between(backlog["x"], backlog["y"], color=THEME.palette[2], alpha=0.15,
                                lw=0)
            bottom.set_ylabel("open tickets")
        for ax in (top, bottom):
            if ax.has_data():
                _unit_axis(ax, "count")
            _shade(ax, starts, freq, highlight)
            ax.grid(visible=False, axis="x")
        _period_axis(bottom, starts, labels, freq, _FIG_W - 0.7)
        _highlight_note(fig, highlight)
        return fig
