"""Which periods and services the ticket data covers.

A report for a quarter the export does not reach would show a page of empty
KPIs that reads like a quiet quarter: such a period is refused, naming the
range the data covers. A quarter inside that range can still find a service
without a single ticket (a new service, a team that moved tool); its reports
then say "no tickets in this period" where each section would be.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.errors import DataError
from csi_lib.kpis.backlog import with_ends, without_end
from csi_lib.kpis.grid import known_tickets, period_bounds
from csi_lib.params import Params
from csi_lib.periods import quarter_label

__all__ = ["NO_TICKETS", "active_in_table", "active_tickets", "data_range", "no_tickets_text",
           "require_period_in_data"]

NO_TICKETS = "No tickets in this period"
_EVENTS = ("opened_at", "responded_at", "resolved_at", "closed_at")
# KPI-table counts that together cover every ticket touching a quarter: opened in it,
# open at its end, resolved in it.
_ACTIVITY_KPIS = ("volume", "backlog", "resolution_mean_h")


def data_range(tickets: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(first, last) event time of the kept tickets (UTC); None when there are none."""
    times = [tickets[c].dropna() for c in _EVENTS if c in tickets]
    times = [t for t in times if len(t)]
    if not times:
        return None
    return min(t.min() for t in times), max(t.max() for t in times)


def require_period_in_data(tickets: pd.DataFrame, params: Params, period: pd.Period,
                           source: str = "") -> None:
    """Refuse a period that lies entirely outside the tickets' date range.

    Raises DataError naming the period, the range the data covers (in the
    client's time zone) and the quarters it spans.
    """
    tz = params.reporting.timezone
    start, end = period_bounds(period, tz)
    span = data_range(tickets)
    where = f" in {source}" if source else ""
    if span is None:
        raise DataError(f"no kept ticket has a date{where}: there is nothing to report for "
                        f"{quarter_label(period)}")
    first, last = span
    if end <= first or start > last:
        lo, hi = first.tz_convert(tz), last.tz_convert(tz)
        freq = period.freqstr
        q_lo = quarter_label(pd.Period(lo.tz_localize(None), freq=freq))
        q_hi = quarter_label(pd.Period(hi.tz_localize(None), freq=freq))
        raise DataError(
            f"period {quarter_label(period)} lies outside the ticket data{where}, which runs "
            f"from {lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} ({tz}): choose a period from "
            f"{q_lo} to {q_hi} (--period, or reporting.period in {params.source_file})")


def active_tickets(tickets: pd.DataFrame, params: Params, period: pd.Period) -> pd.Series:
    """Per service id (params order): tickets opened or resolved in ``period``, or open
    at its end, as known at the end. Zero means "no tickets in this period"."""
    start, _ = period_bounds(period, params.reporting.timezone)
    t = with_ends(known_tickets(tickets, params, period,
                                ("service", "opened_at", "resolved_at", "closed_at")),
                  without_end(tickets))
    touched = t["left_at"].isna() | (t["left_at"] >= start)
    by = t.loc[touched, "service"].value_counts()
    return pd.Series({s.id: int(by.get(s.id, 0)) for s in params.services}, dtype="int64")


def active_in_table(kpis: pd.DataFrame, service: str, label: str) -> int:
    """The same count as :func:`active_tickets` read from a KPI table (quarter ``label``):
    tickets opened, open at the end, plus resolved (a ticket can count twice; zero is exact)."""
    k = kpis.loc[(kpis["service"] == service) & (kpis["freq"] == "Q") & (kpis["period"] == label)
                 & kpis["kpi"].isin(_ACTIVITY_KPIS)]
    return int(k["n"].sum())


def no_tickets_text(name: str, label: str) -> str:
    """The sentence a report shows instead of a section for a service without tickets."""
    return (f"**{NO_TICKETS}.** {name} has no ticket opened, resolved or still open in "
            f"{label}, so there is nothing to show here.")
