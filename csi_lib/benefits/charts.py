"""The benefit review's chart: one initiative's KPI by month around its delivery.

The service's monthly KPI, the delivery month marked and the settling months
shaded, the before and after levels as flat lines over their windows, and the
middle half (25th to 75th percentile) and median of the services it did not
touch, scaled to the service's own baseline level, so that the reader sees
whether everyone moved.
"""

from __future__ import annotations

import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from csi_lib import catalogue, plots
from csi_lib.benefits.effect import relative_series
from csi_lib.benefits.review import Windows

__all__ = ["initiative_chart"]

THEME = plots.THEME
_OWN = THEME.palette[0]
_BAND = "#D9D9D9"
_LEVEL = THEME.palette[1]


def initiative_chart(wide: pd.DataFrame, service: str, controls: list[str], kpi_id: str,
                     w: Windows, title: str, subtitle: str) -> Figure:
    """The chart of one initiative (``wide``: months x services of the linked KPI)."""
    kpi = catalogue.get(kpi_id)
    months = [m for m in wide.index if m >= w.trend[0]]
    own = wide[service].reindex(months)
    rel = relative_series(wide, w.baseline).reindex(months)
    base = float(wide[service].reindex(w.baseline).mean())
    band = rel[[c for c in controls if c in rel.columns]] * base
    x = {m: i for i, m in enumerate(months)}
    with plots._themed():
        fig = plots._figure(2.3)
        ax = fig.add_subplot()
        if not band.empty:
            ax.fill_between(range(len(months)), band.quantile(0.25, axis=1),
                            band.quantile(0.75, axis=1), color=_BAND, lw=0,
                            label="untouched services (middle half)")
            ax.plot(range(len(months)), band.median(axis=1).to_numpy(), color=THEME.muted,
                    lw=1, ls=":", label="untouched services (median)")
        if w.delivery in x:
            d = x[w.delivery]
            last_settling = w.after[0] - 1 if w.after else months[-1]
            end = x.get(last_settling, len(months) - 1)
            ax.axvspan(d - 0.5, end + 0.5, color=THEME.highlight, lw=0)
            ax.axvline(d, color=THEME.ink, lw=1, ls="--")
            ax.annotate("delivered", xy=(d, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -10), textcoords="offset points", fontsize=THEME.note_pt,
                        color=THEME.ink)
        ax.plot(range(len(months)), own.to_numpy(), color=_OWN, marker="o", ms=3, lw=1.5,
                label="this service")
        for window, level in ((w.baseline, base),
                              (w.after, float(own.reindex(w.after).mean()))):
            xs = [x[m] for m in window if m in x]
            if xs and pd.notna(level):
                ax.hlines(level, min(xs) - 0.4, max(xs) + 0.4, color=_LEVEL, lw=2.2)
        ax.plot([], [], color=_LEVEL, lw=2.2, label="before and after levels")
        step = 3 if len(months) > 9 else 1
        ax.set_xticks(range(0, len(months), step))
        ax.set_xticklabels([months[i].strftime("%b %y") for i in range(0, len(months), step)])
        ax.set_xlim(-0.6, len(months) - 0.4)
        if kpi.unit == "share":
            ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
        ax.set_ylabel({"hours": "hours", "share": "", "score": "score (1-5)"}.get(kpi.unit, ""))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
                  fontsize=THEME.note_pt)
        plots._title(ax, title, subtitle, width_in=THEME.width_in - 1.8)
    return fig
