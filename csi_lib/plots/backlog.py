"""Backlog: tickets opened and resolved per period and the open backlog at period end."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from csi_lib.plots.axes import _half, _highlight_note, _period_axis, _periods, _shade, _unit_axis
from csi_lib.plots.inputs import _series, _service_kpis
from csi_lib.plots.text import _message_figure, _no_data, _title
from csi_lib.plots.theme import _FIG_W, THEME, _figure, _themed


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
