"""Records exported more than once: identical copies folded, conflicting ones never picked silently.

Overlapping exports repeat a ticket row for row; snapshots taken at different
times repeat it with different values (a state, a resolution time). The first
is harmless and folded into one record, counted. Of conflicting copies the
most recently updated one is the record, when the source maps an update time
(``updated_at``); without one the kit cannot know which copy is true, so every
copy is excluded, counted and listed with the columns in which they differ.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.ingest.adapter import Adapted
from csi_lib.ingest.dates import Where
from csi_lib.ingest.rules import Rules, issue
from csi_lib.ingest.times import parse_times
from csi_lib.params import Source

__all__ = ["ID_COLUMNS", "UPDATED", "exclude_conflicts", "fold_copies"]

ID_COLUMNS = {"tickets": "ticket_id", "changes": "change_id"}
UPDATED = "updated_at"
CONFLICT_RULE = "duplicate {noun} id with conflicting copies (they differ in: {cols})"


def _differing(frame: pd.DataFrame, id_col: str) -> pd.Series:
    """Per repeated id, the columns (tuple) whose values differ between its copies."""
    cols = [c for c in frame.columns if c not in ("source_row", id_col, UPDATED)]
    counts = frame[[id_col, *cols]].astype("string").fillna("\0").groupby(id_col).nunique()
    return counts.apply(lambda row: tuple(c for c in cols if row[c] > 1), axis=1)


def _names(cols: tuple[str, ...], origins: dict[str, str]) -> str:
    return ", ".join(origins.get(c, c) for c in cols) or "no mapped column"


def fold_copies(adapted: Adapted, table: str, source: Source, tz: str) -> Adapted:
    """Fold identical copies of a record; of conflicting copies keep the latest ``updated_at``.

    Folded rows leave the records (reported as ``folded``, so export rows still
    add up). Copies that still conflict are left for :func:`exclude_conflicts`.
    """
    id_col = ID_COLUMNS.get(table)
    frame = adapted.frame
    if id_col is None or id_col not in frame:
        return adapted
    ids = frame[id_col]
    if not (ids.notna() & ids.duplicated()).any():
        return adapted
    issues = list(adapted.issues)
    origin = adapted.origins.get(id_col, id_col)
    same = ids.notna() & frame.drop(columns="source_row").duplicated(keep="first")
    if same.any():
        issues.append(issue(table, adapted.file, origin,
                            "identical copy of an earlier row (same id and values): counted once",
                            "folded", frame.loc[same, "source_row"],
                            "none needed; export each record once to skip this step"))
        frame = frame.loc[~same]
    if UPDATED in frame:
        frame, note = _keep_latest(frame, table, id_col, source, tz, adapted)
        if note is not None:
            issues.append(note)
    return Adapted(frame=frame, file=adapted.file, origins=adapted.origins,
                   export_rows=adapted.export_rows, issues=issues)


def _keep_latest(frame: pd.DataFrame, table: str, id_col: str, source: Source, tz: str,
                 adapted: Adapted) -> tuple[pd.DataFrame, dict[str, object] | None]:
    """Fold the older copies of a repeated id whose latest update time is unique."""
    ids = frame[id_col]
    repeated = ids.notna() & ids.duplicated(keep=False)
    if not repeated.any():
        return frame, None
    where = Where(str(adapted.file), adapted.origins.get(UPDATED, UPDATED), f"sources.{table}",
                  frame["source_row"])
    updated = parse_times(frame.loc[repeated, UPDATED], source.date_formats, source.timezone or tz,
                          dayfirst=source.dayfirst, where=where).parsed
    group = pd.DataFrame({"id": ids[repeated], "upd": updated})
    latest = group.groupby("id")["upd"].transform("max")
    is_latest = group["upd"].notna() & (group["upd"] == latest)
    # An id is resolved only when exactly one copy carries its latest update time.
    resolved = is_latest.groupby(group["id"]).transform("sum") == 1
    older = (resolved & ~is_latest).reindex(frame.index, fill_value=False)
    if not older.any():
        return frame, None
    differ = _differing(frame.loc[repeated & ids.isin(group.loc[resolved, "id"])], id_col)
    cols = tuple(dict.fromkeys(c for t in differ for c in t))
    note = issue(table, adapted.file, adapted.origins.get(UPDATED, UPDATED),
                 f"older copy of a repeated id (copies differ in: {_names(cols, adapted.origins)}):"
                 " the most recently updated copy kept", "folded",
                 frame.loc[older, "source_row"], "none needed; export each record once")
    return frame.loc[~older], note


def exclude_conflicts(frame: pd.DataFrame, rules: Rules, table: str, noun: str) -> None:
    """Exclude every copy of an id whose copies conflict, naming the columns that differ."""
    id_col = ID_COLUMNS[table]
    ids = frame[id_col]
    repeated = ids.notna() & ids.duplicated(keep=False)
    if not repeated.any():
        return
    differ = _differing(frame.loc[repeated, [*adapted_columns(frame), "source_row"]], id_col)
    fix = (f"map the export's last-update time as {UPDATED} under sources.{table}.columns so "
           "the most recently updated copy is kept, or remove the stale copies from the export")
    by_columns: dict[tuple[str, ...], list[str]] = {}
    for rid, cols in differ.items():
        by_columns.setdefault(cols, []).append(rid)
    for cols, group in by_columns.items():
        mask = repeated & ids.isin(group)
        rules.hit(mask, id_col, CONFLICT_RULE.format(noun=noun, cols=_names(cols, rules.origins)),
                  fix)


def adapted_columns(frame: pd.DataFrame) -> list[str]:
    """The record's own columns (not those the pipeline derives, such as ``service``)."""
    return [c for c in frame.columns if c not in ("service", "source_row")]
