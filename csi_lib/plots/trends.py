"""KPI trends: small multiples of one service's KPIs over time, with targets."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from csi_lib import catalogue
from csi_lib.errors import ParamsError
from csi_lib.plots.axes import _highlight_note, _period_axis, _periods, _shade, _unit_axis
from csi_lib.plots.inputs import _series, _service_kpis
from csi_lib.plots.text import _fmt_value, _no_data, _text_in, _title
from csi_lib.plots.theme import _FIG_W, THEME, _figure, _themed

_HINT = {"higher": "↑ higher is better", "lower": "↓ lower is better"}


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
