"""The questions a CIO asks of continual improvement, answered from the published tables.

Backlog by service, actions delivered in the last three quarters with their verdicts,
time ring-fenced for improvement, metrics improving because of improvement work, who is
accountable; then the plan, the reviews triggered and the maturity. Each function
returns a table for display (plain text cells); nothing is computed a second way.
"""

from __future__ import annotations

import pandas as pd

from csi_lib import catalogue
from csi_lib.pack.tables import PackTables

__all__ = ["OPEN_DECISIONS", "accountability", "backlog_by_service", "benefit_table",
           "delivered_recently", "improving_trends", "maturity_table", "plan_table",
           "reviews_table", "time_ring_fenced"]

# Register decisions still open (not delivered, not rejected): the backlog.
OPEN_DECISIONS = ("committed", "in plan", "did not fit", "blocked", "below threshold")
PLANNED = ("committed", "in plan")


def _label(kpi_id: object) -> str:
    if not isinstance(kpi_id, str) or not kpi_id:
        return "—"
    return catalogue.get(kpi_id).label if kpi_id in catalogue.CATALOGUE else kpi_id


def _hours(h: float) -> str:
    return f"{h:,.0f} h"


def backlog_by_service(plan: pd.DataFrame, services: dict[str, str]) -> pd.DataFrame:
    """Open initiatives per service: count and hours, and how much of it is planned."""
    open_ = plan.loc[plan["decision"].isin(OPEN_DECISIONS)]
    rows = []
    for sid, name in services.items():
        mine = open_.loc[open_["service"] == sid]
        planned = mine.loc[mine["decision"].isin(PLANNED)]
        rows.append({"Service": name, "Open initiatives": len(mine),
                     "Hours": _hours(mine["effort_hours"].sum()),
                     "Planned this quarter": len(planned),
                     "Planned hours": _hours(planned["effort_hours"].sum())})
    rows.append({"Service": "All services", "Open initiatives": len(open_),
                 "Hours": _hours(open_["effort_hours"].sum()),
                 "Planned this quarter": int(open_["decision"].isin(PLANNED).sum()),
                 "Planned hours": _hours(open_.loc[open_["decision"].isin(PLANNED),
                                                   "effort_hours"].sum())})
    return pd.DataFrame(rows)


def delivered_recently(plan: pd.DataFrame, period: pd.Period, benefits: pd.DataFrame | None,
                       services: dict[str, str], quarters: int = 3) -> pd.DataFrame:
    """Initiatives delivered in the last ``quarters`` quarters (this one included), with
    the benefit review's verdict where there is one."""
    start = (period - (quarters - 1)).start_time.date().isoformat()
    end = period.end_time.date().isoformat()
    done = plan.loc[(plan["status"] == "delivered") & plan["delivered"].notna()]
    done = done.loc[(done["delivered"].astype(str) >= start)
                    & (done["delivered"].astype(str) <= end)].sort_values("delivered")
    verdicts = {} if benefits is None else dict(zip(benefits["initiative"].astype(str),
                                                    benefits["verdict"].astype(str),
                                                    strict=False))
    return pd.DataFrame([{
        "ID": r.id, "Initiative": r.title, "Service": services.get(r.service, r.service),
        "Delivered": r.delivered, "Owner": r.owner if isinstance(r.owner, str) else "—",
        "Verdict": verdicts.get(str(r.id), "not reviewed yet" if benefits is not None
                                else "no benefit review in this run"),
    } for r in done.itertuples(index=False)], columns=["ID", "Initiative", "Service",
                                                       "Delivered", "Owner", "Verdict"])


def time_ring_fenced(capacity: pd.DataFrame) -> str:
    """The share of team time ring-fenced for improvement against what the plan uses."""
    c = capacity.iloc[0]
    verdict = ("within" if c["used_share"] <= c["improvement_share"] + 1e-9 else "beyond")
    return (f"**{c['improvement_share']:.0%} of the team's {c['team_hours']:,.0f} hours this "
            f"quarter ({c['capacity_hours']:,.0f} h) is ring-fenced for improvement.** The plan "
            f"uses {c['used_hours']:,.0f} h, {c['used_share']:.1%} of team time, {verdict} the "
            f"ring-fenced share: {c['committed_hours']:,.0f} h for work in progress and "
            f"{c['planned_hours']:,.0f} h of new initiatives.")


