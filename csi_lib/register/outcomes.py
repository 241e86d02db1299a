"""The benefit review's published table (``benefits.csv``): its columns, verdicts and reader.

The benefit review writes it; prioritisation and the quarterly pack read it
(a report never imports another, so the table's contract lives here, below
them, beside the register whose initiatives it judges).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from csi_lib.errors import DataError

__all__ = ["BENEFITS_FILE", "BENEFIT_COLUMNS", "CREDITED", "VERDICTS", "read_benefits"]

BENEFITS_FILE = "benefits.csv"
# One word (or two) per verdict, as the report, the CSV and the workbook write them.
VERDICTS = ("achieved", "partly achieved", "no measurable effect", "worse", "too early",
            "not measurable")
CREDITED = ("achieved", "partly achieved")
BENEFIT_COLUMNS = [
    "initiative", "title", "service", "kpi", "delivered", "expected", "before", "after",
    "change", "change_low", "change_high", "net_of_estate", "own_change", "estate_change",
    "trend_adjusted", "verdict", "reason", "control_chart", "review_due", "review_date",
    "effort_hours", "compared_with",
]  # fmt: skip


def read_benefits(path: Path | str) -> pd.DataFrame:
    """A published ``benefits.csv``, checked against :data:`BENEFIT_COLUMNS` and :data:`VERDICTS`."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"initiative": "string", "verdict": "string"},
                            keep_default_na=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"benefit table {path} cannot be read ({exc}): rerun the benefits "
                        "report for this period") from None
    missing = [c for c in BENEFIT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"benefit table {path} lacks column(s) {', '.join(missing)}: it was "
                        "written by another version of the kit; rerun the benefits report")
    bad = sorted(set(frame["verdict"].dropna()) - set(VERDICTS))
    if bad:
        raise DataError(f"benefit table {path} has unknown verdict(s) {', '.join(bad)}; "
                        f"verdicts are: {', '.join(VERDICTS)}")
    for col in ("delivered", "review_due", "review_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame
