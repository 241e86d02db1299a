"""Rows of the demo tickets broken on purpose, so the data-quality path always has work."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi_lib.demo.clock import HOUR, format_local
from csi_lib.demo.services import SCRIPT_SUBCATEGORY, UNMATCHED_GROUPS


def seed_bad_rows(
    frame: pd.DataFrame, c: dict[str, np.ndarray], closed: np.ndarray, tz: str
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Break a handful of closed tickets on purpose, at fixed fractions of the file.

    Positions depend only on the row count, so every demo run breaks "the same"
    rows and the kit's data-quality report always has each kind of defect.
    """
    eligible = np.flatnonzero(closed)

    def at(fractions: tuple[float, ...]) -> np.ndarray:
        return eligible[(np.array(fractions) * (len(eligible) - 1)).astype(np.int64)]

    missing = at((0.11, 0.37, 0.62, 0.88))
    backwards = at((0.23, 0.54, 0.79))
    dup_src = at((0.17, 0.48, 0.71))
    unmatched = at((0.29, 0.66, 0.93))
    taken = np.concatenate([missing, backwards, dup_src, unmatched])
    hr = eligible[(c["svc"][eligible] == 3) & ~np.isin(eligible, taken)]
    script = hr[int(0.45 * (len(hr) - 1))]

    frame = frame.copy()
    col = frame.columns.get_loc
    number = frame["Number"].to_numpy()
    bad = {
        "missing_resolution": [str(x) for x in number[missing]],
        "resolved_before_opened": [str(x) for x in number[backwards]],
        "duplicate_number": [str(x) for x in number[dup_src]],
        "unmatched_group": [str(x) for x in number[unmatched]],
        "script_subcategory": [str(number[script])],
    }
    # Closed with no resolution time (a closure forced through a back-end update).
    frame.iloc[missing, col("Resolved")] = ""
    # Resolved before opened (a hand-typed date): mirror the duration before Opened.
    span = np.maximum(c["resolved"][backwards] - c["opened"][backwards], 2 * HOUR)
    frame.iloc[backwards, col("Resolved")] = format_local(
        c["opened"][backwards] - span, np.zeros(len(backwards), dtype=bool), tz
    )
    # Tickets owned by teams outside the service catalogue.
    frame.iloc[unmatched, col("Assignment group")] = list(UNMATCHED_GROUPS)
    frame.iloc[unmatched, col("Category")] = ["Facilities", "Facilities", "Travel"]
    frame.iloc[unmatched, col("Subcategory")] = ["Building access", "Desk move", "Booking"]
    # Client free text that a report must escape.
    frame.iloc[script, col("Subcategory")] = SCRIPT_SUBCATEGORY
    # Duplicate numbers: one exact repeat (overlapping exports), two stale snapshots
    # taken before the ticket closed; each is placed right after its original.
    dups = frame.iloc[dup_src].copy()
    dups.iloc[1:, dups.columns.get_loc("State")] = "Resolved"
    dups.iloc[1:, dups.columns.get_loc("Closed")] = ""
    pos = np.concatenate([np.arange(len(frame)), dup_src + 0.5])
    frame = pd.concat([frame, dups], ignore_index=True).iloc[np.argsort(pos, kind="stable")]

    return frame.reset_index(drop=True), bad
