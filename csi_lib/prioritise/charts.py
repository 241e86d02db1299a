"""Charts of the prioritisation report, in the kit's theme (see :mod:`csi_lib.plots`).

Like every chart of the kit they are bare Figures, 6.7 in wide (the PDF text
width), drawn under the theme whatever the kernel's matplotlib state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from csi_lib import plots
from csi_lib.prioritise.planning import Plan
from csi_lib.prioritise.scoring import HIGH_IMPACT, LOW_EFFORT, Sensitivity

__all__ = ["capacity_chart", "impact_effort_matrix", "rank_ranges"]

THEME = plots.THEME
_W = plots._FIG_W   # saved with plots.show_figure's margin: the PDF text width
_PLANNED = THEME.palette[0]
_COMMITTED = THEME.palette[4]
_OUT = THEME.palette[1]
_STYLE = {  # decision -> (label, face, edge)
    "committed": ("in progress", _COMMITTED, _COMMITTED),
    "in plan": ("in the plan", _PLANNED, _PLANNED),
    "did not fit": ("did not fit", _OUT, _OUT),
    "blocked": ("blocked or below threshold", "white", THEME.muted),
    "below threshold": ("blocked or below threshold", "white", THEME.muted),
}


@contextmanager
def _themed() -> Iterator[None]:
    with mpl.rc_context():
        mpl.rcdefaults()
        plots.set_theme()
        yield


def _figure(height_in: float) -> Figure:
    return Figure(figsize=(_W, height_in), dpi=THEME.dpi, layout="constrained")


def _plain(text: object) -> str:
    """Client text as matplotlib shows it literally ('$' would start mathtext)."""
    return str(text).replace("$", r"\$")


def impact_effort_matrix(rows: pd.DataFrame) -> Figure:
    """Open and committed initiatives on business impact (up) against effort (right).

    Dots sharing a cell are spread around it; each is labelled by its id. The
    shaded corner holds the quick wins (impact 4-5, effort 1-2).
    """
    live = rows.loc[rows["decision"].isin(list(_STYLE)) & rows["business_impact"].notna()
                    & rows["effort"].notna()].sort_values("id")
    with _themed():
        fig = _figure(4.7)
        ax = fig.add_subplot()
        split_x, split_y = LOW_EFFORT + 0.5, HIGH_IMPACT - 0.5
        ax.add_patch(Rectangle((0.5, split_y), split_x - 0.5, 5.5 - split_y, lw=0,
                               color=THEME.palette[2], alpha=0.10, zorder=0))
        ax.axvline(split_x, color=THEME.muted, ls=(0, (4, 3)), lw=0.9)
        ax.axhline(split_y, color=THEME.muted, ls=(0, (4, 3)), lw=0.9)
        corners = (("Quick wins", 0.55, 5.45, "left", "top"),
                   ("Transformational", 5.55, 5.45, "right", "top"),
                   ("Fill-ins", 0.55, 0.55, "left", "bottom"),
                   ("Hard to justify", 5.55, 0.55, "right", "bottom"))
        for text, x, y, ha, va in corners:
            ax.text(x, y, text, ha=ha, va=va, fontsize=THEME.note_pt + 0.5,
                    fontweight="bold", color=THEME.muted)
        for (effort, impact), cell in live.groupby(["effort", "business_impact"]):
            n = len(cell)
            cols = math.ceil(math.sqrt(n))
            nrows = math.ceil(n / cols)
            for k, r in enumerate(cell.itertuples(index=False)):
                dx = (k % cols - (cols - 1) / 2) * 0.46 - 0.12
                dy = ((nrows - 1) / 2 - k // cols) * 0.24
                _, face, edge = _STYLE[r.decision]
                ax.scatter(effort + dx, impact + dy, s=42, color=face, edgecolors=edge,
                           linewidths=1.2, zorder=3)
                ax.annotate(_plain(r.id), (effort + dx, impact + dy), xytext=(5, 0),
                            textcoords="offset points", va="center",
                            fontsize=THEME.note_pt, color=THEME.ink, zorder=4)
        ax.set_xlim(0.5, 5.6)
        ax.set_ylim(0.5, 5.5)
        ax.set_xticks([1, 2, 3, 4, 5], labels=["1\ndays", "2", "3\nweeks", "4", "5\na quarter+"])
        ax.set_yticks([1, 2, 3, 4, 5], labels=["1 minor", "2", "3", "4", "5 business-wide"])
        ax.grid(visible=False)
        ax.set_xlabel("effort score")
        ax.set_ylabel("business impact score")
        ax.set_title("Impact and effort of the open initiatives", loc="left",
                     fontsize=THEME.title_pt, fontweight="bold")
        seen: dict[str, Line2D] = {}
        for decision, (label, face, edge) in _STYLE.items():
            if label not in seen and (live["decision"] == decision).any():
                seen[label] = Line2D([], [], marker="o", ls="none", ms=6, color=face,
                                     mec=edge, mew=1.2, label=label)
        fig.legend(handles=list(seen.values()), loc="outside lower center", ncols=4,
                   fontsize=THEME.note_pt, handletextpad=0.3, columnspacing=1.2)
        return fig


def capacity_chart(plan: Plan) -> Figure:
    """The quarter's improvement hours: committed and planned work against the capacity,
    and below it the hours of what did not fit (cut at the chart's edge when long)."""
    rows = plan.rows
    inplan = rows.loc[rows["plan_order"].notna()].sort_values("plan_order")
    out = rows.loc[rows["decision"] == "did not fit"].sort_values("rank")
    waiting = float(out["effort_hours"].sum())
    # Past twice the capacity a longer bar says nothing more, and squeezes the plan.
    edge = max(plan.capacity, plan.used_hours, 1.0) * 2
    with _themed():
        fig = _figure(2.5)
        ax = fig.add_subplot()
        for y, frame in ((1, inplan), (0, out)):
            left = 0.0
            for r in frame.itertuples(index=False):
                width = min(r.effort_hours, edge - left)
                if width <= 0:
                    break
                colour = {"committed": _COMMITTED, "in plan": _PLANNED}.get(r.decision, _OUT)
                ax.barh(y, width, left=left, height=0.56, color=colour, edgecolor="white",
                        lw=1, zorder=2)
                if width / edge > 0.045:
                    ax.text(left + width / 2, y, _plain(r.id), ha="center", va="center",
                            fontsize=THEME.note_pt - 0.5, color="white",
                            rotation=90 if width / edge < 0.075 else 0, zorder=3)
                left += r.effort_hours
        if waiting > edge:
            ax.annotate(f"→ {waiting:,.0f} h in all", (edge, 0), xytext=(4, 0),
                        textcoords="offset points", ha="left", va="center",
                        fontsize=THEME.note_pt, color=THEME.ink)
        ax.axvline(plan.capacity, color=THEME.target, ls=(0, (4, 2)), lw=1.4, zorder=4)
        ax.annotate(f"capacity {plan.capacity:,.0f} h", (plan.capacity, 1.45),
                    xytext=(3, 0), textcoords="offset points", ha="left", va="center",
                    fontsize=THEME.note_pt, color=THEME.target)
        ax.set_yticks([1, 0], labels=[f"plan\n{plan.used_hours:,.0f} h",
                                      f"did not fit\n{waiting:,.0f} h"])
        ax.set_ylim(-0.5, 1.7)
        ax.set_xlim(0, edge)
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda x, _p: f"{x:,.0f} h"))
        ax.grid(visible=False, axis="y")
        ax.set_title("Improvement hours this quarter", loc="left", fontsize=THEME.title_pt,
                     fontweight="bold")
        handles = [Patch(color=_COMMITTED, label="in progress (committed)"),
                   Patch(color=_PLANNED, label="planned"),
                   Patch(color=_OUT, label="did not fit")]
        fig.legend(handles=handles, loc="outside lower center", ncols=3,
                   fontsize=THEME.note_pt)
        return fig


