"""Read client exports into the canonical tables of DESIGN.md.

A source adapter (chosen by name in the params: ``generic``, ``servicenow``,
``jira`` or ``eventlog``) turns an export into canonical rows and says what it
folded or skipped; the shared pipeline (:mod:`.tables`) then types, maps and
validates them the same way for every adapter. Every rule that excludes, flags,
folds or skips rows is counted, with the file, the source column, example rows
(file line numbers, the header being line 1) and the fix. Nothing is dropped
silently: excluded records are returned with their reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from csi_lib.errors import DataError, ParamsError
from csi_lib.ingest import eventlog, generic, jira, servicenow
from csi_lib.ingest.adapter import Adapted
from csi_lib.ingest.duplicates import fold_copies
from csi_lib.ingest.reader import read_export
from csi_lib.ingest.rules import EXCLUDED_COLUMNS, ISSUE_COLUMNS
from csi_lib.ingest.tables import (
    changes_table,
    empty_changes,
    empty_surveys,
    pseudonymise,
    surveys_table,
    tickets_table,
)
from csi_lib.params import Params, Source

__all__ = ["ADAPTERS", "ADAPTER_VERSION", "Ingested", "adapter", "ingest", "pseudonymise",
           "read_export"]

# Bump when a change to this package can change the canonical tables, so that
# cached tables from an older version are not reused.
ADAPTER_VERSION = "adapters-5"

# Adapter name (Source.adapter) -> function reading one source as one canonical table.
ADAPTERS: dict[str, Callable[[Source, str, str], Adapted]] = {
    "generic": generic.adapt,
    "servicenow": servicenow.adapt,
    "jira": jira.adapt,
    "eventlog": eventlog.adapt,
}

# Kept for callers of the single-module version of ingest.
_empty_changes = empty_changes
_empty_surveys = empty_surveys


@dataclass(frozen=True)
class Ingested:
    """Canonical tables plus what was excluded, flagged, folded or skipped on the way.

    ``rows_read[table]`` counts the records the adapter produced (kept + excluded).
    An audit or event log folds several export rows into one record, and a
    survey source skips rows that are no answer: :meth:`export_rows` adds those
    back to give the data rows of the export file(s).
    """

    tickets: pd.DataFrame
    changes: pd.DataFrame
    surveys: pd.DataFrame
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EXCLUDED_COLUMNS))
    rows_read: dict[str, int] = field(default_factory=dict)

    def export_rows(self, table: str) -> int:
        """Data rows read from ``table``'s export(s): records + folded + skipped rows."""
        issues = self.issues
        aside = issues.loc[(issues["table"] == table)
                           & issues["action"].isin(["folded", "skipped"]), "rows"]
        return self.rows_read.get(table, 0) + int(aside.sum())


def adapter(name: str) -> Callable[[Source, str, str], Adapted]:
    """The adapter registered as ``name``; an unknown name lists the known ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise ParamsError(
            f"unknown adapter {name!r}: known adapters are {', '.join(ADAPTERS)}"
        ) from None


def _adapt(source: Source, table: str, params: Params, rows_read: dict[str, int]) -> Adapted:
    adapted = adapter(source.adapter)(source, table, params.reporting.timezone)
    adapted = fold_copies(adapted, table, source, params.reporting.timezone)
    rows_read[table] = len(adapted.frame)
    return adapted


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    kept = [p for p in parts if not p.empty]
    return pd.concat(kept, ignore_index=True) if kept else parts[0]


def ingest(params: Params, *, key: bytes | None = None) -> Ingested:
    """Read every export of ``params`` into canonical tables, with what was excluded and why.

    ``key`` pseudonymises personal columns (except those a source lists under
    ``keep_personal``); None keeps them as exported.
    """
    rows_read: dict[str, int] = {}
    tickets, excluded, issues = tickets_table(
        _adapt(params.sources.tickets, "tickets", params, rows_read), params, key)
    parts_x, parts_i = [excluded], [issues]
    changes, surveys = empty_changes(), empty_surveys()
    if params.sources.changes is not None:
        changes, ex, iss = changes_table(
            _adapt(params.sources.changes, "changes", params, rows_read), params)
        parts_x.append(ex)
        parts_i.append(iss)
    if params.sources.surveys is not None:
        surveys, ex, iss = surveys_table(
            _adapt(params.sources.surveys, "surveys", params, rows_read), params, tickets)
        parts_x.append(ex)
        parts_i.append(iss)
    if tickets.empty:
        raise DataError(
            f"no usable tickets in {params.sources.tickets.path}: all {rows_read['tickets']} "
            "records were excluded. First problems:\n"
            + pd.concat(parts_i).head(5).to_string(index=False)
        )
    return Ingested(tickets=tickets, changes=changes, surveys=surveys,
                    issues=_concat(parts_i), excluded=_concat(parts_x), rows_read=rows_read)
