"""The gap analysis notebook's sections for one service and quarter.

The notebook calls :func:`csi_lib.gaps.prepare` once, then one ``show_*``
function per section, in the order of the report.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib import catalogue, display
from csi_lib.gaps.analysis import FORECAST_LEVEL, TREND_MONTHS, WATERMELON_KPIS
from csi_lib.gaps.context import GapContext
from csi_lib.gaps.summary import (
    STATUS_WORDS,
    forecast_basis,
    forecast_summary,
    gap_summary,
    signal_summary,
    summary_text,
)
from csi_lib.gaps.targets import target_table
from csi_lib.gaps.triggers import period_name
from csi_lib.kpis import active_in_table, no_tickets_text
from csi_lib.kpis.spc import RUN_LENGTH, TREND_LENGTH, X_FACTOR
from csi_lib.kpis.trend import SIGNIFICANCE
from csi_lib.quality import exclusion_note

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "show_control_charts",
    "show_definitions",
    "show_forecast",
    "show_gap_chart",
    "show_gap_table",
    "show_history",
    "show_method",
    "show_signals",
    "show_summary",
    "show_targets",
    "show_title",
    "show_triggers",
    "show_watermelon",
]

CHARTS_PER_FIGURE = 12    # four rows of three: a figure that fits one PDF page


def _show_figure(fig: Figure) -> None:
    # Imported here, like the charts: importing the package stays free of matplotlib.
    from csi_lib.plots import show_figure

    show_figure(fig)


def show_title(ctx: GapContext) -> None:
    """A heading for analysts in JupyterLab (reports carry their own title block)."""
    display.show_markdown(f"# Gap analysis: {display.esc(ctx.service.name)}, {ctx.label}\n\n"
                          f"{display.esc(ctx.params.client.name)}")


def _no_tickets(ctx: GapContext) -> bool:
    """Show "no tickets in this period" instead of a section when the service has none."""
    if active_in_table(ctx.kpis, ctx.service.id, ctx.label):
        return False
    display.show_markdown(no_tickets_text(display.esc(ctx.service.name), ctx.label))
    return True


def show_summary(ctx: GapContext) -> None:
    if ctx.exclusions is not None:
        note = exclusion_note(ctx.exclusions, ctx.service.id)
        if note:
            display.show_markdown(note)
    if _no_tickets(ctx):
        return
    display.show_markdown(summary_text(ctx))


def show_gap_table(ctx: GapContext) -> None:
    if _no_tickets(ctx):
        return
    display.show_table(gap_summary(ctx), caption=(
        f"KPIs against target, {ctx.label}. Trend over the last {TREND_MONTHS} months: "
        "improving or worsening where the change is real, noise where it is not"))


def show_gap_chart(ctx: GapContext) -> None:
    from csi_lib.gaps.charts import gap_figure

    if _no_tickets(ctx):
        return
    _show_figure(gap_figure(ctx.gaps, ctx.params.gaps.tolerance, ctx.label))


def show_control_charts(ctx: GapContext) -> None:
    from csi_lib.gaps.charts import xmr_figure

    if _no_tickets(ctx):
        return
    charts = [c for c in ctx.charts.values() if c.points["value"].notna().any()]
    if not charts:
        display.show_markdown(f"No KPI of {display.esc(ctx.service.name)} has monthly data "
                              "to chart.")
        return
    for i in range(0, len(charts), CHARTS_PER_FIGURE):
        _show_figure(xmr_figure(charts[i:i + CHARTS_PER_FIGURE]))


def show_signals(ctx: GapContext) -> None:
    if _no_tickets(ctx):
        return
    display.show_table(signal_summary(ctx), caption=f"Control chart signals in {ctx.label}")


def show_triggers(ctx: GapContext) -> None:
    if _no_tickets(ctx):
        return
    t = ctx.triggers
    if t.empty:
        display.show_markdown(f"No improvement review is raised for "
                              f"{display.esc(ctx.service.name)} in {ctx.label}.")
        return
    table = pd.DataFrame({
        "KPI": [catalogue.get(k).label for k in t["kpi"]],
        "Rule": t["rule"],
        "Since": [period_name(s) for s in t["since"]],
        "Periods": t["periods"],
        "Evidence": t["evidence"],
    })
    display.show_table(table, caption=f"Improvement reviews raised in {ctx.label}")


def show_watermelon(ctx: GapContext) -> None:
    w = ctx.watermelon
    names = {s.id: s.name for s in ctx.params.services}
    ids = [k for k in WATERMELON_KPIS if k in w.columns]
    table = pd.DataFrame({"Service": [names[s] + (" (this report)" if s == ctx.service.id
                                                  else "") for s in w["service"]],
                          "SLA compliance": [STATUS_WORDS.get(s, s) for s in w["sla"]]})
    for k in ids:
        table[catalogue.get(k).label] = [STATUS_WORDS.get(s, s) for s in w[k]]
    table["Verdict"] = w["verdict"].map({"watermelon": "Watermelon", "consistent": "Consistent",
                                         "SLA not green": "SLA not green",
                                         "no SLA target": "No SLA target",
                                         "no SLA data": "No SLA data"})
    display.show_table(table, caption=f"SLA status beside what users feel, {ctx.label}")


def show_forecast(ctx: GapContext) -> None:
    if _no_tickets(ctx):
        return
    basis = forecast_basis(ctx)
    caption = f"{ctx.next_label} on the present course"
    if basis is not None:
        caption += f"; each forecast rests on {basis}"
    display.show_table(forecast_summary(ctx), caption=caption)


def show_history(ctx: GapContext) -> None:
    if _no_tickets(ctx):
        return
    h = ctx.history
    rows = [{"KPI": catalogue.get(k).label} | {q: catalogue.get(k).format(h.loc[k, q])
                                                 for q in h.columns} for k in h.index]
    display.show_table(pd.DataFrame(rows), caption="Quarterly values, oldest first")


def show_targets(ctx: GapContext) -> None:
    t = target_table(ctx.params)
    t = t.loc[t["service"] == ctx.service.id]
    rows = []
    for _, r in t.iterrows():
        kpi = catalogue.get(r["kpi"])
        has = not math.isnan(r["target"])
        side = "below" if kpi.direction == "higher" else "above"
        rows.append({"KPI": kpi.label, "Better": kpi.direction,
                     "Target": kpi.format(r["target"]) if has else "none",
                     "Set by": {"service override": "service override",
                                "client default": "client default",
                                "none": "–"}[r["source"]],
                     "Red when": f"{side} {kpi.format(r['threshold'])}" if has else "–"})
    display.show_table(pd.DataFrame(rows), caption="Targets of this service")


def show_method(ctx: GapContext) -> None:
    g = ctx.params.gaps
    unit = "months" if g.trigger_freq == "M" else "quarters"
    base = (f"the {g.baseline_months} months" if g.baseline_months
            else "every month available")
    display.show_markdown(
        f"**Targets and status.** A KPI's target is the service's override where one is "
        f"set, else the client's default; without either the KPI has no target and is not "
        f"judged. Green meets the target; amber misses it by no more than "
        f"{g.tolerance:.0%} of the target; red misses it by more. The gap is the value less "
        f"the target, in points for shares, and relative to the target in brackets.\n\n"
        f"**Trend.** A straight line fitted to the last {TREND_MONTHS} monthly values; its "
        f"slope is called real when a t-test finds it unlikely to arise from routine "
        f"variation alone (p < {SIGNIFICANCE}), and noise otherwise.\n\n"
        f"**Control charts (XmR).** The centre line is the mean of {base} before the "
        f"quarter under review; the limits are the centre line ± {X_FACTOR} × the average "
        f"moving range (the difference between consecutive months). A limit beyond what the "
        f"KPI can take (below 0%, above 100%) is left out. Signals: a point outside the "
        f"limits; {RUN_LENGTH} months in a row on one side of the centre line; "
        f"{TREND_LENGTH} months in a row steadily rising or falling.\n\n"
        f"**Triggers.** An improvement review is raised when a KPI is red for "
        f"{g.trigger_periods} consecutive {unit} and still red in the quarter under review, "
        f"or when its control chart shows a signal of deterioration still present in that "
        f"quarter. The table of triggers feeds the prioritisation report.\n\n"
        f"**Watermelon check.** A service whose SLA compliance (the resolution SLA; the "
        f"response SLA where the resolution SLA has no target) is green while customer "
        f"satisfaction, reopen rate, backlog or P90 resolution time is red; a KPI without a "
        f"target counts as red when its control chart signals a deterioration.\n\n"
        f"**Forecast.** The fitted trend line averaged over the next quarter's three months, "
        f"with a {FORECAST_LEVEL:.0%} prediction interval: on the present course, four "
        f"outcomes in five fall inside it. A quarter's value is taken as the average of its "
        f"months. The outlook is likely when the whole interval lies on one side of the "
        f"target, uncertain when it straddles it.\n\n"
        f"**History.** Every figure is computed as known at the end of {ctx.label}; nothing "
        f"from a later period is read.")


def show_definitions() -> None:
    rows = [{"KPI": k.label, "Unit": k.unit, "Better": k.direction, "Kind": k.kind,
             "Method": k.method}
            for k in catalogue.CATALOGUE.values() if k.direction != "neutral"]
    display.show_table(pd.DataFrame(rows), caption="KPI definitions")
