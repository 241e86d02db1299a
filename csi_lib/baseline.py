"""The baseline report ("where are we now?") for one service and quarter.

The notebook calls one function per section; each builds its numbers with a
pure function (tested) and displays them with :mod:`csi_lib.display`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from csi_lib import catalogue, display, plots
from csi_lib.data import load_kpis, load_tables
from csi_lib.ingest import Ingested
from csi_lib.kpis import active_in_table, as_of_view, no_tickets_text, period_bounds
from csi_lib.params import Params, Service, load_params
from csi_lib.periods import quarter_label
from csi_lib.quality import exclusion_note, exclusion_table

__all__ = [
    "Baseline",
    "kpi_summary",
    "missing_kpis",
    "prepare",
    "quality_summary",
    "show_backlog",
    "show_data_quality",
    "show_definitions",
    "show_distribution",
    "show_kpi_table",
    "show_summary",
    "show_title",
    "show_trends",
    "summary_text",
]

# KPIs shown in the trend charts: outcome and experience first, at most six panels.
TREND_KPIS = ("sla_resolution", "resolution_median_h", "backlog", "fcr", "reopen_rate",
              "csat_mean")


@dataclass(frozen=True)
class Baseline:
    """Everything one baseline report shows, computed once."""

    params: Params
    period: pd.Period
    service: Service
    kpis: pd.DataFrame
    tables: Ingested

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @property
    def previous_label(self) -> str:
        return quarter_label(self.period - 1)

    @cached_property
    def active(self) -> int:
        """The service's tickets opened or resolved in the quarter, or open at its end."""
        return active_in_table(self.kpis, self.service.id, self.label)

    def quarter(self, label: str) -> pd.DataFrame:
        k = self.kpis
        return k.loc[(k["service"] == self.service.id) & (k["freq"] == "Q")
                     & (k["period"] == label)].set_index("kpi")


def prepare(params_file: str | Path, period: str | None, service: str,
            outputs: str | Path) -> Baseline:
    """Load params and data (from the ingest cache when fresh) and compute the KPIs."""
    params = load_params(params_file)
    quarter = params.period(period)
    svc = params.service(service)
    tables = load_tables(params, outputs)
    kpis = load_kpis(params, quarter, outputs, tables)
    return Baseline(params=params, period=quarter, service=svc, kpis=kpis, tables=tables)