def benefit_table(benefits: pd.DataFrame, services: dict[str, str]) -> pd.DataFrame:
    """The benefit review's verdicts: each delivered initiative's KPI before and after."""
    rows = []
    for r in benefits.itertuples(index=False):
        kpi = catalogue.get(r.kpi) if r.kpi in catalogue.CATALOGUE else None
        shown = kpi.format if kpi else (lambda v: f"{v:.2f}")

        def fmt(v: float, shown=shown) -> str:
            return "–" if pd.isna(v) else shown(v)  # no linked KPI, or no data after
        rows.append({"Initiative": f"{r.initiative} {r.title}",
                     "Service": services.get(r.service, r.service), "KPI": _label(r.kpi),
                     "Before": fmt(r.before), "After": fmt(r.after),
                     "Verdict": str(r.verdict),
                     "Review due": "" if pd.isna(r.review_due) else str(r.review_due)})
    return pd.DataFrame(rows)


def improving_trends(gaps: pd.DataFrame, services: dict[str, str]) -> pd.DataFrame:
    """Per service, the KPIs whose twelve-month trend the gap analysis found really
    improving (beyond routine variation)."""
    up = gaps.loc[gaps["trend"] == "improving"]
    rows = [{"Service": services.get(sid, sid), "KPIs improving": ", ".join(
        _label(k) for k in grp["kpi"])} for sid, grp in up.groupby("service", sort=False)]
    return pd.DataFrame(rows, columns=["Service", "KPIs improving"])


def accountability(tables: PackTables, params_services: list, services: dict[str, str]
                   ) -> pd.DataFrame:
    """Per service: its owner (params) and the owners of its planned initiatives."""
    plan = tables.plan
    rows = []
    for svc in params_services:
        if svc.id not in services:
            continue
        owners = "—"
        if plan is not None:
            mine = plan.loc[(plan["service"] == svc.id) & plan["decision"].isin(PLANNED)]
            names = sorted({o for o in mine["owner"] if isinstance(o, str) and o})
            owners = ", ".join(names) or "none planned"
        rows.append({"Service": svc.name,
                     "Service owner": svc.owner or "not named (add owner in the params)",
                     "Owners of planned initiatives": owners})
    return pd.DataFrame(rows)


def plan_table(plan: pd.DataFrame, services: dict[str, str]) -> pd.DataFrame:
    """The quarter's plan within capacity, in the order work starts (work in progress
    first)."""
    chosen = plan.loc[plan["plan_order"].notna()].sort_values("plan_order")
    return pd.DataFrame([{
        "#": int(r.plan_order),
        "Initiative": f"{r.id} {r.title}" + (" (in progress)" if r.decision == "committed"
                                             else ""),
        "Service": services.get(r.service, r.service), "KPI": _label(r.kpi),
        "Hours": _hours(r.effort_hours), "Owner": r.owner if isinstance(r.owner, str) else "—",
    } for r in chosen.itertuples(index=False)])


def reviews_table(triggers: pd.DataFrame, services: dict[str, str]) -> pd.DataFrame:
    """One row per service and KPI under review, with the rules that raised it."""
    rows = []
    for (sid, kpi_id), grp in triggers.groupby(["service", "kpi"], sort=False):
        rows.append({"Service": services.get(sid, sid), "KPI": _label(kpi_id),
                     "Raised by": "; ".join(dict.fromkeys(grp["rule"].astype(str))),
                     "Since": str(grp["since"].astype(str).min()),
                     "Months": int(grp["periods"].max())})
    return pd.DataFrame(rows, columns=["Service", "KPI", "Raised by", "Since", "Months"])


def maturity_table(maturity: pd.DataFrame) -> pd.DataFrame:
    """Each capability area: level, score, change on last quarter and target."""
    return pd.DataFrame([{
        "Area": r.area_name + (" (weakest)" if bool(r.weakest) else ""),
        "Level": f"{int(r.level)} {r.level_name}", "Score": f"{r.score:.1f}",
        "Change": "—" if pd.isna(r.change) else
        ("0.0" if abs(r.change) < 0.05 else f"{r.change:+.1f}".replace("-", "−")),
        "Target": "—" if pd.isna(r.target) else str(int(r.target)),
    } for r in maturity.itertuples(index=False)])
