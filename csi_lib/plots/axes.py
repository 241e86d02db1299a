"""Axes of the charts: KPI units on y, periods on x, the shaded period under review."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator, PercentFormatter

from csi_lib.plots.text import _text_in
from csi_lib.plots.theme import THEME


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
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=_decimals(step)))
    else:
        ax.set_ylim(0, hi)
        fmt = "{:,.0f}" if unit == "count" else "{:g} h"
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt.format(x)))


def _decimals(step: float) -> int:
    """Decimals that show ticks ``step`` apart exactly (at most 3): 2.5 -> 1, 5 -> 0."""
    return next(d for d in range(4) if abs(round(step, d) - step) < 1e-9 or d == 3)


def _labelled(labels: Sequence[str], width_in: float, size: float, steps: Sequence[int],
              pad: float = 0.1) -> list[int]:
    """Indices of ``labels`` to show along ``width_in``: every step-th, the first step of
    ``steps`` at which they fit without touching, always including the latest."""
    per_period = width_in / max(len(labels), 1)
    need = max(_text_in(s, size) for s in labels) + pad
    step = next((s for s in steps if s * per_period >= need), steps[-1])
    return list(range(len(labels) - 1, -1, -step))[::-1]


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
    keep = _labelled(labels, axes_w_in, mpl.rcParams["xtick.labelsize"],
                     (1, 2, 3, 6, 12, 24) if freq == "M" else (1, 2, 4, 8))
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
