"""The quarterly pack for leaders: one short document per client and quarter.

It reads the tables the period's other reports published (never their code, never
computing a KPI a second way): a scorecard of services by headline KPIs, headline
messages, the questions a CIO asks of continual improvement, the plan and the
capability, and where to read more. Modules: ``tables`` (reading), ``scorecard``,
``headlines``, ``questions``, ``report`` (the notebook's sections) and ``status``
(the period's headline status for the index pages).
"""

from __future__ import annotations

from csi_lib.pack.headlines import headlines
from csi_lib.pack.report import (
    Pack,
    build,
    prepare,
    show_accountability,
    show_backlog,
    show_benefits,
    show_delivered,
    show_headlines,
    show_maturity,
    show_method,
    show_plan,
    show_read_more,
    show_reviews,
    show_scorecard,
    show_time,
    show_title,
)
from csi_lib.pack.scorecard import LEGEND, STATUS, headline_kpis, scorecard, scorecard_figure
from csi_lib.pack.status import period_status
from csi_lib.pack.tables import PackTables, read_tables

__all__ = [
    "LEGEND",
    "STATUS",
    "Pack",
    "PackTables",
    "build",
    "headline_kpis",
    "headlines",
    "period_status",
    "prepare",
    "read_tables",
    "scorecard",
    "scorecard_figure",
    "show_accountability",
    "show_backlog",
    "show_benefits",
    "show_delivered",
    "show_headlines",
    "show_maturity",
    "show_method",
    "show_plan",
    "show_read_more",
    "show_reviews",
    "show_scorecard",
    "show_time",
    "show_title",
]
