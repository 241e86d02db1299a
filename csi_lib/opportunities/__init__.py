"""Improvement opportunities in a service's tickets: the first CSI step, "identify opportunities".

Three views of one service and period, each a pure function of the canonical
tickets table and the period's tz-aware bounds (from
:func:`csi_lib.kpis.period_bounds`):

- :func:`pareto` (``concentration``): categories by tickets opened, with the few that
  make up 80% of the volume, and :func:`pareto_chart`;
- :func:`repeat_clusters` (``repeats``): incidents from the same caller about
  the same category or configuration item within a few days;
- :func:`automation_candidates` (``automation``): high-volume, short and
  consistent work, with the agent hours automating it would free.

:func:`suggestions` (``proposals``) turns the last two into proposed
initiatives for the prioritisation notebook; ``sections`` holds the report's
``show_*`` calls. Callers are pseudonymised at ingest; only counts of them
are shown.
"""

from __future__ import annotations

from csi_lib.opportunities.automation import (
    AUTOMATION_COLUMNS,
    MAX_SPREAD,
    MIN_VOLUME,
    SHORT_H,
    automation_candidates,
)
from csi_lib.opportunities.concentration import PARETO_COLUMNS, PARETO_SHARE, pareto, pareto_chart
from csi_lib.opportunities.proposals import MIN_CLUSTERS, SUGGESTION_COLUMNS, suggestions
from csi_lib.opportunities.repeats import REPEAT_COLUMNS, WINDOW_DAYS, repeat_clusters
from csi_lib.opportunities.sections import (
    show_automation,
    show_opportunities,
    show_pareto,
    show_repeats,
)
from csi_lib.opportunities.selection import EFFORT_CAP_H, HANDLE_TIME_COLUMN

__all__ = [
    "AUTOMATION_COLUMNS",
    "EFFORT_CAP_H",
    "HANDLE_TIME_COLUMN",
    "MAX_SPREAD",
    "MIN_CLUSTERS",
    "MIN_VOLUME",
    "PARETO_COLUMNS",
    "PARETO_SHARE",
    "REPEAT_COLUMNS",
    "SHORT_H",
    "SUGGESTION_COLUMNS",
    "WINDOW_DAYS",
    "automation_candidates",
    "pareto",
    "pareto_chart",
    "repeat_clusters",
    "show_automation",
    "show_opportunities",
    "show_pareto",
    "show_repeats",
    "suggestions",
]
