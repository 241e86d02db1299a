"""Gap analysis ("where do we want to be, and how far are we?").

Per service and quarter: targets and the gap to them with a red/amber/green
status, trends, XmR control charts with run rules, automatic improvement
triggers, a watermelon check and a forecast of the next quarter.

Sub-modules: ``targets`` (targets and
status), ``triggers``,
``analysis`` (the report's numbers), ``context`` (one report's numbers,
computed once), ``summary`` (its words and display tables), ``charts`` and
``report`` (the notebook's sections). Control charts and trend lines live in
:mod:`csi_lib.kpis.spc` and :mod:`csi_lib.kpis.trend`, shared with the benefit
review; the settings model in :mod:`csi_lib.params.gaps`.
"""

from __future__ import annotations

from csi_lib.gaps.analysis import forecast_table, gap_table, quarter_history, watermelon
from csi_lib.gaps.context import GapContext, build, client_triggers, prepare, write_triggers
from csi_lib.gaps.report import (
    show_control_charts,
    show_definitions,
    show_forecast,
    show_gap_chart,
    show_gap_table,
    show_history,
    show_method,
    show_signals,
    show_summary,
    show_targets,
    show_title,
    show_triggers,
    show_watermelon,
)
from csi_lib.gaps.summary import (
    forecast_summary,
    gap_summary,
    signal_summary,
    summary_text,
)
from csi_lib.gaps.targets import rag, status, target_for, target_table, validate_targets
from csi_lib.gaps.triggers import TRIGGER_COLUMNS, triggers
from csi_lib.kpis.spc import ControlChart, Limits, control_chart, run_rules, xmr_limits
from csi_lib.params.gaps import GapSettings, target_problem

__all__ = [
    "TRIGGER_COLUMNS",
    "ControlChart",
    "GapContext",
    "GapSettings",
    "Limits",
    "build",
    "client_triggers",
    "control_chart",
    "forecast_summary",
    "forecast_table",
    "gap_summary",
    "gap_table",
    "prepare",
    "quarter_history",
    "rag",
    "run_rules",
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
    "signal_summary",
    "status",
    "summary_text",
    "target_for",
    "target_problem",
    "target_table",
    "triggers",
    "validate_targets",
    "watermelon",
    "write_triggers",
    "xmr_limits",
]
