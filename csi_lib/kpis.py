"""KPI computation: every catalogue KPI per service, per month and per quarter.

The result is one long table (service, freq, period, period_start, kpi, value, n)
so that reports, charts and the gap analysis read the same numbers. All work is
vectorised group-bys; nothing loops over tickets.

As-of rule: a report for a quarter sees the data as it stood at the quarter's
end. Tickets opened later are ignored and resolutions after it count as open,
so a rerun next year gives the same figures for the same quarter.
"""

from __future__ import annotations

import pandas as pd

from csi_lib import catalogue, sla
from csi_lib.params import Params
from csi_lib.periods import quarter_freq, quarter_label

__all__ = ["KPI_COLUMNS", "as_of_view", "kpi_table", "period_bounds", "ticket_measures"]

KPI_COLUMNS = ["service", "freq", "period", "period_start", "kpi", "value", "n"]
HOUR = pd.Timedelta(hours=1)


def period_bounds(period: pd.Period, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of ``period`` in UTC, with boundaries at local midnight in ``tz``."""
    start = period.start_time.tz_localize(tz).tz_convert("UTC")
    end = (period.end_time.floor("D") + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    return start, end


def as_of_view(frame: pd.DataFrame, end: pd.Timestamp, *, born: str, later: tuple[str, ...]) -> pd.DataFrame:
    """Rows known at ``end``: born before it, with later events blanked (not yet happened)."""
    view = frame.loc[frame[born] < end]
    blank = {c: view[c].where(view[c] < end) for c in later if c in view}
    return view.assign(**blank)


def _bucket(ts: pd.Series, tz: str, freq: str) -> pd.Series:
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.to_period(freq)


def ticket_measures(tickets: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Per-ticket durations (hours) and SLA outcomes used by several KPIs."""
    targets = params.sla.targets
    res_target = tickets["priority"].map({p: t.resolution for p, t in targets.items()})
    resp_target = tickets["priority"].map({p: t.response for p, t in targets.items()})
    res = tickets["resolved_at"] - tickets["opened_at"]
    resp = tickets["responded_at"] - tickets["opened_at"]
    # SLA clocks run on the policy's calendar (business hours, holidays); the
    # reported durations stay wall-clock, which is what users waited.
    calendar = params.sla.business_hours
    res_clock = sla.elapsed(tickets["opened_at"], tickets["resolved_at"], calendar)
    resp_clock = sla.elapsed(tickets["opened_at"], tickets["responded_at"], calendar)
    return tickets.assign(
        resolution_h=res / HOUR,
        response_h=resp / HOUR,
        met_resolution=(res_clock <= pd.to_timedelta(res_target)).where(res_clock.notna()),
        met_response=(resp_clock <= pd.to_timedelta(resp_target)).where(
            resp_clock.notna() & resp_target.notna()
        ),
        reopened=tickets["reopen_count"] > 0,
        reassigned=tickets["reassignment_count"] > 0,
        first_contact=(tickets["reopen_count"] == 0) & (tickets["reassignment_count"] == 0),
    )


def _grouped(frame: pd.DataFrame, when: str, tz: str, freq: str, spec: dict) -> pd.DataFrame:
    """Aggregate ``frame`` by service and the period of column ``when``."""
    rows = frame.loc[frame[when].notna()]
    keys = [rows["service"], _bucket(rows[when], tz, freq).rename("p")]
    return rows.groupby(keys, observed=True).agg(**spec)


def _long(wide: pd.DataFrame, kpi: str, value: str, n: str) -> pd.DataFrame:
    return pd.DataFrame({
        "kpi": kpi,
        "value": wide[value].astype("float64"),
        "n": wide[n].astype("int64"),
    }, index=wide.index)


def _one_freq(tickets: pd.DataFrame, changes: pd.DataFrame, surveys: pd.DataFrame,
              params: Params, freq: str, periods: pd.PeriodIndex) -> pd.DataFrame:
    tz = params.reporting.timezone
    parts: list[pd.DataFrame] = []

    opened = _grouped(tickets, "opened_at", tz, freq, {"n": ("ticket_id", "size")})
    parts.append(_long(opened.assign(v=opened["n"]), "volume", "v", "n"))

    resolved = _grouped(tickets, "resolved_at", tz, freq, {
        "n": ("ticket_id", "size"),
        "sla": ("met_resolution", "mean"),
        "med": ("resolution_h", "median"),
        "p90": ("resolution_h", lambda s: s.quantile(0.9)),
        "mean": ("resolution_h", "mean"),
        "reopen": ("reopened", "mean"),
        "reassign": ("reassigned", "mean"),
        "fcr": ("first_contact", "mean"),
    })
    for kpi, col in [("sla_resolution", "sla"), ("resolution_median_h", "med"),
                     ("resolution_p90_h", "p90"), ("resolution_mean_h", "mean"),
                     ("reopen_rate", "reopen"), ("reassignment_rate", "reassign"),
                     ("fcr", "fcr")]:
        parts.append(_long(resolved, kpi, col, "n"))

    responded = tickets.loc[tickets["met_response"].notna()]
    resp = _grouped(responded, "responded_at", tz, freq, {
        "n": ("ticket_id", "size"), "sla": ("met_response", "mean")})
    parts.append(_long(resp, "sla_response", "sla", "n"))

    # Backlog at each period end = tickets opened so far - tickets resolved so far,
    # counted over the whole history so tickets opened long ago still count.
    all_periods = pd.period_range(
        min(periods[0], _bucket(tickets["opened_at"], tz, freq).min()), periods[-1], freq=freq
    )
    grid = pd.MultiIndex.from_product([sorted(tickets["service"].unique()), all_periods],
                                      names=["service", "p"])
    o = opened["n"].reindex(grid, fill_value=0)
    r = resolved["n"].reindex(grid, fill_value=0)
    backlog = (o.groupby(level="service").cumsum() - r.groupby(level="service").cumsum())
    backlog = backlog.to_frame("v").assign(n=backlog)
    parts.append(_long(backlog, "backlog", "v", "n"))

    csat = _grouped(surveys, "answered_at", tz, freq, {
        "n": ("score", "size"), "mean": ("score", "mean")})
    parts.append(_long(csat, "csat_mean", "mean", "n"))
    rate = csat["n"].reindex(resolved.index, fill_value=0) / resolved["n"]
    parts.append(_long(resolved.assign(rate=rate), "csat_response_rate", "rate", "n"))

    done = changes.loc[changes["actual_end"].notna()]
    chg = _grouped(done.assign(ok=done["outcome"] == "successful"), "actual_end", tz, freq, {
        "n": ("change_id", "size"), "ok": ("ok", "mean")})
    parts.append(_long(chg, "change_success_rate", "ok", "n"))

    long = pd.concat(parts).reset_index()
    services = [s.id for s in params.services]
    full = pd.MultiIndex.from_product([services, periods, catalogue.ids()],
                                      names=["service", "p", "kpi"])
    long = long.set_index(["service", "p", "kpi"]).reindex(full).reset_index()
    label = (lambda p: quarter_label(p)) if freq != "M" else (lambda p: p.strftime("%Y-%m"))
    return pd.DataFrame({
        "service": long["service"].astype("string"),
        "freq": "Q" if freq != "M" else "M",
        "period": long["p"].map(label).astype("string"),
        "period_start": long["p"].map(lambda p: p.start_time),
        "kpi": long["kpi"].astype("string"),
        "value": long["value"].astype("float64"),
        "n": long["n"].fillna(0).astype("int64"),
    })


def kpi_table(tickets: pd.DataFrame, changes: pd.DataFrame, surveys: pd.DataFrame,
              params: Params, period: pd.Period) -> pd.DataFrame:
    """Every catalogue KPI for every service, monthly and quarterly, as known at
    the end of ``period``, for ``period`` and the ``history_quarters`` before it."""
    tz = params.reporting.timezone
    _, end = period_bounds(period, tz)
    t = ticket_measures(
        as_of_view(tickets, end, born="opened_at",
                   later=("responded_at", "resolved_at", "closed_at")), params)
    c = as_of_view(changes, end, born="actual_end", later=())
    s = as_of_view(surveys, end, born="answered_at", later=())
    first = period - params.reporting.history_quarters
    quarters = pd.period_range(first, period, freq=quarter_freq(params.reporting.fiscal_year_start_month))
    months = pd.period_range(first.asfreq("M", how="start"), period.asfreq("M", how="end"), freq="M")
    table = pd.concat([_one_freq(t, c, s, params, "M", months),
                       _one_freq(t, c, s, params, quarters.freqstr, quarters)], ignore_index=True)
    return table[KPI_COLUMNS]
