"""Text in charts: widths measured without a draw, wrapped titles, notes and number formats."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from csi_lib.plots.theme import THEME, _figure


@lru_cache(maxsize=8192)
def _text_in(text: str, size: float, *, bold: bool = False) -> float:
    """Width of one line of ``text`` in inches, measured without a layout draw (~0.3 s).

    Cached: the font is the theme's, so a width never changes, and reports measure
    the same period labels and titles over and over.
    """
    prop = FontProperties(family=THEME.font, size=size, weight="bold" if bold else "normal")
    return text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0] / 72


def _widest(texts: Iterable[str], size: float) -> float:
    """Width in inches of the widest of ``texts`` (e.g. tick labels), 0 for none."""
    return max((_text_in(line, size) for text in texts for line in text.split("\n")),
               default=0.0)


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
        return f"{v:.2g} h" if v < 10 else f"{v:,.0f} h"   # 1.4 h, not 1.43122 h
    return f"{v:,.0f}" if unit == "count" else f"{v:.1f}"
