"""The pack notebook's sections: one call apiece, each a table or words from the tables.

The notebook calls :func:`prepare` once, then one ``show_*`` function per section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib import display
from csi_lib.pack.headlines import headlines
from csi_lib.pack.questions import (
    accountability,
    backlog_by_service,
    benefit_table,
    delivered_recently,
    improving_trends,
    maturity_table,
    plan_table,
    reviews_table,
    time_ring_fenced,
)
from csi_lib.pack.scorecard import scorecard, scorecard_figure, service_status
from csi_lib.pack.tables import PackTables, read_tables
from csi_lib.params import load_params
from csi_lib.periods import quarter_label
from csi_lib.plots import show_figure
from csi_lib.quality import exclusion_note

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["Pack", "build", "prepare", "show_accountability",
           "show_backlog", "show_benefits", "show_delivered", "show_headlines",
           "show_maturity", "show_method", "show_plan", "show_read_more", "show_reviews",
           "show_scorecard", "show_time", "show_title"]


@dataclass(frozen=True)
class Pack:
    """Everything the pack shows, read once from the run's published tables."""

    params: Params
    period: pd.Period
    tables: PackTables
    card: pd.DataFrame = field(repr=False)
    messages: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @property
    def names(self) -> dict[str, str]:
        """Ids and names of the services the pack covers, in params order."""
        return {s.id: s.name for s in self.params.services if s.id in self.tables.services}


def build(params: Params, period: pd.Period, folder: str | Path) -> Pack:
    """The pack of one client's period from the tables published in ``folder``."""
    tables = read_tables(folder, params)
    names = {s.id: s.name for s in params.services}
    card = scorecard(tables, names)
    label = quarter_label(period)
    return Pack(params=params, period=period, tables=tables, card=card,
                messages=tuple(headlines(tables, card, label, names)))


def prepare(params_file: str | Path, period: str | None, inputs_dir: str | Path) -> Pack:
    """Load the params and read the period's published tables from ``inputs_dir`` (the
    runner passes it; by hand, :func:`csi_lib.published.tables_folder` finds one)."""
    params = load_params(params_file)
    return build(params, params.period(period), inputs_dir)


def show_title(ctx: Pack) -> None:
    """A heading for analysts in JupyterLab (the rendered pack carries its title block)."""
    display.show_markdown(f"# Quarterly pack: {display.esc(ctx.params.client.name)}, "
                          f"{ctx.label}")


def show_scorecard(ctx: Pack) -> None:
    """Page 1: the heat map of services by headline KPIs, and what it leaves out."""
    if ctx.tables.exclusions is not None:
        note = exclusion_note(ctx.tables.exclusions)
        if note:
            display.show_markdown(note)
    status = service_status(ctx.card)
    alt = (f"Scorecard heat map of {len(status)} services by {ctx.card['kpi'].nunique()} "
           "headline KPIs: " + "; ".join(
               f"{ctx.names.get(s, s)}: {st}" for s, st in status.items()))
    show_figure(scorecard_figure(ctx.card, ctx.label), alt=alt)
    counts = ", ".join(f"{(status == s).sum()} {s}" for s in ("red", "amber", "green"))
    text = (f"Services by their worst KPI against target: {counts} "
            f"(of {len(status)}).")
    if ctx.tables.missing_services:
        text += (" Not in this run (no gap analysis): "
                 + ", ".join(display.esc(s) for s in ctx.tables.missing_services) + ".")
    display.show_markdown(text)


def show_headlines(ctx: Pack) -> None:
    """The three to five headline messages."""
    display.show_markdown("\n".join(f"- {m}" for m in ctx.messages))


def _absent(report: str, setting: str) -> None:
    display.show_markdown(f"*No {report} in this run: set `{setting}` in the client's params "
                          "to include it.*")


def show_backlog(ctx: Pack) -> None:
    """How big is the improvement backlog, by service?"""
    if ctx.tables.plan is None:
        _absent("prioritisation", "prioritisation.register_file")
        return
    display.show_table(backlog_by_service(ctx.tables.plan, ctx.names),
                       caption="Open initiatives in the improvement register")


def show_delivered(ctx: Pack) -> None:
    """Improvement actions delivered and closed in the last three quarters."""
    if ctx.tables.plan is None:
        _absent("prioritisation", "prioritisation.register_file")
        return
    done = delivered_recently(ctx.tables.plan, ctx.period, ctx.tables.benefits,
                                        ctx.names)
    first = quarter_label(ctx.period - 2)
    if done.empty:
        display.show_markdown(f"No initiative was delivered from {first} to {ctx.label}.")
        return
    display.show_markdown(f"**{len(done)} initiative{'s' if len(done) != 1 else ''} "
                          f"delivered from {first} to {ctx.label}.**")
    display.show_table(done, caption="Delivered initiatives and the benefit review's verdict")


