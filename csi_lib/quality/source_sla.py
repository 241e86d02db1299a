"""The source tool's own SLA verdict beside the kit's, ticket by ticket.

An export may carry the tool's verdict (ServiceNow ``made_sla``, a Jira SLA
field). The kit recomputes the resolution SLA from the timestamps and the
params' targets; when the two disagree, one of them measures something else
(another target, calendar, pauses, or start and stop events), and a consultant
must know which number the client's own dashboards show. This module counts
agreement overall and by priority, and names the main reason for disagreement
only where the data shows one; otherwise it says the reason is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib import display
from csi_lib.ingest import Ingested
from csi_lib.kpis import period_bounds
from csi_lib.kpis.measures import resolution_clock, source_verdict
from csi_lib.params import Params
from csi_lib.periods import quarter_label
from csi_lib.sla.compliance import agreement, compliance

__all__ = ["NEAR_TARGET", "SourceSla", "compare_source_sla", "disagreement_reason",
           "show_source_sla"]

# A disagreement is "near the target" when the kit's clock lies within this factor of
# the target either way: the two clocks then differ by little.
NEAR_TARGET = 1.25
# Share of the disagreements a pattern must hold to be named as the main reason.
MAIN_SHARE = 0.6
# Fewest disagreements on which a reason is named at all.
MIN_DISAGREEMENTS = 5
# A priority is the reason when it holds this many times its share of the tickets.
PRIORITY_LIFT = 2.0
# One direction is the reason when its rate is this many times the other's.
ONE_SIDED = 5.0
# Below this Cohen's kappa the two verdicts agree little better than chance.
CHANCE_KAPPA = 0.2
UNKNOWN = ("unknown: the disagreements follow no pattern this export shows (priority, "
           "distance from the target or direction)")


@dataclass(frozen=True)
class SourceSla:
    """The comparison for one service and quarter."""

    tickets: int                # tickets resolved in the quarter
    with_verdict: int           # of which the export carries the tool's verdict
    overall: pd.Series          # one row of :func:`csi_lib.sla.compliance.agreement`
    by_priority: pd.DataFrame   # the same per priority
    reason: str


def _priority_reason(disagree: pd.Series, priority: pd.Series) -> str | None:
    counts = priority[disagree].value_counts()
    if counts.empty:
        return None
    top = str(counts.index[0])
    held = counts.iloc[0] / disagree.sum()
    share = (priority == top).mean()
    if held >= MAIN_SHARE and held >= PRIORITY_LIFT * share:
        return (f"{counts.iloc[0]:,} of the {int(disagree.sum()):,} disagreements are "
                f"priority {top} tickets, which are {share:.0%} of those judged: compare "
                f"sla.targets.{top} in the params with the tool's SLA definition for {top}")
    return None


def disagreement_reason(tool: pd.Series, kit: pd.Series, ratio: pd.Series,
                        priority: pd.Series) -> str:
    """The main reason the tool's verdict and the kit's differ, from what the data shows.

    ``tool`` and ``kit`` are booleans (met) of the tickets both judge, ``ratio`` the
    kit's SLA clock over the target, ``priority`` each ticket's priority. In turn:
    one priority holding most disagreements (a different target); most of them
    near the target (clocks differing by little); most in one direction far from
    the target (the tool paused or stopped its clock where the kit's ran, or the
    reverse, each as a rate within the kit's verdicts). Fewer than
    ``MIN_DISAGREEMENTS`` or no pattern: "unknown", noting when the two agree little
    better than chance.
    """
    tool, kit = tool.astype(bool), kit.astype(bool)
    disagree = tool != kit
    n = int(disagree.sum())
    if n == 0:
        return "none: the two verdicts agree on every ticket both judge"
    if n < MIN_DISAGREEMENTS:
        few = "1 disagreement is" if n == 1 else f"{n} disagreements are"
        return f"not named: {few} too few to show a pattern"
    by_priority = _priority_reason(disagree, priority.astype("string").fillna("none"))
    if by_priority:
        return by_priority
    r = ratio[disagree].astype(float)
    near = ((r >= 1 / NEAR_TARGET) & (r <= NEAR_TARGET)).sum()
    if near / n >= MAIN_SHARE:
        return (f"{near:,} of the {n:,} disagreements lie within {NEAR_TARGET - 1:.0%} of "
                "the target: the two clocks differ by little (a different calendar, pauses, "
                "or other start and stop events)")
    # One direction only: the tool lenient (met where the kit's clock ran past the target)
    # far more often than strict, or the reverse. Compared as rates within the kit's two
    # verdicts, so an estate where most tickets breach does not make noise one-sided.
    lenient_rate = float((tool & ~kit).sum() / max(int((~kit).sum()), 1))
    strict_rate = float((~tool & kit).sum() / max(int(kit.sum()), 1))
    lenient = (tool & ~kit)[disagree]
    if lenient_rate >= ONE_SIDED * strict_rate and lenient.mean() >= MAIN_SHARE:
        times = float(np.nanmedian(r[lenient]))
        if times > NEAR_TARGET:
            return (f"{int(lenient.sum()):,} of the {n:,} disagreements are tickets the tool "
                    f"counts as met that the kit's clock puts well past their target (median "
                    f"{times:.1f} times the target): the tool paused or stopped its clock where "
                    "the kit's ran (on hold, awaiting the caller), or it holds longer targets")
    strict = ~lenient
    if strict_rate >= ONE_SIDED * lenient_rate and strict.mean() >= MAIN_SHARE:
        times = float(np.nanmedian(r[strict]))
        if times < 1 / NEAR_TARGET:
            return (f"{int(strict.sum()):,} of the {n:,} disagreements are tickets the tool "
                    f"counts as breached that the kit's clock puts well within their target "
                    f"(median {times:.0%} of the target): the tool's clock ran where the "
                    "kit's did not (another start event or calendar), or it holds shorter "
                    "targets")
    kappa = _kappa(tool, kit)
    if kappa < CHANCE_KAPPA:
        return (f"{UNKNOWN}; the two agree little better than chance (Cohen's kappa "
                f"{kappa:.2f}): check that the column records the resolution SLA, not another")
    return UNKNOWN


def _kappa(tool: pd.Series, kit: pd.Series) -> float:
    """Cohen's kappa of two boolean verdicts: 1 full agreement, 0 what chance gives."""
    seen = float((tool == kit).mean())
    a, b = float(tool.mean()), float(kit.mean())
    chance = a * b + (1 - a) * (1 - b)
    return 1.0 if chance == 1 else (seen - chance) / (1 - chance)


def compare_source_sla(tickets: pd.DataFrame, params: Params, start: pd.Timestamp,
                       end: pd.Timestamp) -> SourceSla | None:
    """The tool's verdict against the kit's for ``tickets`` resolved in ``[start, end)``;
    None when the export carries no verdict of the tool for any of them."""
    if "made_sla" not in tickets:
        return None
    done = tickets.loc[(tickets["resolved_at"] >= start) & (tickets["resolved_at"] < end)]
    tool = pd.Series(source_verdict(done["made_sla"]), index=done.index).astype("boolean")
    if tool.notna().sum() == 0:
        return None
    # The kit's verdict as its Resolution SLA met KPI computes it.
    clock, target = resolution_clock(done, params)
    kit = compliance(clock, target)
    priority = done["priority"].astype("string").fillna("none")
    overall = agreement(tool, kit).iloc[0]
    by_priority = agreement(tool, kit, by=priority.rename("priority"))
    both = tool.notna() & kit.notna()
    reason = disagreement_reason(tool[both], kit[both].astype(bool),
                                 (clock / target)[both], priority[both])
    return SourceSla(len(done), int(tool.notna().sum()), overall, by_priority, reason)


def _share(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.1%}"


def show_source_sla(tables: Ingested, params: Params, period: pd.Period | str,
                    service: str) -> None:
    """The baseline's comparison of the tool's SLA verdict with the kit's, or one line
    saying the export carries none."""
    period = params.period(period) if isinstance(period, str) else period
    svc = params.service(service)
    start, end = period_bounds(period, params.reporting.timezone)
    mine = tables.tickets.loc[tables.tickets["service"] == service]
    result = compare_source_sla(mine, params, start, end)
    label = quarter_label(period)
    if result is None:
        display.show_markdown(
            f"The export carries no SLA verdict of the source tool (`made_sla`) for "
            f"{display.esc(svc.name)}'s tickets resolved in {label}, so the kit's Resolution "
            "SLA met cannot be compared with the tool's.")
        return
    o = result.overall
    judged, agreed = int(o["n"]), int(o["n"] - o["disagree"])
    text = (f"The export carries the source tool's own SLA verdict (`made_sla`) for "
            f"**{result.with_verdict:,} of the {result.tickets:,} tickets** resolved in {label}. "
            f"On the {judged:,} that both the tool and the kit can judge, they agree on "
            f"**{agreed:,} ({_share(1 - o['disagree_share'])})**: the tool counts "
            f"{_share(o['exported_rate'])} as met, the kit {_share(o['recomputed_rate'])} "
            f"(Resolution SLA met, from the timestamps and the params' targets). "
            f"Tool met but kit breached: {int(o['exported_met_recomputed_breached']):,}; tool "
            f"breached but kit met: {int(o['exported_breached_recomputed_met']):,}.\n\n"
            f"**Main reason for disagreement:** {result.reason}.")
    display.show_markdown(text)
    p = result.by_priority.reset_index()
    table = pd.DataFrame({
        "Priority": p["priority"],
        "Judged by both": p["n"].map("{:,}".format),
        "Agree": (1 - p["disagree_share"]).map(_share),
        "Tool: met": p["exported_rate"].map(_share),
        "Kit: met": p["recomputed_rate"].map(_share),
        "Tool met, kit breached": p["exported_met_recomputed_breached"].map("{:,}".format),
        "Tool breached, kit met": p["exported_breached_recomputed_met"].map("{:,}".format),
    })
    display.show_table(table, caption=f"SLA verdict by priority, the source tool against "
                                      f"the kit, {svc.name}, {label}")
