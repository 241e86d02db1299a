"""Resolution times: each ticket's opened-to-resolved time by priority, on a log scale."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator

from csi_lib.errors import ParamsError
from csi_lib.plots.inputs import _require
from csi_lib.plots.text import _fmt_hours, _message_figure, _title
from csi_lib.plots.theme import _FIG_W, THEME, _figure, _themed

_HOUR = pd.Timedelta(hours=1)
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
