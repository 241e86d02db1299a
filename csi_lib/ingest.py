"""Read client exports into the canonical tables of DESIGN.md.

Every rule that excludes or flags rows is counted, with the file, the source
column, example rows (file line numbers, the header being line 1) and the fix.
Nothing is dropped silently: excluded rows are returned with their reason.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from csi_lib.errors import DataError
from csi_lib.params import Params, Source

__all__ = ["ADAPTER_VERSION", "Ingested", "ingest", "pseudonymise", "read_export"]

# Bump when a change to this module can change the canonical tables, so that
# cached tables from an older version are not reused.
ADAPTER_VERSION = "generic-1"

FINISHED_STATES = {"resolved", "closed", "cancelled", "canceled", "complete", "completed", "done"}
RECORD_TYPES = ("incident", "request")
CHANGE_TYPES = ("standard", "normal", "emergency")
OUTCOMES = ("successful", "failed", "backed_out")
TIME_COLUMNS = {
    "tickets": ("opened_at", "responded_at", "resolved_at", "closed_at"),
    "changes": ("planned_start", "planned_end", "actual_end"),
    "surveys": ("answered_at",),
}
COUNT_COLUMNS = {"tickets": ("reassignment_count", "reopen_count"), "surveys": ("score",)}
PERSONAL_COLUMNS = ("caller",)
ISSUE_COLUMNS = ["table", "file", "column", "rule", "action", "rows", "examples", "fix"]


@dataclass(frozen=True)
class Ingested:
    """Canonical tables plus what was excluded or flagged on the way."""

    tickets: pd.DataFrame
    changes: pd.DataFrame
    surveys: pd.DataFrame
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "source_row", "record_id", "rule"])
    )
    rows_read: dict[str, int] = field(default_factory=dict)


def read_export(source: Source) -> pd.DataFrame:
    """The export as text columns (no type guessing), with a ``source_row`` line number."""
    path = source.path
    if not path.is_file():
        raise DataError(
            f"export {path} does not exist: check `path` in the params file "
            "(relative paths are read from the params file's folder)"
        )
    try:
        if path.suffix.lower() == ".xlsx":
            raw = pd.read_excel(path, sheet_name=source.sheet or 0, dtype=str, na_filter=False)
        else:
            raw = pd.read_csv(path, dtype=str, na_filter=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    missing = [src for src in source.columns.values() if src not in raw.columns]
    if missing:
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, list(raw.columns), n=1)
            hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(
            f"{path} lacks column(s) {', '.join(hints)} named in the params column map. "
            f"Its columns are: {', '.join(map(repr, raw.columns))}. Fix the column map "
            "under sources in the params file, or the export."
        )
    # Header is line 1 in both CSV and Excel, so data row i sits on line i + 2.
    return raw.assign(source_row=np.arange(2, len(raw) + 2))


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Replace personal values by a keyed hash (HMAC-SHA256), stable for one key.

    A keyed hash, not a plain one, so that names cannot be recovered by hashing
    a staff directory (OWASP: pseudonymisation needs a secret).
    """
    uniques = values.dropna().unique()
    mapping = {
        v: "p-" + hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:12]
        for v in uniques
    }
    return values.map(mapping).astype("string")


