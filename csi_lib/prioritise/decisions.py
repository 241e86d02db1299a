"""The decision log: every rejected, filtered or deferred proposal with its reason, across quarters.

CSI practice keeps a decision log "recording why proposals were rejected", so
that the same idea is not argued twice and a proposal deferred quarter after
quarter becomes visible. The log is carried in the published hand-over
workbook: each quarter's log is the latest earlier published period's log
plus this quarter's decisions. Published periods are immutable, so the log is
append-only; the consultant's own decisions (rejections) also stay in the
register with their notes and dates.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from csi_lib.errors import DataError
from csi_lib.periods import quarter_label

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = [
    "BACKLOG_FILE",
    "LOG_COLUMNS",
    "LOG_SHEET",
    "carry_log",
    "previous_backlog",
    "published_inputs",
    "quarter_decisions",
    "read_log",
]

BACKLOG_FILE = "improvement_backlog.xlsx"
LOG_SHEET = "Decision log"
LOG_COLUMNS = ("Quarter", "ID", "Title", "Services", "Decision", "Reason", "Source")
# Plan decisions that enter the log, and the word the log uses for each.
LOGGED = {"rejected": "rejected", "below threshold": "filtered out", "blocked": "blocked",
          "did not fit": "deferred"}
# Earlier quarters searched for a published backlog (a skipped quarter does not break the chain).
LOOKBACK_QUARTERS = 8


def quarter_decisions(rows: pd.DataFrame, period: pd.Period) -> pd.DataFrame:
    """This quarter's log entries from the plan's rows (see :class:`planning.Plan`).

    A rejection is dated by the register's decision date when it has one.
    """
    label = quarter_label(period)
    freq = period.freqstr  # the client's fiscal quarters, e.g. Q-DEC
    logged = rows.loc[rows["decision"].isin(list(LOGGED))]
    out = []
    for r in logged.itertuples(index=False):
        quarter = label
        if r.decision == "rejected" and pd.notna(r.decided):
            quarter = quarter_label(pd.Timestamp(r.decided).to_period(freq))
        out.append({
            "Quarter": quarter, "ID": r.id, "Title": r.title,
            "Services": ", ".join((r.service, *r.other_services)),
            "Decision": LOGGED[r.decision], "Reason": r.reason,
            "Source": "register" if r.decision == "rejected" else f"prioritisation {label}",
        })
    return _sorted(pd.DataFrame(out, columns=list(LOG_COLUMNS)))


def previous_backlog(outputs: Path | str, client: str, period: pd.Period) -> Path | None:
    """The backlog workbook of the latest published period before ``period``, if any."""
    client_dir = Path(outputs) / client
    for back in range(1, LOOKBACK_QUARTERS + 1):
        label = quarter_label(period - back)
        folders = []
        for p in client_dir.glob(f"{label}*"):
            m = re.fullmatch(rf"{re.escape(label)}(?:-r(\d+))?", p.name)
            if m and (p / BACKLOG_FILE).is_file():
                folders.append((int(m.group(1) or 1), p))
        if folders:
            return max(folders)[1] / BACKLOG_FILE
    return None


def read_log(path: Path) -> pd.DataFrame:
    """The decision log sheet of a published backlog workbook."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataError(f"the previous backlog {path} cannot be read ({exc}): restore it from "
                        "the published period, or move it aside to start a new decision log"
                        ) from None
    try:
        if LOG_SHEET not in wb.sheetnames:
            raise DataError(f"the previous backlog {path} has no sheet '{LOG_SHEET}': restore "
                            "it from the published period, or move it aside to start a new log")
        rows = list(wb[LOG_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()
    header = tuple(str(h) if h is not None else "" for h in (rows[0] if rows else ()))
    if header[:len(LOG_COLUMNS)] != LOG_COLUMNS:
        raise DataError(f"the previous backlog {path}, sheet '{LOG_SHEET}', row 1 should read "
                        f"{', '.join(LOG_COLUMNS)} but reads {', '.join(header)}: restore it "
                        "from the published period")
    records = [dict(zip(LOG_COLUMNS, (("" if v is None else str(v)) for v in r[:7]),
                        strict=False))
               for r in rows[1:] if any(v is not None for v in r)]
    return pd.DataFrame(records, columns=list(LOG_COLUMNS))


def carry_log(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """The previous log plus this quarter's entries it does not already hold.

    A rejection is logged once; a deferral is logged each quarter it happens.
    """
    if previous is None or previous.empty:
        return _sorted(current)
    seen_rejected = set(previous.loc[previous["Decision"] == "rejected", "ID"])
    seen = set(zip(previous["Quarter"], previous["ID"], previous["Decision"], strict=True))
    new = current.loc[[
        not (d == "rejected" and i in seen_rejected) and (q, i, d) not in seen
        for q, i, d in zip(current["Quarter"], current["ID"], current["Decision"], strict=True)
    ]]
    return _sorted(pd.concat([previous, new], ignore_index=True))


def _sorted(log: pd.DataFrame) -> pd.DataFrame:
    order = {d: k for k, d in enumerate(LOGGED.values())}
    keyed = log.assign(_d=log["Decision"].map(order).fillna(len(order)))
    keyed = keyed.sort_values(["Quarter", "_d", "ID"], ascending=[False, True, True],
                              kind="stable")
    return keyed.drop(columns="_d").reset_index(drop=True)



def input_files(params: Params, period: str) -> list[Path]:  # noqa: ARG001 - runner's signature
    """Files a prioritisation report reads besides the exports: the consultant's register.

    For the runner's change detection. The previous quarter's backlog (its decision
    log) is a published, immutable file, so it is not part of the key.
    """
    path = params.prioritisation.register_file
    return [path] if path is not None and path.is_file() else []


def published_inputs(params: Params, period: str, outputs: Path | str) -> list[Path]:
    """Files of earlier published periods a prioritisation report reads: the latest
    backlog workbook, whose decision log it carries on (for shipping to a worker)."""
    previous = previous_backlog(outputs, params.client.id, params.period(period))
    return [previous] if previous is not None else []
