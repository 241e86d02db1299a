"""Benefit review ("did we get there?"): did each delivered initiative move its KPI?

Per client and quarter, every initiative of the register delivered in the last
quarters is judged on its linked KPI: the change from before delivery to after
it, net of the services it did not touch and of any trend already under way,
against the improvement the team expected.

Everything loads on first use (PEP 562), so the runner can read
:func:`input_files` without importing matplotlib. Submodules: ``effect`` (the
statistics), ``review`` (windows and verdicts), ``summary`` (words),
``charts``, ``report`` (computed once per report) and ``sections`` (the
notebook). Settings: :mod:`csi_lib.params.benefits`; the published table's
contract: :mod:`csi_lib.register.outcomes`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csi_lib.benefits.effect import Estimate, estimate
    from csi_lib.benefits.report import Benefits, input_files, prepare, verdicts, write_table
    from csi_lib.benefits.review import Windows, review, windows
    from csi_lib.benefits.sections import (
        show_archive,
        show_initiatives,
        show_method,
        show_pending,
        show_summary,
        show_table,
        show_title,
    )
    from csi_lib.benefits.summary import calibration, summary_text

_LAZY = {
    "effect": ("Estimate", "estimate"),
    "report": ("Benefits", "input_files", "prepare", "verdicts", "write_table"),
    "review": ("Windows", "review", "windows"),
    "sections": ("show_archive", "show_initiatives", "show_method", "show_pending",
                 "show_summary", "show_table", "show_title"),
    "summary": ("calibration", "summary_text"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "Benefits",
    "Estimate",
    "Windows",
    "calibration",
    "estimate",
    "input_files",
    "prepare",
    "review",
    "show_archive",
    "show_initiatives",
    "show_method",
    "show_pending",
    "show_summary",
    "show_table",
    "show_title",
    "summary_text",
    "verdicts",
    "windows",
    "write_table",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
