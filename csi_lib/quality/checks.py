"""The data-quality checks of a ticket export and the score they add up to.

Ingest already excludes the rows no KPI can use (duplicates, resolved before
opened, unparseable dates, tickets matching no service, ...) and lists them in
``Ingested.excluded``. This module measures what is left and what was lost,
per service and client-wide (service ``"all"``), so that a reader knows how far
the KPIs can be trusted (DESIGN.md: nothing silently lost).

Scope: the kept tickets opened before the period end, the rows a report for
the period can see (the quarter and its history); excluded rows carry no
trusted dates, so they count over the whole export. They count in the service
ingest attributed them to (the service their row matched) or, failing that, in
the service of a kept ticket with their id (a duplicate's kept twin); rows
matching no service count only in the client-wide row.

Checks (``check`` ids; the ``family`` groups them):

- ``complete:<column>``: missing values of each canonical ticket column
  present. Lifecycle times are judged only where they must exist: the first
  response of resolved tickets, the resolution time of closed ones, the
  closure time of tickets in state "closed".
- ``duplicates``: repeated ticket ids (excluded at ingest, first row kept).
- ``impossible_order``: resolved or responded before opened (excluded at
  ingest); ``closed_before_resolved``: the same for closure (kept).
- ``over_a_year``: resolved after more than 365 days, or still open at the
  period end after more than 365 days (kept; usually never closed in the tool).
- ``resolved_from_closed``: closed tickets without a resolved time whose
  closed time stands in for it (ServiceNow ``closed_as_resolved``; information).
- ``outliers``: resolution times far from their priority's typical value: the
  robust z-score of log hours, ``|x - median| / (1.4826 * MAD)``, above 3.5
  within each (service, priority) of at least 20 resolved tickets (Iglewicz &
  Hoaglin, 1993, "How to Detect and Handle Outliers"; 1.4826 makes the median
  absolute deviation estimate a normal standard deviation). Log hours, because
  durations are right-skewed. Outliers are kept in the KPIs: they are real
  waits, listed so an analyst can check them.
- ``after_period_end``: tickets opened, responded, resolved or closed after
  the period end. Exports are taken after the period closes, so this is
  expected: the KPIs of the period ignore these events (as-of rule, see
  :mod:`csi_lib.kpis`). Counted for information, never penalised.
- ``no_service`` (client-wide only): rows whose assignment matched no service.
- ``excluded_other``: rows excluded by any other ingest rule.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from csi_lib.data import client_wide
from csi_lib.errors import DataError
from csi_lib.ingest import Ingested
from csi_lib.kpis import period_bounds
from csi_lib.params import CANONICAL_COLUMNS, Params

__all__ = ["ALL", "QUALITY_COLUMNS", "SCORE_METHOD", "quality_table", "rating", "score"]

ALL = "all"  # the client-wide row: every service plus rows that match none
QUALITY_COLUMNS = ["service", "check", "family", "description", "rows", "base", "share",
                   "severity", "weight", "points_lost"]

# A check loses its whole weight once it hits this share of its rows; below it,
# points are lost in proportion. 10%: a tenth of the rows wrong can move a
# KPI by more than a typical quarter-on-quarter change.
SATURATION = 0.10
# Weights (points out of 100) of the row checks; completeness weights below.
WEIGHTS: Mapping[str, float] = {
    "duplicates": 15.0,
    "impossible_order": 15.0,
    "no_service": 15.0,
    "excluded_other": 10.0,
    "closed_before_resolved": 5.0,
    "over_a_year": 5.0,
    "outliers": 5.0,
    "after_period_end": 0.0,   # expected in every export taken after the period: information
    # ServiceNow's closed_as_resolved: a stated, documented correction, shown not penalised
    # (the missing resolution times it stands in for would otherwise cost completeness).
    "resolved_from_closed": 0.0,
}
# Completeness weights: the columns KPIs and this report's analyses read weigh most
# (SLA by priority, response and resolution times, Pareto by category, repeats by caller).
COMPLETENESS_WEIGHTS: Mapping[str, float] = {
    "opened_at": 5.0, "resolved_at": 5.0, "priority": 5.0, "responded_at": 4.0,
    "category": 4.0, "caller": 3.0, "closed_at": 2.0, "channel": 2.0, "assignment_group": 2.0,
}
OTHER_COLUMN_WEIGHT = 1.0
# Severity by the share of rows hit: under 1% low, under 5% medium, else high.
LOW_SHARE, HIGH_SHARE = 0.01, 0.05
GOOD_SCORE, FAIR_SCORE = 95.0, 80.0
IMPOSSIBLE_H = 365 * 24.0
OUTLIER_Z = 3.5
MAD_SCALE = 1.4826
MIN_OUTLIER_GROUP = 20
_FLOOR_H = 1 / 60  # log hours need a positive duration: instant resolutions count as a minute
_HOUR = pd.Timedelta(hours=1)
# Ingest rule texts (csi_lib.ingest.tables) that this module sorts excluded rows by.
DUPLICATE_RULE = "duplicate"
ORDER_RULE = "before opened"
NO_SERVICE_RULE = "matches no service"
# Lifecycle columns judged only on the tickets that must carry them.
_LIFECYCLE = {
    "responded_at": "resolved tickets without a first response time",
    "resolved_at": "closed tickets without a resolution time",
    "closed_at": "tickets in state closed without a closure time",
}
_NOT_CHECKED = {"ticket_id", "source_row", "service"}
_EXCLUSIONS = {
    "duplicates": "repeated ticket id (excluded at ingest, first row kept)",
    "impossible_order": "resolved or responded before opened (excluded at ingest)",
    "no_service": "matches no service (excluded at ingest)",
    "excluded_other": "excluded at ingest for another reason",
}
_FAMILIES = ("exclusions", "durations", "completeness", "period")

SCORE_METHOD = (
    "The data-quality score starts at 100. Each check loses its weight in proportion to the "
    f"share of rows it hits, the whole weight from {SATURATION:.0%} of rows: points lost = "
    f"weight × min(1, share / {SATURATION:.2f}). Weights: duplicates, impossible time order "
    "and rows matching no service 15 points each, other exclusions 10, closed before "
    "resolved, durations over a year and resolution-time outliers 5 each, and the "
    "completeness of each column (priority, opened, resolved 5; first response, category 4; "
    "caller 3; closed, channel, assignment group 2; others 1). Events after the period end "
    "lose nothing. "
    f"{GOOD_SCORE:.0f} or more reads as good, {FAIR_SCORE:.0f} to {GOOD_SCORE:.0f} as fair, "
    "lower as poor."
)


# ---------------------------------------------------------------- per-ticket flags


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} has no column(s) {missing}; its columns are "
                        f"{list(frame.columns)}. Pass the tables csi_lib.data.load_tables "
                        "returns.")


def _missing(values: pd.Series) -> pd.Series:
    """Missing or blank cells."""
    blank = values.isna()
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        blank = blank | values.astype("string").str.strip().eq("").fillna(False)
    return blank.astype(bool)


def _completeness(tickets: pd.DataFrame) -> dict[str, tuple[pd.Series, pd.Series, str]]:
    """column -> (hit, base, description) for each canonical column present."""
    out: dict[str, tuple[pd.Series, pd.Series, str]] = {}
    everyone = pd.Series(True, index=tickets.index)
    state = (tickets["state"].astype("string").str.lower().eq("closed").fillna(False)
             if "state" in tickets else pd.Series(False, index=tickets.index))
    bases = {
        "responded_at": tickets["resolved_at"].notna() if "resolved_at" in tickets else None,
        "resolved_at": tickets["closed_at"].notna() if "closed_at" in tickets else None,
        "closed_at": state,
    }
    for col in CANONICAL_COLUMNS["tickets"]:
        if col not in tickets or col in _NOT_CHECKED:
            continue
        base = bases.get(col)
        base = everyone if base is None else base.astype(bool)
        desc = _LIFECYCLE.get(col, f"tickets without a {col.replace('_', ' ')}")
        out[col] = (_missing(tickets[col]) & base, base, desc)
    return out


def _outliers(tickets: pd.DataFrame, hours: pd.Series) -> pd.Series:
    """Robust z-score of log hours above OUTLIER_Z within each (service, priority)."""
    resolved = hours.notna()
    logh = np.log10(hours.where(resolved).clip(lower=_FLOOR_H))
    keys = [tickets["service"].astype("string").fillna(""),
            tickets["priority"].astype("string").fillna("")]
    grouped = logh.groupby(keys)
    med = grouped.transform("median")
    mad = (logh - med).abs().groupby(keys).transform("median")
    size = grouped.transform("count")
    # A MAD of zero (over half the tickets share one duration) leaves no scale: not tested.
    tested = resolved & (size >= MIN_OUTLIER_GROUP) & (mad > 0)
    z = (logh - med).abs() / (MAD_SCALE * mad.where(mad > 0))
    return (tested & (z > OUTLIER_Z)).astype(bool)


def _ticket_checks(tickets: pd.DataFrame, end: pd.Timestamp
                   ) -> list[tuple[str, str, str, pd.Series, pd.Series]]:
    """(check, family, description, hit, base) per check on the kept tickets in scope."""
    everyone = pd.Series(True, index=tickets.index)
    resolved = tickets["resolved_at"].notna() & (tickets["resolved_at"] < end)
    hours = ((tickets["resolved_at"] - tickets["opened_at"]) / _HOUR).where(resolved)
    age = (end - tickets["opened_at"]) / _HOUR
    closed_early = ((tickets["closed_at"] < tickets["resolved_at"]).fillna(False)
                    if "closed_at" in tickets else ~everyone)
    from_closed = (tickets["resolved_from_closed"].fillna(False).astype(bool)
                   if "resolved_from_closed" in tickets else ~everyone)
    return [
        *((f"complete:{col}", "completeness", desc, hit, base)
          for col, (hit, base, desc) in _completeness(tickets).items()),
        ("closed_before_resolved", "durations", "closed before it was resolved (kept)",
         closed_early.astype(bool), everyone),
        ("over_a_year", "durations",
         ("resolved after more than 365 days, or open for more than 365 days at the period "
          "end (kept)"),
         ((hours > IMPOSSIBLE_H) | (~resolved & (age > IMPOSSIBLE_H))).astype(bool), everyone),
        ("outliers", "durations",
         (f"resolution time an outlier for its priority (robust z of log hours > "
          f"{OUTLIER_Z:g}; kept)"),
         _outliers(tickets, hours), resolved.astype(bool)),
        ("resolved_from_closed", "durations",
         ("closed without a resolved time: the closed time taken as resolution time "
          "(ServiceNow closed_as_resolved; kept, resolution time an upper bound)"),
         from_closed, everyone),
    ]


def _exclusion_flags(excluded: pd.DataFrame) -> dict[str, pd.Series]:
    """check -> which excluded ticket rows it covers, sorted by their ingest rule."""
    rule = excluded["rule"].astype("string").fillna("")
    dup = rule.str.contains(DUPLICATE_RULE, regex=False).astype(bool)
    order = rule.str.contains(ORDER_RULE, regex=False).astype(bool)
    nosvc = rule.str.contains(NO_SERVICE_RULE, regex=False).astype(bool)
    return {"duplicates": dup, "impossible_order": order & ~dup, "no_service": nosvc & ~dup,
            "excluded_other": ~(dup | order | nosvc)}


# ---------------------------------------------------------------- the table


def _severity(rows: int, share: float, weight: float) -> str:
    if rows == 0:
        return "ok"
    if weight == 0:
        return "info"
    if share < LOW_SHARE:
        return "low"
    return "medium" if share < HIGH_SHARE else "high"


def _row(service: str, check: str, family: str, description: str, rows: int, base: int,
         weight: float) -> dict[str, object]:
    share = rows / base if base else float("nan")
    lost = weight * min(1.0, share / SATURATION) if base else 0.0
    return {"service": service, "check": check, "family": family, "description": description,
            "rows": int(rows), "base": int(base), "share": share,
            "severity": _severity(rows, share if base else 0.0, weight), "weight": weight,
            "points_lost": lost}


def _counts(flag: pd.Series, service: pd.Series, services: list[str]) -> dict[str, int]:
    """Rows flagged per service, plus the total under ALL."""
    by = flag.astype("int64").groupby(service.astype("string").fillna("")).sum()
    out = {s: int(by.get(s, 0)) for s in services}
    out[ALL] = int(flag.sum())
    return out


def quality_table(tables: Ingested, params: Params, period: pd.Period | str) -> pd.DataFrame:
    """The data-quality checks of the ticket export per service and client-wide (``"all"``).

    One row per (service, check) with the rows hit, the rows checked (``base``),
    their ``share``, a ``severity`` (ok, info, low, medium, high), the check's
    ``weight`` and the ``points_lost`` it costs the score (see :func:`score`).
    The module docstring defines each check. Services follow the params order;
    ``no_service`` appears only in the ``"all"`` rows.
    """
    period = params.period(period) if isinstance(period, str) else period
    # The same table in every report of the client: computed once per kernel.
    return client_wide(tables, ("quality", str(period), params.model_dump_json()),
                       lambda: _quality_table(tables, params, period))


def _quality_table(tables: Ingested, params: Params, period: pd.Period) -> pd.DataFrame:
    tickets, excluded = tables.tickets, tables.excluded
    _require(tickets, ["ticket_id", "service", "priority", "opened_at", "resolved_at"],
             "the tickets table")
    _require(excluded, ["table", "record_id", "rule"], "the excluded table")
    _, end = period_bounds(period, params.reporting.timezone)
    services = [s.id for s in params.services]

    scope = tickets.loc[tickets["opened_at"] < end]
    every = [*services, ALL]
    rows: list[dict[str, object]] = []

    for check, family, description, hit, base in _ticket_checks(scope, end):
        hits = _counts(hit, scope["service"], services)
        bases = _counts(base, scope["service"], services)
        weight = (COMPLETENESS_WEIGHTS.get(check.removeprefix("complete:"), OTHER_COLUMN_WEIGHT)
                  if family == "completeness" else WEIGHTS[check])
        rows.extend(_row(s, check, family, description, hits[s], bases[s], weight)
                    for s in every)

    # Excluded ticket rows count in the service ingest worked out for them, else in the
    # service of a kept ticket with their id (a duplicate's kept twin).
    ex = excluded.loc[excluded["table"] == "tickets"]
    owner = tickets.drop_duplicates("ticket_id").set_index("ticket_id")["service"]
    ex_service = ex["record_id"].map(owner).astype("string")
    if "service" in ex:
        ex_service = ex["service"].astype("string").fillna(ex_service)
    ex_total = _counts(pd.Series(True, index=ex.index), ex_service, services)
    kept_total = _counts(pd.Series(True, index=scope.index), scope["service"], services)
    for check, flag in _exclusion_flags(ex).items():
        hits = _counts(flag, ex_service, services)
        rows.extend(_row(s, check, "exclusions", _EXCLUSIONS[check], hits[s],
                         kept_total[s] + ex_total[s], WEIGHTS[check])
                    for s in every if check != "no_service" or s == ALL)

    later = tickets["opened_at"] >= end
    for col in ("responded_at", "resolved_at", "closed_at"):
        if col in tickets:
            later = later | (tickets[col] >= end).fillna(False)
    hits = _counts(later.astype(bool), tickets["service"], services)
    bases = _counts(pd.Series(True, index=tickets.index), tickets["service"], services)
    rows.extend(_row(s, "after_period_end", "period",
                     "opened, or with a later event, after the period end: ignored or counted "
                     "as still open by this period's KPIs (as-of rule)", hits[s], bases[s],
                     WEIGHTS["after_period_end"]) for s in every)

    table = pd.DataFrame(rows, columns=QUALITY_COLUMNS)
    rank = {s: i for i, s in enumerate(every)}
    family_rank = {f: i for i, f in enumerate(_FAMILIES)}
    table = table.assign(_s=table["service"].map(rank), _f=table["family"].map(family_rank))
    table = table.sort_values(["_s", "_f"], kind="stable").drop(columns=["_s", "_f"])
    return table.reset_index(drop=True).astype({
        **dict.fromkeys(("service", "check", "family", "description", "severity"), "string"),
        "rows": "int64", "base": "int64", "share": "float64", "weight": "float64",
        "points_lost": "float64"})


def score(table: pd.DataFrame) -> pd.Series:
    """One data-quality score (0-100) per service of a :func:`quality_table`, in its order.

    ``score = max(0, 100 - sum(points_lost))`` where each check loses
    ``weight * min(1, share / SATURATION)``: nothing when no row is hit, its whole
    weight once SATURATION (10%) of its rows are. See :data:`SCORE_METHOD`.
    """
    _require(table, ["service", "points_lost"], "the quality table")
    lost = table.groupby("service", sort=False)["points_lost"].sum()
    return (100.0 - lost).clip(lower=0.0).rename("score")


def rating(value: float) -> str:
    """``good`` (>= 95), ``fair`` (>= 80) or ``poor``: how far the KPIs can be trusted."""
    if value >= GOOD_SCORE:
        return "good"
    return "fair" if value >= FAIR_SCORE else "poor"
