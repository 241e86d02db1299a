"""The kit's chart theme: colours, sizes and the rcParams every chart draws under."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import seaborn as sns
from cycler import cycler
from matplotlib.figure import Figure


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
# Charts are saved with this much white each side (csi_lib.plots.output), so a
# figure this wide comes out at THEME.width_in.
_PAD_IN = 0.06
_FIG_W = THEME.width_in - 2 * _PAD_IN


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
        # Titles sit at the top of their axes: no chart has ticks or labels above an
        # axes, and matplotlib's automatic placement measures every tick label to
        # find that out, at each layout and each draw.
        "axes.titley": 1.0,
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
