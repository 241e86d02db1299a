"""The prioritisation report ("how do we get there?") for one client and quarter.

One report per client: the capacity, the ranking and the dependencies are
shared by every service, so the plan is made once and each service gets its
own section. The notebook calls one function per section; each builds a table
with a pure function (tested) and displays it with :mod:`csi_lib.display`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib.display import write_csv
from csi_lib.errors import ParamsError
from csi_lib.kpis import active_tickets, require_period_in_data
from csi_lib.periods import quarter_label
from csi_lib.prioritise.decisions import (
    BACKLOG_FILE,
    carry_log,
    previous_backlog,
    quarter_decisions,
    read_log,
)
from csi_lib.prioritise.planning import Plan, plan_quarter
from csi_lib.prioritise.scoring import (
    MODEL_LABELS,
    Sensitivity,
    quadrants,
    score_register,
    sensitivity,
)
from csi_lib.prioritise.suggestions import suggest, suggest_opportunities
from csi_lib.prioritise.workbook import write_backlog_workbook
from csi_lib.register.demo import ensure_demo_register
from csi_lib.register.reader import read_register

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = [
    "PLAN_COLUMNS",
    "Prioritisation",
    "capacity_table",
    "plan_table",
    "prepare",
    "write_backlog",
]

PLAN_COLUMNS = ("id", "title", "service", "other_services", "kpi", "expected_improvement",
                "effort_hours", "owner", "status", "decision", "reason", "score", "rank",
                "plan_order", "proposed", "delivered")


@dataclass(frozen=True)
class Prioritisation:
    """Everything the prioritisation report shows, computed once."""

    params: Params
    period: pd.Period
    register_file: Path
    plan: Plan
    sensitivity: Sensitivity
    suggestions: pd.DataFrame
    triggers_available: bool
    log: pd.DataFrame
    previous_log: Path | None
    outputs: Path
    quiet: tuple[str, ...] = ()   # services with no tickets in the period
    verdicts: pd.DataFrame | None = None  # the benefit review's table, when passed

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @cached_property
    def rows(self) -> pd.DataFrame:
        """Every register row with its scores, decision, reason and orders."""
        return self.plan.rows.assign(quadrant=quadrants(self.plan.rows))

    @property
    def service_names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.params.services}

    @property
    def model_label(self) -> str:
        return MODEL_LABELS[self.params.prioritisation.model]


def prepare(params_file: str | Path, period: str | None, outputs: str | Path,
            triggers: pd.DataFrame | None = None,
            verdicts: pd.DataFrame | None = None) -> Prioritisation:
    """Read and check the register, score, rank and plan it, and carry the decision log.

    ``triggers`` are the gap analysis' improvement-review triggers
    (:func:`csi_lib.gaps.client_triggers`); without them the report proposes no
    initiatives from gaps and says so. ``verdicts`` are the benefit review's
    (:func:`csi_lib.benefits.verdicts`): delivered work and whether it moved its KPI.
    """
    from csi_lib.data import load_tables
    from csi_lib.opportunities import suggestions as opportunity_suggestions
    from csi_lib.params import load_params
    from csi_lib.periods import quarter_label

    params = load_params(params_file)
    quarter = params.period(period)
    settings = params.prioritisation
    ensure_demo_register(params)
    if settings.register_file is None:
        raise ParamsError(
            f"{params.source_file} sets no prioritisation.register_file: point it at the "
            "client's improvement register (a copy of templates/improvement_register.xlsx)")
    register = read_register(settings.register_file, params.services, settings.model)
    scored = score_register(register, settings)
    plan = plan_quarter(scored, settings.capacity_hours)
    ranked = plan.rows.loc[plan.rows["rank"].notna()]
    sens = sensitivity(ranked, settings.weights, settings.sensitivity_step, settings.top_n)
    tables = load_tables(params, outputs)
    require_period_in_data(tables.tickets, params, quarter, str(params.sources.tickets.path))
    active = active_tickets(tables.tickets, params, quarter)
    suggestions = pd.concat([
        suggest(triggers, register, {s.id: s.name for s in params.services}),
        suggest_opportunities(opportunity_suggestions(tables.tickets, params, quarter),
                              register, quarter_label(quarter)),
    ], ignore_index=True)
    previous = previous_backlog(outputs, params.client.id, quarter)
    log = carry_log(read_log(previous) if previous else None,
                    quarter_decisions(plan.rows, quarter))
    return Prioritisation(params=params, period=quarter, register_file=settings.register_file,
                          plan=plan, sensitivity=sens, suggestions=suggestions,
                          triggers_available=triggers is not None, log=log,
                          previous_log=previous, outputs=Path(outputs),
                          quiet=tuple(active.index[active == 0]),
                          verdicts=verdicts)


def write_backlog(ctx: Prioritisation, report_dir: str | Path = "") -> Path:
    """Write the client's ranked backlog workbook beside the report and return its path.

    Beside it go ``plan.csv`` (:func:`plan_table`) and ``capacity.csv``
    (:func:`capacity_table`), the tables the quarterly pack reads.

    Without ``report_dir`` (a run by hand) it goes to
    ``<outputs>/<client>/scratch/<period>/``, never into a published period.
    """
    if str(report_dir):
        folder = Path(report_dir)
        write_csv(plan_table(ctx), folder / "plan.csv")
        write_csv(capacity_table(ctx), folder / "capacity.csv")
    else:
        folder = ctx.outputs / ctx.params.client.id / "scratch" / ctx.label
    return write_backlog_workbook(
        folder / BACKLOG_FILE, client=ctx.params.client.name, period=ctx.label, plan=ctx.plan,
        log=ctx.log, suggestions=ctx.suggestions, settings=ctx.params.prioritisation,
        register_name=ctx.register_file.name, service_names=ctx.service_names,
        verdicts=ctx.verdicts)


def _ids(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def plan_table(ctx: Prioritisation) -> pd.DataFrame:
    """Every register row with the quarter's decision, as published in ``plan.csv``.

    ``plan_order`` numbers the work of the quarter (committed first, then the new
    initiatives in the plan); dates are ISO days, empty when not set.
    """
    rows = ctx.rows
    dates = {c: rows[c].dt.strftime("%Y-%m-%d").fillna("") for c in ("proposed", "delivered")}
    return rows.assign(other_services=rows["other_services"].map(_ids), **dates)[
        list(PLAN_COLUMNS)].reset_index(drop=True)


def capacity_table(ctx: Prioritisation) -> pd.DataFrame:
    """The quarter's improvement capacity, as published in ``capacity.csv`` (one row).

    ``improvement_share`` is the share of team time ring-fenced for improvement (the
    target); ``used_share`` the share the plan takes (work in progress plus new work).
    """
    settings = ctx.params.prioritisation
    plan = ctx.plan
    return pd.DataFrame([{
        "team_hours": settings.team_hours_per_quarter,
        "improvement_share": settings.improvement_share,
        "capacity_hours": plan.capacity, "committed_hours": plan.committed_hours,
        "planned_hours": plan.planned_hours, "used_hours": plan.used_hours,
        "free_hours": plan.free_hours,
        "used_share": plan.used_hours / settings.team_hours_per_quarter,
    }])
