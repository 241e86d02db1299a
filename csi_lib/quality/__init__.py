"""Data quality of a client's ticket export: a machine-readable table of checks and one score.

``checks`` builds the table (per service and client-wide: completeness,
duplicates, impossible durations, outliers, events after the period end,
rows matching no service) and the 0-100 score per service; ``sections`` shows
them in the baseline report. The runner saves :func:`quality_table` as
``data_quality.csv`` beside the reports.
"""

from __future__ import annotations

from csi_lib.quality.checks import (
    ALL,
    QUALITY_COLUMNS,
    SCORE_METHOD,
    quality_table,
    rating,
    score,
)
from csi_lib.quality.exclusions import (
    EXCLUSION_COLUMNS,
    excluded_rows,
    exclusion_note,
    exclusion_table,
    over_limit,
    publishable,
)
from csi_lib.quality.gate import require_reportable
from csi_lib.quality.sections import check_summary, client_note, kpi_basis, show_quality
from csi_lib.quality.source_sla import compare_source_sla, show_source_sla

__all__ = [
    "ALL",
    "EXCLUSION_COLUMNS",
    "QUALITY_COLUMNS",
    "SCORE_METHOD",
    "check_summary",
    "client_note",
    "compare_source_sla",
    "excluded_rows",
    "exclusion_note",
    "exclusion_table",
    "kpi_basis",
    "over_limit",
    "publishable",
    "quality_table",
    "rating",
    "require_reportable",
    "score",
    "show_quality",
    "show_source_sla",
]
