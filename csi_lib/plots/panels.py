"""Small multiples on one canvas: many panels, a handful of artists.

A figure of two dozen matplotlib Axes spends most of its time building and
drawing each Axes' own ticks, spines, grid and title objects (about 40 ms an
Axes on this kit's reference machine), most of them never seen. The panels of
a small-multiples chart share one look, so :class:`Canvas` draws them all on a
single Axes whose data coordinates are the figure's inches: each
:class:`Panel` maps its data into its box, every line of one style joins one
collection, and only the text a reader sees (titles, tick labels) is a Text
artist. Laid out by hand, drawn once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from csi_lib.plots.theme import THEME

__all__ = ["Canvas", "Panel"]

GRID = "#CCCCCC"      # seaborn whitegrid's grid and frame colour (".8")


@dataclass(frozen=True)
class Panel:
    """A plot area on the canvas: ``box`` (x, y, width, height) in inches, data ranges."""

    box: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        x0, _, w, _ = self.box
        lo, hi = self.xlim
        return x0 + (np.asarray(values, dtype=float) - lo) / (hi - lo) * w

    def y(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        _, y0, _, h = self.box
        lo, hi = self.ylim
        return y0 + (np.asarray(values, dtype=float) - lo) / (hi - lo) * h

    @property
    def left(self) -> float:
        return self.box[0]

    @property
    def right(self) -> float:
        return self.box[0] + self.box[2]

    @property
    def bottom(self) -> float:
        return self.box[1]

    @property
    def top(self) -> float:
        return self.box[1] + self.box[3]


class Canvas:
    """A figure ``width`` x ``height`` inches with one Axes measured in inches.

    Lines, segments and rectangles are collected by ``key`` (one style each) and
    become one artist per key in :meth:`finish`, with the key as its gid.
    """

    def __init__(self, width: float, height: float) -> None:
        self.fig = Figure(figsize=(width, height), dpi=THEME.dpi)
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_axis_off()
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self._lines: dict[str, tuple[dict[str, Any], list[np.ndarray], list[np.ndarray]]] = {}
        self._segments: dict[str, tuple[dict[str, Any], list]] = {}
        self._rects: dict[str, tuple[dict[str, Any], list]] = {}

    def line(self, key: str, xs: np.ndarray, ys: np.ndarray, **style: Any) -> None:
        """A polyline (with markers, if ``style`` has them) in inches; one Line2D per key."""
        style.setdefault("zorder", 3)
        _, ax_, ay_ = self._lines.setdefault(key, (style, [], []))
        ax_.append(np.append(np.asarray(xs, dtype=float), np.nan))
        ay_.append(np.append(np.asarray(ys, dtype=float), np.nan))

    def segments(self, key: str, segs: Sequence[tuple[tuple[float, float], tuple[float, float]]],
                 **style: Any) -> None:
        """Straight segments ``((x0, y0), (x1, y1))`` in inches; one LineCollection per key."""
        style.setdefault("zorder", 2)
        self._segments.setdefault(key, (style, []))[1].extend(segs)

    def hline(self, key: str, panel: Panel, value: float, **style: Any) -> None:
        """A horizontal line across ``panel`` at data value ``value``."""
        y = float(panel.y([value])[0])
        self.segments(key, [((panel.left, y), (panel.right, y))], **style)

    def rect(self, key: str, x0: float, y0: float, x1: float, y1: float, **style: Any) -> None:
        """A filled rectangle in inches; one PolyCollection per key."""
        style.setdefault("zorder", 0)
        self._rects.setdefault(key, (style, []))[1].append(
            [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def text(self, x: float, y: float, s: str, **kwargs: Any) -> Text:
        return self.ax.text(x, y, s, **kwargs)

    def finish(self) -> Figure:
        """Add the collected artists (rectangles under lines under markers); the figure."""
        for key, (style, rects) in self._rects.items():
            self.ax.add_collection(PolyCollection(rects, gid=key, linewidths=0, **style),
                                   autolim=False)
        for key, (style, segs) in self._segments.items():
            self.ax.add_collection(LineCollection(segs, gid=key, **style), autolim=False)
        for key, (style, xs, ys) in self._lines.items():
            self.ax.add_line(Line2D(np.concatenate(xs), np.concatenate(ys), gid=key, **style))
        self._lines, self._segments, self._rects = {}, {}, {}
        return self.fig