def kpi_summary(ctx: Baseline, kpi_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per KPI: this quarter with its 95% interval, the previous quarter, the
    change, target and basis. KPIs the export cannot feed (no data in either quarter)
    are left out; :func:`missing_kpis` names them."""
    now, before = ctx.quarter(ctx.label), ctx.quarter(ctx.previous_label)
    targets = ctx.params.kpi_targets
    rows = []
    for kpi_id in kpi_ids or catalogue.ids():
        kpi = catalogue.get(kpi_id)
        value = now["value"].get(kpi.id, float("nan"))
        prev = before["value"].get(kpi.id, float("nan"))
        if value != value and prev != prev:  # NaN in both: nothing to show
            continue
        target = targets.get(kpi.id)
        status = "no target"
        if target is not None and value == value:
            ok = value >= target if kpi.direction == "higher" else value <= target
            status = "met" if ok else "missed"
        better = kpi.better(value, prev) if value == value and prev == prev else None
        rows.append({
            "KPI": kpi.label,
            ctx.label: kpi.format(value),
            "95% interval": kpi.format_interval(now["ci_low"].get(kpi.id, float("nan")),
                                                now["ci_high"].get(kpi.id, float("nan"))),
            ctx.previous_label: kpi.format(prev),
            "Change": kpi.format_change(value, prev),
            "Trend": {True: "better", False: "worse", None: "–"}[better],
            "Target": kpi.format(target) if target is not None else "–",
            "Status": status,
            "Based on": f"{int(now['n'].get(kpi.id, 0)):,} {kpi.basis}",
        })
    return pd.DataFrame(rows)


def missing_kpis(ctx: Baseline) -> list[str]:
    """Labels of KPIs with no value in this or the previous quarter (the export lacks
    what they need, e.g. a knowledge column)."""
    now, before = ctx.quarter(ctx.label), ctx.quarter(ctx.previous_label)
    return [catalogue.get(k).label for k in catalogue.ids()
            if now["value"].get(k, float("nan")) != now["value"].get(k, float("nan"))
            and before["value"].get(k, float("nan")) != before["value"].get(k, float("nan"))]


def _movers(ctx: Baseline) -> list[tuple[float, str]]:
    """(signed relative improvement, sentence) per directional KPI with both quarters."""
    now, before = ctx.quarter(ctx.label), ctx.quarter(ctx.previous_label)
    out = []
    for kpi in catalogue.CATALOGUE.values():
        if kpi.direction == "neutral" or kpi.id == "resolution_mean_h":
            continue
        v, p = now["value"].get(kpi.id), before["value"].get(kpi.id)
        if v is None or p is None or v != v or p != p or p == 0:
            continue
        sign = 1 if kpi.direction == "higher" else -1
        gain = sign * (v - p) / abs(p)
        out.append((gain, (f"{kpi.label.lower()} {kpi.format(p)} → {kpi.format(v)} "
                           f"({kpi.format_change(v, p)})")))
    return sorted(out)


def summary_text(ctx: Baseline) -> str:
    """The executive summary in words (Markdown), generated from the numbers."""
    now = ctx.quarter(ctx.label)
    name = display.esc(ctx.service.name)
    vol = catalogue.get("volume")
    lines = [(f"**{name}** handled **{vol.format(now['value'].get('volume'))} tickets** "
              f"opened in {ctx.label}.")]
    sla = catalogue.get("sla_resolution")
    target = ctx.params.kpi_targets.get("sla_resolution")
    sla_v = now["value"].get("sla_resolution")
    if sla_v is not None and sla_v == sla_v:
        against = ""
        if target is not None:
            against = (" meeting" if sla_v >= target else " below") + \
                f" the {sla.format(target)} target"
        lines.append(f"The resolution SLA was met for **{sla.format(sla_v)}** of "
                     f"{int(now['n'].get('sla_resolution', 0)):,} tickets resolved,{against}; "
                     f"half were resolved within "
                     f"{catalogue.get('resolution_median_h').format(now['value'].get('resolution_median_h'))}"
                     f" and nine in ten within "
                     f"{catalogue.get('resolution_p90_h').format(now['value'].get('resolution_p90_h'))}.")
    movers = _movers(ctx)
    better = [m for m in movers if m[0] > 0.02]
    worse = [m for m in movers if m[0] < -0.02]
    lines.append(f"Against {ctx.previous_label}, **{len(better)} KPIs improved** and "
                 f"**{len(worse)} worsened** (changes under 2% counted as steady).")
    if better:
        lines.append("Largest improvements: " + "; ".join(s for _, s in better[::-1][:3]) + ".")
    if worse:
        lines.append("Largest deteriorations: " + "; ".join(s for _, s in worse[:3]) + ".")
    summary = kpi_summary(ctx)
    missed = summary.loc[summary["Status"] == "missed", "KPI"].tolist()
    met = summary.loc[summary["Status"] == "met", "KPI"].tolist()
    if missed or met:
        lines.append(f"Targets: {len(met)} met, {len(missed)} missed"
                     + (f" ({', '.join(missed)})." if missed else "."))
    return "\n\n".join(lines)


def quality_summary(ctx: Baseline) -> pd.DataFrame:
    """What ingest excluded or flagged, by file, column and rule, with example rows."""
    issues = ctx.tables.issues
    if issues.empty:
        return pd.DataFrame({"Result": ["No row was excluded or flagged."]})
    return pd.DataFrame({
        "Table": issues["table"],
        "Column": issues["column"],
        "Rule": issues["rule"],
        "Action": issues["action"],
        "Rows": issues["rows"].map("{:,}".format),
        "Example rows": issues["examples"],
        "Fix": issues["fix"],
    })


def _show_figure(fig: Figure) -> None:
    plots.show_figure(fig)


def show_title(ctx: Baseline) -> None:
    """A heading for analysts in JupyterLab (reports carry their own title block)."""
    display.show_markdown(f"# Service baseline: {display.esc(ctx.service.name)}, {ctx.label}\n\n"
                          f"{display.esc(ctx.params.client.name)}")


def _no_tickets(ctx: Baseline) -> bool:
    """Show "no tickets in this period" instead of a section when the service has none."""
    if ctx.active:
        return False
    display.show_markdown(no_tickets_text(display.esc(ctx.service.name), ctx.label))
    return True


def show_summary(ctx: Baseline) -> None:
    note = exclusion_note(exclusion_table(ctx.tables, ctx.params), ctx.service.id)
    if note:
        display.show_markdown(note)
    if _no_tickets(ctx):
        return
    display.show_markdown(summary_text(ctx))


def show_kpi_table(ctx: Baseline) -> None:
    if _no_tickets(ctx):
        return
    for section, kpi_ids in catalogue.sections().items():
        table = kpi_summary(ctx, kpi_ids)
        if not table.empty:
            display.show_table(table, caption=f"{section}: {ctx.label} beside "
                                              f"{ctx.previous_label}")
    missing = missing_kpis(ctx)
    if missing:
        display.show_markdown(
            "Not shown, as the export does not record what they need: "
            + ", ".join(display.esc(m) for m in missing) + ". " + catalogue.INTERVAL_NOTE)
    else:
        display.show_markdown(catalogue.INTERVAL_NOTE)


def show_trends(ctx: Baseline) -> None:
    if _no_tickets(ctx):
        return
    start, end = ctx.period.start_time, ctx.period.end_time
    _show_figure(plots.kpi_trends(
        ctx.kpis, ctx.service.id, list(TREND_KPIS), targets=ctx.params.kpi_targets,
        highlight=(start, end)))


def show_distribution(ctx: Baseline) -> None:
    if _no_tickets(ctx):
        return
    start, end = period_bounds(ctx.period, ctx.params.reporting.timezone)
    tickets = as_of_view(ctx.tables.tickets, end, born="opened_at",
                         later=("responded_at", "resolved_at", "closed_at"))
    targets = {p: t.resolution / pd.Timedelta(hours=1) for p, t in ctx.params.sla.targets.items()}
    _show_figure(plots.resolution_distribution(
        tickets, ctx.service.id, start, end, targets_h=targets))


def show_backlog(ctx: Baseline) -> None:
    if _no_tickets(ctx):
        return
    _show_figure(plots.backlog_chart(ctx.kpis, ctx.service.id))


def show_data_quality(ctx: Baseline) -> None:
    t = ctx.tables
    kept = int((t.tickets["service"] == ctx.service.id).sum())
    read = t.rows_read.get("tickets", 0)
    rows = t.export_rows("tickets")
    excluded = int((t.excluded["table"] == "tickets").sum())
    as_read = f", read as **{read:,} tickets**" if rows != read else ""
    display.show_markdown(
        f"The ticket export had **{rows:,} rows**{as_read}; **{excluded:,}** were excluded "
        f"for the reasons below and {read - excluded:,} kept, of which **{kept:,}** belong to "
        f"{display.esc(ctx.service.name)}. Example rows are line numbers in the export "
        "(the header is line 1).")
    display.show_table(quality_summary(ctx), caption="Rows excluded or flagged at ingest")


def show_definitions() -> None:
    display.show_table(catalogue.definitions(), caption="KPI definitions")
