"""The tables the pack reads: what the run's other reports published, nothing computed again.

Each report publishes its tables beside its own files in the period's folder:
``kpis.csv`` (the runner), ``<service>/gaps.csv`` and ``<service>/triggers.csv`` (gap
analysis), ``plan.csv`` and ``capacity.csv`` (prioritisation), ``maturity.csv``
(maturity assessment) and ``benefits.csv`` (benefit review). The pack reads them
from one folder (``inputs_dir``) and never imports the reports' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib.display import read_csv
from csi_lib.errors import DataError

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["BENEFIT_COLUMNS", "REQUIRED_COLUMNS", "PackTables", "read_tables"]

# Columns the pack uses from each table; a table without them is refused.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "kpis.csv": ("service", "freq", "period", "kpi", "value", "n"),
    "gaps.csv": ("service", "kpi", "value", "target", "status", "trend", "previous",
                 "watermelon"),
    "triggers.csv": ("service", "kpi", "rule", "since", "periods"),
    "plan.csv": ("id", "title", "service", "kpi", "effort_hours", "owner", "status", "decision",
                 "plan_order", "delivered"),
    "capacity.csv": ("team_hours", "improvement_share", "capacity_hours", "committed_hours",
                     "planned_hours", "used_hours", "used_share"),
    "maturity.csv": ("area", "area_name", "level", "level_name", "score", "previous_score",
                     "change", "target", "weakest", "overall_level", "overall_level_name",
                     "previous_overall_level"),
}
BENEFIT_COLUMNS = ("initiative", "title", "service", "kpi", "delivered", "expected", "before",
                   "after", "change", "change_low", "change_high", "net_of_estate", "verdict",
                   "review_due")
REQUIRED_COLUMNS["benefits.csv"] = BENEFIT_COLUMNS
REQUIRED_COLUMNS["exclusions.csv"] = ("table", "service", "scope", "rule", "rows", "base",
                                      "share", "limit", "over_limit")
# The report that publishes each table, for the messages that send a reader to it.
PUBLISHER = {"kpis.csv": "the runner", "gaps.csv": "gap_analysis",
             "triggers.csv": "gap_analysis", "plan.csv": "prioritisation",
             "capacity.csv": "prioritisation", "maturity.csv": "maturity",
             "benefits.csv": "benefits", "exclusions.csv": "the runner"}


@dataclass(frozen=True)
class PackTables:
    """The run's published tables, as read from one folder."""

    folder: Path
    kpis: pd.DataFrame
    gaps: pd.DataFrame                 # every service with a gap analysis, in params order
    triggers: pd.DataFrame
    plan: pd.DataFrame | None          # None: prioritisation did not run for the client
    capacity: pd.DataFrame | None
    maturity: pd.DataFrame | None      # None: no maturity assessment
    benefits: pd.DataFrame | None      # None: no benefit review in this run
    services: tuple[str, ...]          # ids of the services the pack covers
    missing_services: tuple[str, ...]  # services of the params without a gap analysis here
    exclusions: pd.DataFrame | None = None  # exclusions.csv (the runner); None: not published


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}; rerun {PUBLISHER[path.name]} to "
                        "publish it again") from exc
    missing = [c for c in REQUIRED_COLUMNS[path.name] if c not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {missing} that the quarterly pack reads: it "
                        f"was written by an older csi-kit; rerun {PUBLISHER[path.name]} "
                        "(csi run --force)")
    return frame


def _optional(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    return _read(path) if path.is_file() else None


def read_tables(folder: str | Path, params: Params) -> PackTables:
    """Read the published tables of one client's period from ``folder``.

    ``kpis.csv`` and at least one service's ``gaps.csv`` must be there; the
    client-level tables are optional (a report that does not apply to the client
    publishes none) and a service without a gap analysis is listed, not dropped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"the folder of published tables {folder} does not exist: run the "
                        "client's reports first (csi run), or pass inputs_dir")
    if not (folder / "kpis.csv").is_file():
        raise DataError(f"{folder} has no kpis.csv: it is not a period folder of a csi run; "
                        "pass the period's folder (outputs/<client>/<period>) as inputs_dir")
    kpis = _read(folder / "kpis.csv")
    gaps, triggers, have, lacking = [], [], [], []
    for svc in params.services:
        path = folder / svc.id / "gaps.csv"
        if not path.is_file():
            lacking.append(svc.id)
            continue
        have.append(svc.id)
        gaps.append(_read(path))
        if (folder / svc.id / "triggers.csv").is_file():
            triggers.append(_read(folder / svc.id / "triggers.csv"))
    if not have:
        raise DataError(f"no service of {params.client.id} has a gap analysis in {folder} "
                        "(<service>/gaps.csv): run the gap_analysis report with the pack")
    empty = pd.DataFrame(columns=list(REQUIRED_COLUMNS["triggers.csv"]))
    return PackTables(
        folder=folder, kpis=kpis, gaps=pd.concat(gaps, ignore_index=True),
        triggers=pd.concat(triggers, ignore_index=True) if triggers else empty,
        plan=_optional(folder, "plan.csv"), capacity=_optional(folder, "capacity.csv"),
        maturity=_optional(folder, "maturity.csv"), benefits=_optional(folder, "benefits.csv"),
        services=tuple(have), missing_services=tuple(lacking),
        exclusions=_optional(folder, "exclusions.csv"))
