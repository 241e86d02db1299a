"""Prioritisation ("how do we get there?"): the improvement register scored, ranked and planned.

``csi_lib.params`` imports :class:`PrioritySettings` from here, so this package
loads its settings eagerly and everything else on first use (PEP 562): reading
params never pulls in openpyxl or matplotlib, and no submodule imports
``csi_lib.params`` at module level.

Submodules: ``settings`` (params section), ``scoring`` (weighted, WSJF, RICE,
threshold, sensitivity), ``planning`` (dependencies, capacity plan), ``decisions`` (decision log),
``suggestions`` (gap triggers as proposals), ``workbook`` (hand-over workbook),
``charts``, ``report`` and ``sections`` (the notebook). The register itself (its
layout, template, checked reader and the demo register) is :mod:`csi_lib.register`,
which the benefit review reads too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from csi_lib.params.prioritisation import CRITERIA, PrioritySettings

if TYPE_CHECKING:
    from csi_lib.prioritise.charts import capacity_chart, impact_effort_matrix, rank_ranges
    from csi_lib.prioritise.decisions import (
        carry_log,
        input_files,
        previous_backlog,
        published_inputs,
        quarter_decisions,
        read_log,
    )
    from csi_lib.prioritise.planning import (
        Plan,
        Selection,
        dependency_order,
        plan_quarter,
        select_within_capacity,
    )
    from csi_lib.prioritise.report import Prioritisation, prepare, write_backlog
    from csi_lib.prioritise.scoring import (
        apply_threshold,
        moved_weights,
        quadrants,
        rice_scores,
        score_register,
        sensitivity,
        weighted_scores,
        wsjf_scores,
    )
    from csi_lib.prioritise.sections import (
        show_balance,
        show_benefits,
        show_decision_log,
        show_dependencies,
        show_method,
        show_not_fitted,
        show_plan,
        show_ranking,
        show_sensitivity,
        show_services,
        show_suggestions,
        show_summary,
        show_title,
        show_workbook,
    )
    from csi_lib.prioritise.suggestions import suggest, suggest_opportunities
    from csi_lib.prioritise.summary import summary_text
    from csi_lib.prioritise.workbook import write_backlog_workbook
    from csi_lib.register.demo import ensure_demo_register, write_demo_register
    from csi_lib.register.graph import find_cycle
    from csi_lib.register.layout import COLUMNS, STATUSES
    from csi_lib.register.reader import read_register
    from csi_lib.register.template import write_register_template

_LAZY = {
    "charts": ("capacity_chart", "impact_effort_matrix", "rank_ranges"),
    "decisions": ("carry_log", "input_files", "previous_backlog", "published_inputs",
                  "quarter_decisions", "read_log"),
    "csi_lib.register.demo": ("ensure_demo_register", "write_demo_register"),
    "csi_lib.register.graph": ("find_cycle",),
    "planning": ("Plan", "Selection", "dependency_order", "plan_quarter",
                 "select_within_capacity"),
    "csi_lib.register.layout": ("COLUMNS", "STATUSES"),
    "csi_lib.register.reader": ("read_register",),
    "csi_lib.register.template": ("write_register_template",),
    "report": ("Prioritisation", "prepare", "write_backlog"),
    "scoring": ("apply_threshold", "moved_weights", "quadrants", "rice_scores",
                "score_register", "sensitivity", "weighted_scores", "wsjf_scores"),
    "sections": ("show_balance", "show_benefits", "show_decision_log", "show_dependencies", "show_method",
                 "show_not_fitted", "show_plan", "show_ranking", "show_sensitivity",
                 "show_services", "show_suggestions", "show_summary", "show_title",
                 "show_workbook"),
    "summary": ("summary_text",),
    "suggestions": ("suggest", "suggest_opportunities"),
    "workbook": ("write_backlog_workbook",),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "COLUMNS",
    "CRITERIA",
    "STATUSES",
    "Plan",
    "Prioritisation",
    "PrioritySettings",
    "Selection",
    "apply_threshold",
    "capacity_chart",
    "carry_log",
    "dependency_order",
    "ensure_demo_register",
    "find_cycle",
    "impact_effort_matrix",
    "input_files",
    "moved_weights",
    "plan_quarter",
    "prepare",
    "previous_backlog",
    "published_inputs",
    "quadrants",
    "quarter_decisions",
    "rank_ranges",
    "read_log",
    "read_register",
    "rice_scores",
    "score_register",
    "select_within_capacity",
    "sensitivity",
    "show_balance",
    "show_benefits",
    "show_decision_log",
    "show_dependencies",
    "show_method",
    "show_not_fitted",
    "show_plan",
    "show_ranking",
    "show_sensitivity",
    "show_services",
    "show_suggestions",
    "show_summary",
    "show_title",
    "show_workbook",
    "suggest",
    "suggest_opportunities",
    "summary_text",
    "weighted_scores",
    "write_backlog",
    "write_backlog_workbook",
    "write_demo_register",
    "write_register_template",
    "wsjf_scores",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    full = module if "." in module else f"{__name__}.{module}"
    value = getattr(importlib.import_module(full), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
