"""Bookkeeping of the rules that exclude, flag, fold or skip export rows.

Nothing is dropped silently (DESIGN.md): every rule that touches a row is
counted with the file, the export column, example line numbers (the header is
line 1) and the fix, and every excluded record is returned with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ACTIONS", "EXCLUDED_COLUMNS", "ISSUE_COLUMNS", "Rules", "issue", "issues_frame"]

ISSUE_COLUMNS = ["table", "file", "column", "rule", "action", "rows", "examples", "fix"]
# ``service``: the service the row would have counted in, where ingest could work it out
# (missing for a row matching no service, which is out of scope rather than lost).
EXCLUDED_COLUMNS = ["table", "source_row", "record_id", "service", "rule"]
# excluded: the record is left out of the canonical table (listed in `excluded`);
# flagged: kept, with a correction or caveat; folded: several export rows make one
# record (audit and event logs); skipped: the row is not a record of this table.
ACTIONS = ("excluded", "flagged", "folded", "skipped")
EXAMPLES = 5


def issue(table: str, file: Path | str, column: str, rule: str, action: str,
          lines: Sequence[int] | pd.Series | np.ndarray, fix: str) -> dict[str, object]:
    """One row of the issues table for the export rows on ``lines``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    lines = np.asarray(lines, dtype="int64")
    # The smallest line numbers, so that examples are easy to find in the file.
    first = np.partition(lines, EXAMPLES)[:EXAMPLES] if len(lines) > EXAMPLES else lines
    first = np.sort(first)
    return {
        "table": table, "file": str(file), "column": column, "rule": rule, "action": action,
        "rows": len(lines), "examples": ", ".join(str(n) for n in first), "fix": fix,
    }


def issues_frame(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    """The issues table (columns in ISSUE_COLUMNS order), empty when nothing was hit."""
    frame = pd.DataFrame(list(rows), columns=ISSUE_COLUMNS)
    return frame.astype({"rows": "int64"})


class Rules:
    """Collects rule hits for one table's records, then splits kept from excluded.

    A record excluded by several rules is reported under each (the issue counts)
    but listed once in ``excluded``, under the first rule that hit it.
    """

    def __init__(self, table: str, file: Path | str, origins: dict[str, str],
                 lines: pd.Series, issues: Iterable[dict[str, object]] = ()) -> None:
        self.table, self.file, self.origins = table, str(file), origins
        self.lines = lines
        self.reason = pd.Series("", index=lines.index, dtype="string")
        self.issues: list[dict[str, object]] = list(issues)

    def hit(self, mask: pd.Series, column: str, rule: str, fix: str, *,
            flag: bool = False) -> None:
        """Record ``rule`` for the rows in ``mask``: exclude them, or only flag them."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        self.issues.append(issue(self.table, self.file, self.origins.get(column, column), rule,
                                 "flagged" if flag else "excluded", self.lines[mask], fix))
        if not flag:
            self.reason = self.reason.mask(mask & (self.reason == ""), rule)

    def split(self, frame: pd.DataFrame, id_column: str
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(kept records, excluded records with their rule, issues)."""
        bad = self.reason != ""
        excluded = pd.DataFrame({
            "table": self.table,
            "source_row": self.lines[bad].to_numpy(dtype="int64"),
            "record_id": frame.loc[bad, id_column].astype("string").to_numpy(),
            "service": (frame.loc[bad, "service"].astype("string").to_numpy()
                        if "service" in frame else pd.NA),
            "rule": self.reason[bad].to_numpy(),
        }, columns=EXCLUDED_COLUMNS)
        return frame.loc[~bad].reset_index(drop=True), excluded, issues_frame(self.issues)
