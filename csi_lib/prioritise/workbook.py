"""The client's ranked backlog workbook, formatted for hand-over.

Sheets: the ranked backlog, the quarter's plan, what did not fit, the decision
log, the suggestions of the gap analysis and an "About" sheet with the
settings. Every sheet has a frozen header, a filter, widths and number formats;
every text cell is written as text (see :mod:`csi_lib.register.excel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from csi_lib import catalogue
from csi_lib.params.prioritisation import PrioritySettings
from csi_lib.prioritise.benefits import benefit_frame
from csi_lib.prioritise.planning import Plan
from csi_lib.prioritise.scoring import MODEL_LABELS, quadrants
from csi_lib.register.excel import save_atomic, write_table

__all__ = ["backlog_frames", "write_backlog_workbook"]

_FORMATS = {"Expected improvement": "0%", "Weighted score": "0.0", "WSJF": "0.00",
            "RICE": "#,##0.0", "Score": "0.00", "Effort hours": "#,##0", "Cost": "#,##0",
            "Cumulative hours": "#,##0", "Proposed": "yyyy-mm-dd", "Order": "0", "Rank": "0"}
_WIDTHS = {"ID": 9, "Title": 44, "Reason": 50, "Services": 18, "Service": 12,
           "Other services": 16, "Status": 12, "Decision": 13, "Linked KPI": 24,
           "Owner": 16, "Depends on": 12, "Quadrant": 16, "Evidence": 60, "Source": 20,
           "Quarter": 9, "Covered by": 12, "Trigger": 22, "Setting": 34, "Value": 70,
           "Why": 60, "Next step": 30, "Verdict": 18, "95% interval": 16}
_WRAP = ("Title", "Reason", "Evidence", "Value", "Why", "Next step")
_SCORE_COLUMNS = {"business_impact": "Business impact", "effort": "Effort", "risk": "Risk",
                  "strategic_alignment": "Strategic alignment"}


def _kpi_label(kpi: object) -> str | None:
    return catalogue.get(str(kpi)).label if isinstance(kpi, str) else None


def backlog_frames(plan: Plan, settings: PrioritySettings) -> dict[str, pd.DataFrame]:
    """The tables of the ranked, plan and did-not-fit sheets, as they are written."""
    rows = plan.rows.assign(quadrant=quadrants(plan.rows))
    live = rows.loc[rows["decision"].isin(["committed", "in plan", "did not fit", "blocked",
                                            "below threshold"])]
    live = live.sort_values(["backlog_order", "rank", "id"], na_position="last")
    ranked = pd.DataFrame({
        "Order": live["backlog_order"], "Rank": live["rank"], "ID": live["id"],
        "Title": live["title"], "Service": live["service"],
        "Other services": live["other_services"].map(", ".join), "Status": live["status"],
        "Decision": live["decision"], "Reason": live["reason"],
        "Linked KPI": live["kpi"].map(_kpi_label),
        "Expected improvement": live["expected_improvement"],
        **{label: live[field] for field, label in _SCORE_COLUMNS.items()},
        "Weighted score": live["weighted"],
        "WSJF": live["wsjf"], "RICE": live["rice"],
        "Effort hours": live["effort_hours"], "Cost": live["cost"],
        "Depends on": live["depends_on"].map(", ".join), "Owner": live["owner"],
        "Quadrant": live["quadrant"], "Proposed": live["proposed"],
    })
    # WSJF and RICE only where the register has their fields.
    ranked = ranked.drop(columns=[c for c in ("WSJF", "RICE") if ranked[c].isna().all()])
    inplan = rows.loc[rows["plan_order"].notna()].sort_values("plan_order")
    plan_sheet = pd.DataFrame({
        "Order": inplan["plan_order"], "ID": inplan["id"], "Title": inplan["title"],
        "Services": [", ".join((s, *o)) for s, o in zip(inplan["service"],
                                                        inplan["other_services"], strict=True)],
        "Status": inplan["status"], "Score": inplan["score"],
        "Effort hours": inplan["effort_hours"],
        "Cumulative hours": inplan["effort_hours"].cumsum(),
        "Depends on": inplan["depends_on"].map(", ".join), "Owner": inplan["owner"],
        "Quadrant": inplan["quadrant"],
    })
    out = rows.loc[rows["decision"] == "did not fit"].sort_values("rank")
    not_fitted = pd.DataFrame({
        "Rank": out["rank"], "ID": out["id"], "Title": out["title"],
        "Services": [", ".join((s, *o)) for s, o in zip(out["service"], out["other_services"],
                                                        strict=True)],
        "Score": out["score"], "Effort hours": out["effort_hours"], "Reason": out["reason"],
    })
    label = MODEL_LABELS[settings.model]
    plan_sheet = plan_sheet.rename(columns={"Score": label.capitalize()})
    not_fitted = not_fitted.rename(columns={"Score": label.capitalize()})
    return {"Ranked backlog": ranked, "Plan": plan_sheet, "Did not fit": not_fitted}


def write_backlog_workbook(path: Path | str, *, client: str, period: str, plan: Plan,
                           log: pd.DataFrame, suggestions: pd.DataFrame,
                           settings: PrioritySettings, register_name: str,
                           service_names: Mapping[str, str],
                           verdicts: pd.DataFrame | None = None) -> Path:
    """Write the hand-over workbook atomically and return its path.

    With ``verdicts`` (the benefit review's table) it gains a "Benefits" sheet of
    text cells: each delivered initiative's verdict and the next step."""
    frames = backlog_frames(plan, settings)
    wb = Workbook()
    wb.remove(wb.active)
    formats = {**_FORMATS, MODEL_LABELS[settings.model].capitalize(): _FORMATS.get(
        {"weighted": "Weighted score", "wsjf": "WSJF", "rice": "RICE"}[settings.model], "0.00")}
    for title, frame in frames.items():
        sheet_title = f"Plan {period}" if title == "Plan" else title
        write_table(wb.create_sheet(sheet_title), frame, formats=formats, widths=_WIDTHS,
                    wrap=_WRAP)
    write_table(wb.create_sheet("Decision log"), log, widths=_WIDTHS, wrap=_WRAP)
    sugg = pd.DataFrame({
        "ID": suggestions["id"], "Title": suggestions["title"],
        "Service": suggestions["service"], "Linked KPI": suggestions["kpi"].map(_kpi_label),
        "Status": "proposed (suggested by the data)", "Trigger": suggestions["rules"],
        "Evidence": suggestions["evidence"],
        "Since": suggestions["since"], "Covered by": suggestions["covered_by"],
    })
    write_table(wb.create_sheet("Suggestions"), sugg, widths=_WIDTHS, wrap=_WRAP)
    if verdicts is not None:
        write_table(wb.create_sheet("Benefits"), benefit_frame(verdicts), widths=_WIDTHS,
                    wrap=_WRAP)
    _about(wb, client=client, period=period, plan=plan, settings=settings,
           register_name=register_name, service_names=service_names)
    return save_atomic(wb, Path(path))


def _about(wb: Workbook, *, client: str, period: str, plan: Plan,
           settings: PrioritySettings, register_name: str,
           service_names: Mapping[str, str]) -> None:
    try:
        version = metadata.version("csi-kit")
    except metadata.PackageNotFoundError:
        version = "unknown"
    weights = ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in settings.weights.items())
    rows = [
        ("Client", client), ("Period", period), ("Register", register_name),
        ("Ranking model", MODEL_LABELS[settings.model]), ("Weights (weighted score)", weights),
        ("Minimum viable improvement", f"{settings.min_improvement:.0%} on the linked KPI"),
        ("Improvement capacity",
         (f"{plan.capacity:,.0f} h = {settings.improvement_share:.0%} of "
          f"{settings.team_hours_per_quarter:,.0f} team hours")),
        ("Committed (in progress)", f"{plan.committed_hours:,.0f} h"),
        ("Planned (new work)", f"{plan.planned_hours:,.0f} h"),
        ("Left unallocated", f"{plan.free_hours:,.0f} h"),
        ("Plan", "the best total score within capacity (proven)" if plan.optimal
         else "the best plan found; the search stopped before proving it best"),
        ("Services", ", ".join(f"{k} = {v}" for k, v in service_names.items())),
        ("Written by", f"csi-kit {version}; text cells are stored as text, never formulas"),
    ]
    ws = wb.create_sheet("About")
    write_table(ws, pd.DataFrame(rows, columns=["Setting", "Value"]), widths=_WIDTHS,
                wrap=_WRAP)
    for row in range(2, len(rows) + 2):
        ws.cell(row, 1).font = Font(bold=True)
        ws.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")
