"""Quarterly maturity assessment ("how capable are we at improving, and is it getting better?").

A standard maturity model (templates/maturity_model.yaml, or the client's own)
is rated practice by practice in an Excel questionnaire each quarter; scoring
turns the ratings into a level per capability area (ISO/IEC 33020 rule), an
overall maturity (the lowest area's level) and quarter-on-quarter trends.

Sub-modules: ``settings`` (the params section), ``model``, ``scoring``,
``trends``, ``questionnaire`` (the Excel workbook written) and ``responses``
(completed ones read), ``demo`` (seeded demo questionnaires), ``assessment``
(:func:`prepare`), ``report`` (the sections the notebook shows), ``charts`` and
``handover`` (the results workbook, next quarter's questionnaire).
:mod:`csi_lib.params` imports this package, so it loads only the light parts
eagerly; Excel, charts and the report load on first use of their names.
"""

from __future__ import annotations

import importlib
from typing import Any

from csi_lib.maturity.model import MaturityModel, default_model_path, load_model
from csi_lib.maturity.scoring import (
    SCALE,
    agreement,
    area_level,
    area_results,
    area_score,
    band,
    holding_back,
    overall,
    parse_rating,
    practice_results,
)
from csi_lib.maturity.trends import quarter_changes, stagnation, target_gaps
from csi_lib.params.maturity import MaturitySettings

# Names loaded on first use (PEP 562): openpyxl, matplotlib and the report stay
# out of every `import csi_lib.params`.
_LAZY = {
    "write_questionnaire": "questionnaire",
    **dict.fromkeys(("read_questionnaire", "find_questionnaires", "read_quarters"),
                    "responses"),
    **dict.fromkeys(("write_demo_questionnaires", "ensure_demo_questionnaires",
                     "demo_quarters"), "demo"),
    **dict.fromkeys(("radar_chart", "heatmap_chart"), "charts"),
    **dict.fromkeys(("Assessment", "prepare", "input_files"), "assessment"),
    **dict.fromkeys(("write_results", "write_client_questionnaire"), "handover"),
    **dict.fromkeys(("summary_text", "area_table", "todo_table", "show_title", "show_summary",
                     "show_radar", "show_areas", "show_heatmap", "show_changes",
                     "show_next_levels", "show_todo", "show_agreement", "show_method",
                     "show_model", "show_inputs"), "report"),
}

__all__ = [
    "SCALE",
    "Assessment",
    "MaturityModel",
    "MaturitySettings",
    "agreement",
    "area_level",
    "area_results",
    "area_score",
    "area_table",
    "band",
    "default_model_path",
    "demo_quarters",
    "ensure_demo_questionnaires",
    "find_questionnaires",
    "heatmap_chart",
    "holding_back",
    "input_files",
    "load_model",
    "overall",
    "parse_rating",
    "practice_results",
    "prepare",
    "quarter_changes",
    "radar_chart",
    "read_quarters",
    "read_questionnaire",
    "show_agreement",
    "show_areas",
    "show_changes",
    "show_heatmap",
    "show_inputs",
    "show_method",
    "show_model",
    "show_next_levels",
    "show_radar",
    "show_summary",
    "show_title",
    "show_todo",
    "stagnation",
    "summary_text",
    "target_gaps",
    "todo_table",
    "write_client_questionnaire",
    "write_demo_questionnaires",
    "write_questionnaire",
    "write_results",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'csi_lib.maturity' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"csi_lib.maturity.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
