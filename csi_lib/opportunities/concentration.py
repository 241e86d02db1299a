"""The Pareto of categories: the few that make up 80% of a service's tickets.

Juran's Pareto principle (the "vital few"): most of the volume sits in a few
categories, and improvement starts there.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from csi_lib.opportunities.selection import bounds, labels, require

# The theme's building blocks, so that this chart looks like every other chart of the kit.
from csi_lib.plots import THEME, _figure, _message_figure, _text_in, _themed, _title, _wrap

__all__ = ["MAX_BARS", "PARETO_COLUMNS", "PARETO_SHARE", "pareto", "pareto_chart"]

PARETO_SHARE = 0.80   # the "vital few": categories that together make 80% of tickets
MAX_BARS = 12         # the chart lumps the remaining categories into one bar
PARETO_COLUMNS = ["tickets", "share", "cumulative_share", "in_80"]
_REST = "#B8B8B8"     # bars beyond the 80% line
_TICK_PT = THEME.font_scale * 11   # seaborn "notebook" tick labels at the theme's scale
_TOP = 1.04                        # the percent axis, with room above 100%
_PERCENTS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def pareto(tickets: pd.DataFrame, service: str, start: pd.Timestamp, end: pd.Timestamp,
           *, by: str = "category") -> pd.DataFrame:
    """Tickets of ``service`` opened in ``[start, end)`` per ``by`` value, largest first.

    Columns: ``by``, ``tickets``, ``share``, ``cumulative_share`` and ``in_80``:
    the categories needed to reach 80% of the tickets (the one that crosses 80%
    included). Ties are broken by name; missing values count as ``(none)``.
    """
    require(tickets, ["service", "opened_at", by])
    start, end = bounds(start, end)
    sel = tickets.loc[(tickets["service"] == service) & (tickets["opened_at"] >= start)
                      & (tickets["opened_at"] < end)]
    counts = labels(sel[by]).value_counts()
    frame = pd.DataFrame({by: counts.index.astype(str), "tickets": counts.to_numpy("int64")})
    frame = frame.sort_values(["tickets", by], ascending=[False, True]).reset_index(drop=True)
    total = int(frame["tickets"].sum())
    running = frame["tickets"].cumsum()
    return pd.DataFrame({
        by: frame[by].astype("string"),
        "tickets": frame["tickets"].astype("int64"),
        "share": (frame["tickets"] / max(total, 1)).astype("float64"),
        "cumulative_share": (running / max(total, 1)).astype("float64"),
        # In whole numbers: no rounding decides whether a category makes the cut.
        "in_80": ((running - frame["tickets"]) * 100 < round(PARETO_SHARE * 100) * total
                  ).astype(bool),
    })


def pareto_chart(table: pd.DataFrame, *, title: str = "Tickets by category, largest first",
                 subtitle: str | None = None) -> Figure:
    """Bars of tickets per category, the cumulative share and the 80% line.

    ``table`` is a :func:`pareto` result (its first column names the bars). Both
    axes share one scale (the left axis tops at the total, the right at 100%),
    so a bar's height reads as its share. Bars within the 80% are coloured,
    the rest grey; beyond MAX_BARS categories the rest share one bar.
    """
    key = table.columns[0]
    total = int(table["tickets"].sum()) if not table.empty else 0
    with _themed():
        if total == 0:
            return _message_figure(title, "No tickets in this period", subtitle or "")
        shown, rest = table.iloc[:MAX_BARS], table.iloc[MAX_BARS:]
        names = list(shown[key].astype(str))
        heights = list(shown["tickets"])
        colours = [THEME.palette[0] if v else _REST for v in shown["in_80"]]
        cumulative = list(shown["cumulative_share"])
        if not rest.empty:
            names.append(f"{len(rest)} others")
            heights.append(int(rest["tickets"].sum()))
            colours.append(_REST)
            cumulative.append(1.0)
        n = len(names)
        slot_in = (THEME.width_in - 1.0) / n     # less the percent axis on the right
        fits = max(_text_in(w, _TICK_PT) for t in names for w in t.split()) <= slot_in - 0.08
        wrapped = [_wrap(t, slot_in - 0.08, _TICK_PT) for t in names]
        lines = max(w.count("\n") + 1 for w in wrapped)
        rotate = not fits or lines > 3
        fig = _figure(3.0 + (1.0 if rotate else 0.16 * (lines + 1)))
        ax = fig.add_subplot()
        _title(ax, title, subtitle or "", THEME.width_in - 1.2)
        x = list(range(n))
        # Bars on their own hidden scale, so that even an even spread of categories
        # shows; each carries its count in its label, clear of the cumulative line.
        ax.bar(x, heights, color=colours, width=0.7, lw=0, zorder=2, gid="tickets")
        if rotate:
            ax.set_xticks(x, labels=[f"{t} ({h:,})" for t, h in zip(names, heights, strict=True)],
                          rotation=35, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticks(x, labels=[f"{t}\n{h:,}" for t, h in zip(wrapped, heights,
                                                                  strict=True)])
        ax.set_xlim(-0.6, n - 0.4)
        # The tallest bar reaches 70% of the height: its count stays clear of the 80% line.
        top = max(heights) / 0.7
        ax.set_ylim(0, top)
        # Grid lines of the percent axis, drawn on the bars' axes so they stay behind the bars.
        ax.set_yticks([top * p / _TOP for p in _PERCENTS], labels=[])
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.grid(visible=False, axis="x")
        right = ax.twinx()
        right.set_ylim(0, _TOP)
        right.set_yticks(_PERCENTS)
        right.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        right.set_ylabel("cumulative share of tickets")
        right.grid(visible=False)
        right.spines["right"].set_visible(True)
        right.spines["left"].set_visible(False)
        right.plot(x, cumulative, color=THEME.ink, marker="o", ms=3.5, lw=1.3,
                   gid="cumulative", zorder=3)
        right.axhline(PARETO_SHARE, color=THEME.target, ls=(0, (4, 2)), lw=1.3, gid="line80",
                      zorder=2.5)
        right.annotate(f"{PARETO_SHARE:.0%} of tickets", xy=(1, PARETO_SHARE),
                       xycoords=("axes fraction", "data"), xytext=(-3, 3),
                       textcoords="offset points", ha="right", va="bottom",
                       fontsize=THEME.note_pt, color=THEME.target)
        return fig