class _Rules:
    """Collects rule hits for one table, then turns them into issues and exclusions."""

    def __init__(self, table: str, source: Source, frame: pd.DataFrame) -> None:
        self.table, self.source, self.frame = table, source, frame
        self.exclude = pd.Series("", index=frame.index, dtype="string")
        self.issues: list[dict[str, object]] = []

    def hit(self, mask: pd.Series, column: str, rule: str, fix: str, *, flag: bool = False) -> None:
        mask = mask.fillna(False).astype(bool)
        count = int(mask.sum())
        if not count:
            return
        rows = self.frame.loc[mask, "source_row"]
        self.issues.append({
            "table": self.table,
            "file": str(self.source.path),
            "column": self.source.columns.get(column, column),
            "rule": rule,
            "action": "flagged" if flag else "excluded",
            "rows": count,
            "examples": ", ".join(str(r) for r in rows.head(5)),
            "fix": fix,
        })
        if not flag:
            first = mask & (self.exclude == "")
            self.exclude = self.exclude.mask(first, rule)

    def split(self, id_column: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        bad = self.exclude != ""
        excluded = pd.DataFrame({
            "table": self.table,
            "source_row": self.frame.loc[bad, "source_row"].to_numpy(),
            "record_id": self.frame.loc[bad, id_column].astype("string").to_numpy(),
            "rule": self.exclude[bad].to_numpy(),
        })
        issues = pd.DataFrame(self.issues, columns=ISSUE_COLUMNS)
        return self.frame.loc[~bad].reset_index(drop=True), excluded, issues


def _text(raw: pd.Series, mapping: dict[str, str] | None) -> pd.Series:
    out = raw.str.strip().replace("", pd.NA).astype("string")
    if mapping:
        out = out.replace(mapping)
    return out


def _canonical(raw: pd.DataFrame, table: str, source: Source, tz: str) -> tuple[pd.DataFrame, _Rules]:
    """Rename, map values and parse types; parse failures become rule hits."""
    cols = {canon: _text(raw[src], source.values.get(canon)) for canon, src in source.columns.items()}
    frame = pd.DataFrame(cols, index=raw.index).assign(source_row=raw["source_row"])
    rules = _Rules(table, source, frame)  # holds `frame`: columns are parsed in place below
    src_tz = source.timezone or tz
    for col in TIME_COLUMNS[table]:
        if col not in frame:
            frame[col] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
            continue
        text = frame[col]
        parsed = pd.to_datetime(text, format=source.date_format, errors="coerce")
        if getattr(parsed.dt, "tz", None) is None:
            # Local wall-clock times: a time repeated when clocks go back is read as
            # the first (summer) occurrence, a time in the spring gap is moved forward.
            ambiguous = np.ones(len(parsed), dtype=bool)
            localised = parsed.dt.tz_localize(src_tz, ambiguous=ambiguous, nonexistent="NaT")
            gap = localised.isna() & parsed.notna()
            if gap.any():
                shifted = parsed.dt.tz_localize(
                    src_tz, ambiguous=ambiguous, nonexistent="shift_forward"
                )
                rules.hit(gap, col, "local time in the daylight-saving gap",
                          "none needed: moved to the first valid time", flag=True)
                localised = shifted
            parsed = localised
        frame[col] = parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        rules.hit(text.notna() & parsed.isna(), col, "not a date in the expected format",
                  f"check date_format ({source.date_format or 'automatic'}) in the params file "
                  "or correct these cells")
    for col in COUNT_COLUMNS.get(table, ()):
        if col not in frame:
            continue
        text = frame[col]
        number = pd.to_numeric(text, errors="coerce")
        frame[col] = number
        rules.hit(text.notna() & number.isna(), col, "not a number", "correct these cells")
    return frame, rules


def _assign_service(frame: pd.DataFrame, params: Params) -> pd.Series:
    service = pd.Series(pd.NA, index=frame.index, dtype="string")
    for svc in params.services:
        if svc.match_field in frame:
            hit = frame[svc.match_field].isin(svc.match_values) & service.isna()
            service = service.mask(hit, svc.id)
    return service


def _tickets(raw: pd.DataFrame, params: Params, key: bytes | None) -> tuple:
    source = params.sources.tickets
    frame, rules = _canonical(raw, "tickets", source, params.reporting.timezone)
    if "record_type" not in frame:
        frame["record_type"] = pd.Series("incident", index=frame.index, dtype="string")
    frame["record_type"] = frame["record_type"].str.lower()
    for col in ("reassignment_count", "reopen_count"):
        if col not in frame:
            frame[col] = 0.0
    frame["service"] = _assign_service(frame, params)
    state = frame["state"].str.lower() if "state" in frame else pd.Series(pd.NA, index=frame.index)
    finished = state.isin(FINISHED_STATES) | frame["closed_at"].notna()
    targets = sorted(params.sla.targets)

    rules.hit(frame["ticket_id"].isna(), "ticket_id", "missing ticket id",
              "every row needs an id; correct or delete these rows")
    dup = frame["ticket_id"].notna() & frame["ticket_id"].duplicated(keep="first")
    rules.hit(dup, "ticket_id", "duplicate ticket id (first row kept)",
              "remove the repeated rows from the export, or export one row per ticket")
    rules.hit(frame["opened_at"].isna(), "opened_at", "missing opened time",
              "every ticket needs an opened time")
    rules.hit(frame["resolved_at"] < frame["opened_at"], "resolved_at", "resolved before opened",
              "correct the timestamps in the source tool")
    rules.hit(frame["responded_at"] < frame["opened_at"], "responded_at",
              "responded before opened", "correct the timestamps in the source tool")
    rules.hit(finished & frame["resolved_at"].isna(), "resolved_at",
              "finished ticket without a resolution time",
              "export the resolved time for closed tickets")
    rules.hit(~frame["priority"].isin(targets), "priority",
              f"priority not one of the SLA targets ({', '.join(targets)})",
              "map the export's priority labels under sources.tickets.values.priority")
    rules.hit(~frame["record_type"].isin(RECORD_TYPES), "record_type",
              "record type is neither incident nor request",
              "map the export's types under sources.tickets.values.record_type")
    for col in ("reassignment_count", "reopen_count"):
        rules.hit(frame[col] < 0, col, "negative count", "correct these cells")
    rules.hit(frame["service"].isna(), params.services[0].match_field, "matches no service",
              "add the value to a service's `match` list in the params file")
    if key is not None:
        for col in PERSONAL_COLUMNS:
            if col in frame:
                frame[col] = pseudonymise(frame[col], key)
    tickets, excluded, issues = rules.split("ticket_id")
    tickets = tickets.assign(
        reassignment_count=tickets["reassignment_count"].fillna(0).astype("int64"),
        reopen_count=tickets["reopen_count"].fillna(0).astype("int64"),
    )
    return tickets, excluded, issues


def _changes(raw: pd.DataFrame, params: Params) -> tuple:
    source = params.sources.changes
    frame, rules = _canonical(raw, "changes", source, params.reporting.timezone)
    frame["change_type"] = frame["change_type"].str.lower()
    frame["outcome"] = frame["outcome"].str.lower()
    if "caused_incident" in frame:
        frame["caused_incident"] = frame["caused_incident"].str.lower().map(
            {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
        ).astype("boolean")
    frame["service"] = _assign_service(frame, params)
    rules.hit(frame["change_id"].isna(), "change_id", "missing change id",
              "every row needs an id")
    rules.hit(frame["change_id"].notna() & frame["change_id"].duplicated(), "change_id",
              "duplicate change id (first row kept)", "export one row per change")
    rules.hit(~frame["change_type"].isin(CHANGE_TYPES), "change_type",
              "change type not standard, normal or emergency",
              "map the export's types under sources.changes.values.change_type")
    done = frame["actual_end"].notna()
    rules.hit(done & ~frame["outcome"].isin(OUTCOMES), "outcome",
              "completed change without a known outcome",
              "map close codes to successful, failed or backed_out under "
              "sources.changes.values.outcome")
    rules.hit(frame["service"].isna(), params.services[0].match_field, "matches no service",
              "add the value to a service's `match` list in the params file")
    return rules.split("change_id")


def _surveys(raw: pd.DataFrame, params: Params, tickets: pd.DataFrame) -> tuple:
    source = params.sources.surveys
    frame, rules = _canonical(raw, "surveys", source, params.reporting.timezone)
    frame["service"] = frame["ticket_id"].map(
        tickets.set_index("ticket_id")["service"]
    ).astype("string")
    rules.hit(frame["answered_at"].isna(), "answered_at", "missing answer time",
              "every survey answer needs a time")
    rules.hit(~frame["score"].isin([1, 2, 3, 4, 5]), "score", "score is not 1..5",
              "rescale scores to 1..5 in the export")
    rules.hit(frame["service"].isna(), "ticket_id", "refers to no ticket kept",
              "check that the survey and ticket exports cover the same tickets")
    surveys, excluded, issues = rules.split("ticket_id")
    return surveys.assign(score=surveys["score"].astype("int64")), excluded, issues


def _empty_changes() -> pd.DataFrame:
    return pd.DataFrame({
        "change_id": pd.Series(dtype="string"), "service": pd.Series(dtype="string"),
        "change_type": pd.Series(dtype="string"), "outcome": pd.Series(dtype="string"),
        "actual_end": pd.Series(dtype="datetime64[ns, UTC]"),
    })


def _empty_surveys() -> pd.DataFrame:
    return pd.DataFrame({
        "ticket_id": pd.Series(dtype="string"), "service": pd.Series(dtype="string"),
        "answered_at": pd.Series(dtype="datetime64[ns, UTC]"), "score": pd.Series(dtype="int64"),
    })


def ingest(params: Params, *, key: bytes | None = None) -> Ingested:
    """Read every export of ``params`` into canonical tables, with what was excluded and why.

    ``key`` pseudonymises personal columns; None keeps them as exported.
    """
    raw = read_export(params.sources.tickets)
    tickets, excluded, issues = _tickets(raw, params, key)
    rows_read = {"tickets": len(raw)}
    parts_x, parts_i = [excluded], [issues]
    changes, surveys = _empty_changes(), _empty_surveys()
    if params.sources.changes is not None:
        raw_c = read_export(params.sources.changes)
        changes, ex, iss = _changes(raw_c, params)
        rows_read["changes"] = len(raw_c)
        parts_x.append(ex)
        parts_i.append(iss)
    if params.sources.surveys is not None:
        raw_s = read_export(params.sources.surveys)
        surveys, ex, iss = _surveys(raw_s, params, tickets)
        rows_read["surveys"] = len(raw_s)
        parts_x.append(ex)
        parts_i.append(iss)
    if tickets.empty:
        raise DataError(
            f"no usable tickets in {params.sources.tickets.path}: all {len(raw)} rows were "
            "excluded. First problems:\n"
            + pd.concat(parts_i).head(5).to_string(index=False)
        )
    return Ingested(
        tickets=tickets,
        changes=changes,
        surveys=surveys,
        issues=pd.concat([p for p in parts_i if not p.empty] or [parts_i[0]], ignore_index=True),
        excluded=pd.concat([p for p in parts_x if not p.empty] or [parts_x[0]],
                           ignore_index=True),
        rows_read=rows_read,
    )