def rank_ranges(sens: Sensitivity, titles: Mapping[str, str], show: int = 10) -> Figure:
    """Best and worst rank of the leading initiatives when each weight moves."""
    ranks = sens.ranks.head(max(show, sens.top_n))
    with _themed():
        fig = _figure(1.1 + 0.27 * max(len(ranks), 1))
        ax = fig.add_subplot()
        if ranks.empty:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no initiative to rank", ha="center", va="center",
                    color=THEME.muted)
            return fig
        ys = range(len(ranks))
        for y, r in zip(ys, ranks.itertuples(index=False), strict=True):
            ax.plot([r.best, r.worst], [y, y], color=THEME.palette[0], lw=3, alpha=0.35,
                    solid_capstyle="round")
            ax.plot([r.rank], [y], marker="o", ms=6, color=THEME.palette[0], ls="none")
        labels = []
        for r in ranks.itertuples(index=False):
            title = _plain(titles.get(r.id, ""))
            title = title if len(title) <= 42 else title[:40] + "…"
            labels.append(f"{_plain(r.id)}  {title}")
        ax.set_yticks(list(ys), labels=labels, fontsize=THEME.note_pt)
        ax.set_ylim(len(ranks) - 0.5, -0.5)
        top = sens.top_n
        ax.axvline(top + 0.5, color=THEME.target, ls=(0, (4, 2)), lw=1.2)
        ax.annotate(f"top {top}", (top + 0.5, -0.5), xytext=(3, -2), textcoords="offset points",
                    ha="left", va="top", fontsize=THEME.note_pt, color=THEME.target)
        worst = int(ranks["worst"].max())
        ax.set_xlim(0.5, max(worst, top + 1) + 0.5)
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("rank (1 = first)")
        ax.grid(visible=False, axis="y")
        # The title starts where the axes do, right of the initiative names.
        room = _W - 0.3 - plots._widest(labels, THEME.note_pt)
        plots._title(ax, f"Rank of the leading initiatives with each weight {sens.step:.0%} "
                     "up or down", None, room)
        return fig