def show_time(ctx: Pack) -> None:
    """What share of team time is ring-fenced for improvement?"""
    if ctx.tables.capacity is None:
        _absent("prioritisation", "prioritisation.register_file")
        return
    display.show_markdown(time_ring_fenced(ctx.tables.capacity))


def show_benefits(ctx: Pack) -> None:
    """Which metrics are improving because of improvement work, and how do we know?"""
    b = ctx.tables.benefits
    if b is not None and len(b):
        display.show_markdown(
            "The benefit review compares each delivered initiative's KPI after delivery with "
            "the course it was on before, and with the services it did not touch: a change "
            "counts only beyond both.")
        display.show_table(benefit_table(b, ctx.names),
                           caption="Delivered initiatives: their KPI before and after")
        return
    trends = improving_trends(ctx.tables.gaps, ctx.names)
    n = int((ctx.tables.gaps["trend"] == "improving").sum())
    text = ("*No benefit review in this run*, so no improvement is yet attributed to "
            "improvement work.")
    if n:
        text += (f" The gap analysis finds {n} KPI trend"
                 f"{'s' if n != 1 else ''} really improving over twelve months "
                 "(beyond routine variation); whether improvement work caused them is what "
                 "the benefit review tests.")
    display.show_markdown(text)
    if len(trends):
        display.show_table(trends, caption="KPIs improving over twelve months")


def show_accountability(ctx: Pack) -> None:
    """Who is accountable: service owners and the owners of planned initiatives."""
    display.show_table(accountability(ctx.tables, list(ctx.params.services),
                                                ctx.names),
                       caption="Accountable owners")


def show_plan(ctx: Pack) -> None:
    """Next quarter's initiatives within capacity."""
    if ctx.tables.plan is None:
        _absent("prioritisation", "prioritisation.register_file")
        return
    table = plan_table(ctx.tables.plan, ctx.names)
    if table.empty:
        display.show_markdown("Nothing fits this quarter's capacity.")
        return
    display.show_table(table, caption="The plan within the ring-fenced hours, in start order")


def show_reviews(ctx: Pack) -> None:
    """The improvement reviews the gap analysis triggered."""
    table = reviews_table(ctx.tables.triggers, ctx.names)
    if table.empty:
        display.show_markdown("No improvement review was triggered this quarter.")
        return
    display.show_table(table, caption="Improvement reviews triggered")


def show_maturity(ctx: Pack) -> None:
    """The maturity level, its change and the weakest area."""
    m = ctx.tables.maturity
    if m is None:
        _absent("maturity assessment", "maturity.questionnaires")
        return
    display.show_table(maturity_table(m),
                       caption="Capability areas (ISO/IEC 33020 levels 1-5)")


def show_read_more(ctx: Pack) -> None:
    """Where each service's detailed reports are, relative to this pack."""
    rows = [{"Service": name, "Baseline": f"{sid}/baseline.pdf",
             "Gap analysis": f"{sid}/gap_analysis.pdf"} for sid, name in ctx.names.items()]
    client = [name for name, present in (("prioritisation.pdf", ctx.tables.plan is not None),
                                         ("maturity.pdf", ctx.tables.maturity is not None),
                                         ("benefits.pdf", ctx.tables.benefits is not None))
              if present]
    display.show_table(pd.DataFrame(rows), caption="Detailed reports, beside this pack")
    if client:
        display.show_markdown("For the whole client: " + ", ".join(f"`{c}`" for c in client)
                              + "; the KPI table is `kpis.csv`.")


def show_method(ctx: Pack) -> None:
    """Where each number comes from."""
    display.show_markdown(
        "This pack computes no figure of its own: it reads the tables the period's reports "
        "published, so each number equals the one in the detailed report. Values, targets, "
        "status and trends: each service's gap analysis (`gaps.csv`; the status is green on "
        f"target, amber within the {ctx.params.gaps.tolerance:.0%} tolerance, red beyond; "
        "the trend is the twelve-month line, reported only when it is more than routine "
        "variation). Reviews: `triggers.csv`. Backlog, plan and ring-fenced time: the "
        "prioritisation (`plan.csv`, `capacity.csv`). Maturity: `maturity.csv`. Benefits: "
        "`benefits.csv`. Biggest win and deterioration compare each scorecard cell with the "
        "previous quarter: cells with a target first, by how far they moved as a share of "
        "the target; cells without one by their relative change.")
