"""Charts of the maturity report: a radar of the areas and a heat map of areas by quarter.

Both follow :mod:`csi_lib.plots`: drawn under the kit's theme whatever the
kernel's state, 6.7 in wide (the PDF text width), returned as bare Figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation

# The theme's private helpers: one look for every chart of the kit.
from csi_lib.plots import _FIG_W, THEME, _figure, _themed, _wrap

__all__ = ["heatmap_chart", "radar_chart"]

_TOP = 5.0


def _header(fig: Figure, title: str, subtitle: str, **body_kw: Any) -> Axes:
    """A full-width, left-aligned title strip over one body Axes, which is returned.

    The strip is a sub-figure of fixed height holding plain text, so the title
    lines up with the figure's left edge however wide the body's labels are.
    """
    subtitle = _wrap(subtitle, _FIG_W - 0.1, THEME.note_pt)
    title_pt = THEME.title_pt * 1.6
    strip_in = (title_pt + THEME.note_pt * 1.35 * (subtitle.count("\n") + 1) + 8) / 72
    height = fig.get_figheight()
    top, body = fig.subfigures(2, 1, height_ratios=[strip_in, height - strip_in])
    top.text(0.0, 1.0, title, ha="left", va="top", fontsize=THEME.title_pt,
             fontweight="bold", color=THEME.ink, transform=top.transSubfigure)
    below = top.transSubfigure + ScaledTranslation(0, -title_pt / 72, fig.dpi_scale_trans)
    top.text(0.0, 1.0, subtitle, ha="left", va="top", fontsize=THEME.note_pt,
             color=THEME.muted, linespacing=1.35, transform=below)
    return body.add_subplot(**body_kw)


def _closed(values: Sequence[float]) -> np.ndarray:
    return np.append(np.asarray(values, dtype=float), float(values[0]))


def radar_chart(names: Sequence[str], current: Sequence[float], *,
                previous: Sequence[float] | None = None,
                targets: Sequence[float | None] | None = None,
                labels: tuple[str, str] = ("this quarter", "previous quarter"),
                level_names: Mapping[int, str] | None = None) -> Figure:
    """Score (0-5) of each capability area on its own spoke: now, a quarter ago, and target.

    ``names`` label the spokes clockwise from the top; ``previous`` and
    ``targets`` align with them (None or NaN where there is none). Rings mark
    the levels, named by ``level_names``.
    """
    n = len(names)
    if n < 3:
        raise ValueError(f"a radar needs at least three areas, got {n}; use a table instead")
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    theta = _closed(angles)
    with _themed():
        fig = _figure(4.6)
        ax = _header(fig, "Maturity score by capability area",
                     "score 0–5: the level reached plus tenths of the way to the next; "
                     "rings mark the levels", projection="polar")
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        ax.set_ylim(0, _TOP)
        ax.set_yticks(range(1, 6), labels=[])
        ax.set_rlabel_position(0)
        ax.grid(color="#D0D0D0", lw=0.8)
        ax.spines["polar"].set_color("#BDBDBD")
        # Level names along the gap after the first spoke, where no data line runs.
        gap = math.pi / n
        for k in range(1, 6):
            name = (level_names or {}).get(k, "")
            ax.text(gap, k, f"{k} {name}".strip(), fontsize=THEME.note_pt - 0.5,
                    color=THEME.muted, ha="center", va="center", zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.8})
        ax.set_xticks(angles, labels=[_wrap(s, 1.25, THEME.note_pt + 1) for s in names],
                      fontsize=THEME.note_pt + 1)
        ax.tick_params(axis="x", pad=10)
        handles = [Line2D([], [], color=THEME.palette[0], lw=2, marker="o", ms=4.5,
                          label=labels[0])]
        if targets is not None:
            goal = np.array([np.nan if t is None else float(t) for t in targets])
            if not np.isnan(goal).all():
                ax.plot(theta, _closed(goal), color=THEME.target, ls=(0, (4, 2)), lw=1.4,
                        gid="target", zorder=2)
                handles.append(Line2D([], [], color=THEME.target, ls=(0, (4, 2)), lw=1.4,
                                      label="target level"))
        if previous is not None and not np.isnan(np.asarray(previous, dtype=float)).all():
            ax.plot(theta, _closed(previous), color=THEME.muted, lw=1.2, marker="o", ms=3,
                    gid="previous", zorder=3)
            handles.append(Line2D([], [], color=THEME.muted, lw=1.2, marker="o", ms=3,
                                  label=labels[1]))
        ax.plot(theta, _closed(current), color=THEME.palette[0], lw=2, marker="o", ms=4.5,
                gid="current", zorder=4)
        ax.fill(theta, _closed(current), color=THEME.palette[0], alpha=0.15, lw=0, zorder=1)
        order = [0, *range(len(handles) - 1, 0, -1)]   # now, a quarter ago, target
        ax.figure.legend(handles=[handles[i] for i in order], loc="outside lower center",
                   ncols=len(handles),
                   fontsize=THEME.note_pt + 0.5, handlelength=2.2)
        return fig


def heatmap_chart(scores: pd.DataFrame, *, current: str,
                  flagged: Sequence[str] = (), flag_label: str = "stagnating") -> Figure:
    """Areas (rows) by quarter (columns), each cell the area's score that quarter.

    ``scores`` is indexed by area name with one column per quarter label,
    oldest first (NaN where a quarter was not assessed); ``current`` is the
    quarter under review, set in bold; rows named in ``flagged`` get
    ``flag_label`` beside their name.
    """
    if scores.empty:
        raise ValueError("no scores to draw: the heat map needs at least one area and quarter")
    cmap = LinearSegmentedColormap.from_list("maturity", ["#F4F7FB", "#9CC3E4", THEME.palette[0],
                                                          "#0B3C5D"])
    rows, cols = scores.shape
    with _themed():
        fig = _figure(1.5 + 0.42 * rows)
        ax = _header(fig, "Maturity score by quarter",
                     "darker = more mature; score 0–5 (the level plus tenths of the way "
                     "to the next); — not assessed")
        ax.set_facecolor("white")
        ax.grid(visible=False)
        annot = scores.map(lambda v: "" if math.isnan(v) else f"{v:.1f}")
        sns.heatmap(scores.astype(float), ax=ax, cmap=cmap, vmin=0, vmax=_TOP, annot=annot,
                    fmt="", cbar=False, linewidths=1.5, linecolor="white",
                    annot_kws={"fontsize": THEME.note_pt + 1.5})
        for (r, c), value in np.ndenumerate(scores.to_numpy(dtype=float)):
            if math.isnan(value):
                ax.text(c + 0.5, r + 0.5, "—", ha="center", va="center",
                        fontsize=THEME.note_pt - 0.5, color=THEME.muted)
        names = [f"{name}  ({flag_label})" if name in flagged else str(name)
                 for name in scores.index]
        ax.set_yticks(np.arange(rows) + 0.5, labels=names, rotation=0)
        for tick, name in zip(ax.get_yticklabels(), scores.index, strict=True):
            if name in flagged:
                tick.set_color(THEME.target)
                tick.set_fontweight("bold")
        ax.set_xticks(np.arange(cols) + 0.5, labels=list(scores.columns), rotation=0)
        for tick in ax.get_xticklabels():
            if tick.get_text() == current:
                tick.set_fontweight("bold")
        ax.tick_params(length=0)
        ax.set_xlabel("")
        ax.set_ylabel("")
        return fig
