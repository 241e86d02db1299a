"""The data-quality section of the baseline report: score, the service's checks, client note."""

from __future__ import annotations

import pandas as pd

from csi_lib import display
from csi_lib.ingest import Ingested
from csi_lib.kpis import period_bounds
from csi_lib.params import Params
from csi_lib.periods import quarter_label
from csi_lib.quality.checks import ALL, SCORE_METHOD, quality_table, rating, score

__all__ = ["check_summary", "client_note", "kpi_basis", "show_quality"]

# Short names of the checks for the report table; the CSV keeps the long descriptions.
LABELS = {
    "duplicates": "Duplicate ticket ids (excluded)",
    "no_service": "Matches no service (excluded)",
    "excluded_other": "Excluded for other reasons",
    "impossible_order": "Resolved or responded before opened (excluded)",
    "closed_before_resolved": "Closed before resolved (kept)",
    "over_a_year": "Open or resolved over a year",
    "outliers": "Resolution-time outliers (kept)",
    "resolved_from_closed": "Closed time taken as resolution time (kept)",
    "after_period_end": "Events after the period end",
}
_LIFECYCLE_LABELS = {
    "responded_at": "Missing first response (resolved tickets)",
    "resolved_at": "Missing resolution time (closed tickets)",
    "closed_at": "Missing closure time (closed state)",
}
_CLIENT_PARTS = (("no_service", "matched no service"), ("duplicates", "repeated a ticket id"),
                 ("impossible_order", "were resolved or responded to before being opened"),
                 ("excluded_other", "failed another rule"))
_READING = {
    "good": "the KPIs can be relied on; the checks below hit few rows.",
    "fair": "the KPIs hold, but read those resting on the flagged columns or rows with care.",
    "poor": "fix the export before relying on the KPIs; the checks below say where.",
}


def _label(check: str) -> str:
    if check.startswith("complete:"):
        col = check.removeprefix("complete:")
        return _LIFECYCLE_LABELS.get(col, f"Missing {col.replace('_', ' ')}")
    return LABELS.get(check, check)


def _pct(share: float) -> str:
    if pd.isna(share):  # nothing to check
        return "–"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share:.1%}"


def kpi_basis(tickets: pd.DataFrame, service: str, start: pd.Timestamp,
              end: pd.Timestamp) -> tuple[int, int]:
    """Tickets of ``service`` opened, and resolved, in ``[start, end)`` after exclusions:
    what the period's volume and resolution KPIs rest on."""
    mine = tickets.loc[tickets["service"] == service]
    opened = int(((mine["opened_at"] >= start) & (mine["opened_at"] < end)).sum())
    resolved = int(((mine["resolved_at"] >= start) & (mine["resolved_at"] < end)).sum())
    return opened, resolved


def check_summary(table: pd.DataFrame, service: str) -> pd.DataFrame:
    """The report table of one service: every row check, and the incomplete columns."""
    mine = table.loc[table["service"] == service]
    shown = mine.loc[(mine["family"] != "completeness") | (mine["rows"] > 0)]
    return pd.DataFrame({
        "Check": shown["check"].map(_label),
        "Rows": shown["rows"].map("{:,}".format),
        "Of": shown["base"].map("{:,}".format),
        "Share": shown["share"].map(_pct),
        "Severity": shown["severity"],
        "Points lost": shown["points_lost"].map("{:.1f}".format),
    })


def show_quality(tables: Ingested, params: Params, period: pd.Period | str,
                 service: str) -> None:
    """The data-quality section: score and reading, the service's checks, client-wide note."""
    period = params.period(period) if isinstance(period, str) else period
    svc = params.service(service)
    table = quality_table(tables, params, period)
    scores = score(table)
    value = float(scores[service])
    word = rating(value)
    start, end = period_bounds(period, params.reporting.timezone)
    opened, resolved = kpi_basis(tables.tickets, service, start, end)
    label = quarter_label(period)
    mine = table.loc[(table["service"] == service) & (table["family"] == "completeness")]
    gaps = int((mine["rows"] > 0).sum())
    columns = (f"All {len(mine)} columns checked are complete where expected."
               if gaps == 0 else f"{len(mine) - gaps} of the {len(mine)} columns checked are "
               "complete where expected; the table lists the others.")
    display.show_markdown(
        f"**Data-quality score: {value:.1f} / 100 ({word})**: {_READING[word]}\n\n"
        f"After exclusions, the KPIs of {label} rest on **{opened:,} tickets opened** and "
        f"**{resolved:,} resolved** in the quarter for {display.esc(svc.name)}. The checks "
        "cover the service's tickets opened before the quarter's end (the quarter and its "
        f"history); rows excluded at ingest count over the whole export. {columns}")
    display.show_table(check_summary(table, service),
                       caption=f"Data-quality checks, {svc.name}, as of the end of {label}")
    display.show_markdown(f"{client_note(table, scores)}\n\n*How the score is computed.* "
                          f"{SCORE_METHOD}")


def client_note(table: pd.DataFrame, scores: pd.Series) -> str:
    """The client-wide sentence: rows excluded at ingest by reason, and the client score."""
    client = table.loc[table["service"] == ALL].set_index("check")
    total = float(scores[ALL])
    base = int(client.loc["no_service", "base"])
    parts = [(int(client.loc[c, "rows"]), words) for c, words in _CLIENT_PARTS]
    excluded = sum(n for n, _ in parts)
    if excluded == 0:
        return (f"Client-wide, no ticket row of {base:,} was excluded at ingest. The "
                f"client-wide score is {total:.1f} ({rating(total)}).")
    reasons = [f"{n:,} {words}" for n, words in parts if n]
    listed = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
    return (f"Client-wide, {excluded:,} of {base:,} ticket rows ({_pct(excluded / base)}) were "
            f"excluded at ingest: {listed}. Each counts in its service's score where its service "
            "is known; rows matching no service count in the client-wide score only, "
            f"{total:.1f} ({rating(total)}).")
