"""The opportunities section of the baseline report: one call per part, plain inputs.

Each function takes the ingested tables, the params, the period and a
service id, so any notebook can show it; words are generated from the numbers.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from csi_lib import display, plots
from csi_lib.ingest import Ingested
from csi_lib.kpis import active_tickets, no_tickets_text, period_bounds
from csi_lib.opportunities.automation import (
    MAX_SPREAD,
    MIN_VOLUME,
    SHORT_H,
    automation_candidates,
)
from csi_lib.opportunities.concentration import PARETO_SHARE, pareto, pareto_chart
from csi_lib.opportunities.proposals import format_hours
from csi_lib.opportunities.repeats import WINDOW_DAYS, repeat_clusters
from csi_lib.opportunities.selection import lacks, usable
from csi_lib.params import Params, Service
from csi_lib.periods import quarter_label

__all__ = ["automation_text", "pareto_by", "pareto_text", "repeats_text", "show_automation",
           "show_opportunities", "show_pareto", "show_repeats"]

TOP_REPEATS = 8   # rows of the repeat table; the rest are summed in the sentence above it
# With fewer categories than this, a Pareto of categories says little: use subcategories.
MIN_PARETO_GROUPS = 4
_PLURAL = {"category": "categories", "subcategory": "subcategories"}


def _context(params: Params, period: pd.Period | str, service: str
             ) -> tuple[Service, pd.Period, pd.Timestamp, pd.Timestamp]:
    period = params.period(period) if isinstance(period, str) else period
    start, end = period_bounds(period, params.reporting.timezone)
    return params.service(service), period, start, end


def _no_tickets(tables: Ingested, params: Params, period: pd.Period, svc: Service) -> bool:
    """Show "no tickets in this period" instead of a section when the service has none."""
    if active_tickets(tables.tickets, params, period)[svc.id]:
        return False
    display.show_markdown(no_tickets_text(display.esc(svc.name), quarter_label(period)))
    return True


def _show_figure(fig: Figure) -> None:
    plots.show_figure(fig)


def _listing(names: list[str]) -> str:
    names = [display.esc(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def pareto_text(table: pd.DataFrame, service_name: str, label: str) -> str:
    """The sentence above the Pareto chart (Markdown)."""
    total = int(table["tickets"].sum())
    if total == 0:
        return f"No tickets were opened for {display.esc(service_name)} in {label}."
    key = str(table.columns[0])
    few = table.loc[table["in_80"]]
    shares = [f"{n} ({s:.0%})" for n, s in zip(few[key], few["share"], strict=True)]
    plural = _PLURAL.get(key, f"{key.replace('_', ' ')} values")
    return (f"**{len(few)} of {len(table)} {plural}** make up "
            f"{float(few['cumulative_share'].iloc[-1]):.0%} of the {total:,} tickets opened "
            f"in {label}: {_listing(shares)}. Improvement there moves most of the volume "
            f"(the Pareto principle: the {PARETO_SHARE:.0%} line marks the vital few).")


def repeats_text(table: pd.DataFrame, incidents: int, label: str) -> str:
    """The sentence above the repeat-incident table (Markdown)."""
    thing = "configuration item" if table.columns[0] == "cmdb_ci" else "category"
    if table.empty:
        return (f"No incident opened in {label} repeated one the same caller had opened about "
                f"the same {thing} in the previous {WINDOW_DAYS} days ({incidents:,} "
                "incidents checked).")
    repeats, clusters = int(table["repeats"].sum()), int(table["clusters"].sum())
    share = repeats / incidents if incidents else 0.0
    return (f"**{repeats:,} of the {incidents:,} incidents** opened in {label} ({share:.1%}) "
            f"repeated one the same caller had opened about the same {thing} within "
            f"{WINDOW_DAYS} days, in {clusters:,} clusters. Repeats point at a problem that "
            "incident handling works around: each group below is a candidate for a problem "
            "review.")


def automation_text(table: pd.DataFrame) -> str:
    """The sentences above the automation table (Markdown); ``table`` has all rows."""
    tests = (f"at least the median group's volume and {MIN_VOLUME} tickets, median "
             f"resolution within {SHORT_H:g} h, and a middle half no wider than "
             f"{MAX_SPREAD:g} times the median")
    if table.empty:
        return "No ticket was resolved in the period: no automation candidate to assess."
    keys = [k for k in ("category", "subcategory") if k in table.columns]
    cand = table.loc[table["candidate"]]
    if cand.empty:
        near = table.loc[table["high_volume"]].sort_values("median_h").head(3)
        why = [f"{display.esc(' / '.join(str(r[k]) for k in keys))} (median "
               f"{format_hours(r['median_h'])}, middle half {r['spread']:.1f} times the median)"
               for _, r in near.iterrows()]
        return (f"No group of tickets passes all three tests ({tests}). "
                + (f"The quickest high-volume groups are {_listing(why)}." if why else ""))
    hours = float(cand["hours_freed"].sum())
    basis = str(cand["effort_basis"].iloc[0])
    note = ("" if basis == "median handle time" else
            " The export has no handle time, so the effort per ticket "
            f"is the {basis}: an assumption to confirm with the team, as resolution time "
            "is mostly waiting.")
    return (f"**{len(cand)} group{'s' if len(cand) > 1 else ''} of tickets** "
            f"pass{'' if len(cand) > 1 else 'es'} all three tests ({tests}). Automating "
            f"them, or moving them to self-service, would free up to **{format_hours(hours)} "
            f"of agent time** in the quarter.{note}")


def _automation_rows(table: pd.DataFrame) -> pd.DataFrame:
    cand = table.loc[table["candidate"]]
    keys = [k for k in ("category", "subcategory") if k in table.columns]
    return pd.DataFrame({
        **{k.capitalize(): cand[k] for k in keys},
        "Tickets": cand["tickets"].map("{:,}".format),
        "Median": cand["median_h"].map(format_hours),
        "Middle half": [f"{format_hours(a)} – {format_hours(b)}"
                        for a, b in zip(cand["p25_h"], cand["p75_h"], strict=True)],
        "Effort per ticket": cand["effort_h"].map(format_hours),
        "Hours freed": cand["hours_freed"].map(format_hours),
    })


def pareto_by(tickets: pd.DataFrame, service: str, start: pd.Timestamp,
              end: pd.Timestamp) -> str:
    """``category``, or ``subcategory`` when the service's tickets of the period fall in
    fewer than MIN_PARETO_GROUPS categories and the export has subcategories."""
    if "subcategory" not in tickets or not usable(tickets["subcategory"]):
        return "category"
    few = len(pareto(tickets, service, start, end)) < MIN_PARETO_GROUPS
    return "subcategory" if few else "category"


def show_pareto(tables: Ingested, params: Params, period: pd.Period | str, service: str,
                *, by: str | None = None) -> None:
    """Which categories make up 80% of the service's tickets: a sentence and the chart.

    ``by`` defaults to :func:`pareto_by`: categories, or subcategories when the
    service has too few categories for a Pareto to say anything.
    """
    svc, period, start, end = _context(params, period, service)
    if _no_tickets(tables, params, period, svc):
        return
    if by is None and (reason := lacks(tables.tickets, "pareto")):
        display.show_markdown(f"Not shown: {reason}.")
        return
    by = by or pareto_by(tables.tickets, service, start, end)
    table = pareto(tables.tickets, service, start, end, by=by)
    label = quarter_label(period)
    plural = _PLURAL.get(by, f"{by.replace('_', ' ')} values")
    text = pareto_text(table, svc.name, label)
    if by == "subcategory":
        text += (f" Subcategories, because the service's tickets fall in fewer than "
                 f"{MIN_PARETO_GROUPS} categories.")
    display.show_markdown(text)
    if int(table["tickets"].sum()):
        _show_figure(pareto_chart(
            table, title=f"Tickets opened in {label} by {by.replace('_', ' ')}",
            subtitle=f"coloured: the {plural} that together make up {PARETO_SHARE:.0%} of "
                     "tickets; line: cumulative share"))


def show_repeats(tables: Ingested, params: Params, period: pd.Period | str,
                 service: str) -> None:
    """Repeat incidents by category (or configuration item): a sentence and a table."""
    svc, period, start, end = _context(params, period, service)
    if _no_tickets(tables, params, period, svc):
        return
    t = tables.tickets
    if reason := lacks(t, "repeats"):
        display.show_markdown(f"Not shown: {reason}.")
        return
    table = repeat_clusters(t, svc.id, start, end)
    mine = t.loc[(t["service"] == svc.id) & (t["opened_at"] >= start) & (t["opened_at"] < end)]
    if "record_type" in mine:
        mine = mine.loc[mine["record_type"] == "incident"]
    display.show_markdown(repeats_text(table, len(mine), quarter_label(period)))
    if table.empty:
        return
    key = str(table.columns[0])
    top = table.head(TOP_REPEATS)
    display.show_table(pd.DataFrame({
        "Configuration item" if key == "cmdb_ci" else "Category": top[key],
        "Clusters": top["clusters"].map("{:,}".format),
        "Incidents in clusters": top["tickets"].map("{:,}".format),
        "Repeats": top["repeats"].map("{:,}".format),
        "Callers": top["callers"].map("{:,}".format),
        "Repeats in the group's incidents": top["repeat_share"].map("{:.1%}".format),
    }), caption=f"Repeat incidents (same caller within {WINDOW_DAYS} days), "
                f"{svc.name}, {quarter_label(period)}")


def show_automation(tables: Ingested, params: Params, period: pd.Period | str,
                    service: str) -> None:
    """Automation candidates with the agent hours they would free: sentences and a table."""
    svc, period, start, end = _context(params, period, service)
    if _no_tickets(tables, params, period, svc):
        return
    if reason := lacks(tables.tickets, "automation"):
        display.show_markdown(f"Not shown: {reason}.")
        return
    table = automation_candidates(tables.tickets, svc.id, start, end, all_rows=True)
    display.show_markdown(automation_text(table))
    if table["candidate"].any():
        display.show_table(_automation_rows(table),
                           caption=f"Automation candidates, {svc.name}, {quarter_label(period)}")


def show_opportunities(tables: Ingested, params: Params, period: pd.Period | str,
                       service: str) -> None:
    """The whole opportunities section: Pareto, repeat incidents, automation candidates."""
    show_pareto(tables, params, period, service)
    show_repeats(tables, params, period, service)
    show_automation(tables, params, period, service)
