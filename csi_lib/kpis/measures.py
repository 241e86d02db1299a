"""Per-ticket measures: durations, SLA outcomes and the flags the KPIs count.

Flags are float columns (1.0, 0.0, NaN = cannot tell for this ticket) so that a
KPI is the mean of the known flags and its count the number known. A flag whose
input the export lacks is NaN for every ticket: the KPI then has no value and
n = 0 instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from csi_lib import sla
from csi_lib.catalogue import REPEAT_WINDOW, SELF_SERVICE_CHANNELS
from csi_lib.kpis.grid import instants
from csi_lib.params import Params

__all__ = [
    "FALSE_WORDS",
    "HOUR",
    "TRUE_WORDS",
    "escalated",
    "group_tier",
    "grouped_in_time",
    "knowledge_used",
    "repeats",
    "resolution_clock",
    "self_service",
    "source_verdict",
    "ticket_measures",
]

HOUR = pd.Timedelta(hours=1)
_HOUR_NS = float(HOUR.as_unit("ns").value)
_NAT = np.iinfo(np.int64).min
# The columns ticket_measures adds, in the order it adds them.
_MEASURES = ("resolution_h", "response_h", "met_resolution", "met_response", "overrun_h",
             "reopened", "reassigned", "first_contact", "escalated", "repeat", "self_service",
             "knowledge_used", "met_source")
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "none", ""})
# A tier stated at the end or the start of a group name: "Network L2", "Tier 2 Apps",
# "Service Desk Level 1", "2nd line Network" (catalogue.TIER_SUFFIXES).
_TIER = re.compile(
    r"(?:^|\b)(?:l|tier|level)\s*-?\s*([123])$|^(?:l|tier|level)\s*-?\s*([123])\b"
    r"|\b([123])(?:st|nd|rd)\s+line$|^([123])(?:st|nd|rd)\s+line\b",
    re.IGNORECASE,
)


def _per_value(values: pd.Series, rule: Callable[[str], float]) -> np.ndarray:
    """Apply ``rule`` to each distinct value once; NaN for missing cells."""
    codes, uniques = pd.factorize(values)
    table = np.array([rule(str(u)) for u in uniques] + [np.nan], dtype=float)
    return table[codes]  # factorize codes a missing value as -1: the appended NaN


def _nan(index: pd.Index) -> np.ndarray:
    return np.full(len(index), np.nan)


def _tier_of(name: str) -> float:
    match = _TIER.search(name.strip())
    return float(next(g for g in match.groups() if g)) if match else np.nan


def _tier_value(value: str) -> float:
    match = re.search(r"[123]", value)
    return float(match.group()) if match else np.nan


def group_tier(groups: pd.Series) -> np.ndarray:
    """The support tier (1-3) an assignment group's name states; NaN when it states none."""
    return _per_value(groups, _tier_of)


def escalated(tickets: pd.DataFrame) -> np.ndarray:
    """1.0 when a ticket's final group is tier 2 or 3, 0.0 for tier 1, NaN when unknown.

    A ``tier`` column (1-3, or text such as "L2") wins; otherwise the group name
    tells. A service knows tiers when any of its groups states one; its other
    named groups are then tier 1 (the service desk or first line). Tickets of a
    service with no tiered group, or with no group, are unknown.
    """
    if "tier" in tickets:
        tier = _per_value(tickets["tier"], _tier_value)
    elif "assignment_group" in tickets:
        tier = group_tier(tickets["assignment_group"])
    else:
        return _nan(tickets.index)
    service, uniques = pd.factorize(tickets["service"])
    stated = ~np.isnan(tier)
    tiered = np.bincount(service[stated & (service >= 0)], minlength=len(uniques) + 1) > 0
    knows = (service >= 0) & tiered[np.maximum(service, 0)]
    named = tickets["assignment_group"].notna().to_numpy() if "assignment_group" in tickets \
        else stated
    tier = np.where(stated, tier, 1.0)
    return np.where(knows & (stated | named), tier >= 2, np.nan)


def self_service(channel: pd.Series) -> np.ndarray:
    """1.0 when the channel is a self-service one (catalogue.SELF_SERVICE_CHANNELS)."""
    def rule(value: str) -> float:
        return float(" ".join(re.sub(r"[-_]", " ", value.lower()).split())
                     in SELF_SERVICE_CHANNELS)
    return _per_value(channel, rule)


def knowledge_used(values: pd.Series) -> np.ndarray:
    """1.0 when a knowledge article was used (true/yes/y/1 or an article reference).

    An empty cell means no article, once the export records knowledge at all;
    a column with no value anywhere records nothing, so every ticket is unknown.
    """
    if values.notna().sum() == 0:
        return _nan(values.index)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean").fillna(False).to_numpy(dtype=float)

    def rule(value: str) -> float:
        word = value.strip().lower()
        return 1.0 if word in TRUE_WORDS else 0.0 if word in FALSE_WORDS else 1.0
    used = _per_value(values, rule)
    return np.where(np.isnan(used), 0.0, used)


def repeats(tickets: pd.DataFrame, window: pd.Timedelta = REPEAT_WINDOW) -> np.ndarray:
    """1.0 for an incident that repeats an earlier one, 0.0 for one that does not.

    A repeat has the same caller and the same category (or the same
    configuration item) as another incident opened at most ``window`` before it;
    incidents opened at the same instant repeat each other, so the flags do not
    depend on row order. NaN for requests and for incidents without a caller or
    without both category and CI.
    """
    if "caller" not in tickets:
        return _nan(tickets.index)
    kind = tickets.get("record_type")
    incident = np.ones(len(tickets), bool) if kind is None \
        else (kind == "incident").fillna(False).to_numpy(dtype=bool)
    caller, _ = pd.factorize(tickets["caller"])
    opened = instants(tickets["opened_at"])
    # Rows in time order (ties by row), and each row's place in that order; nothing to
    # work out when they come in time order, as exports often do.
    by_time = rank = None
    if np.any(opened[1:] < opened[:-1]):
        by_time = np.argsort(opened, kind="stable")
        rank = np.empty_like(by_time)
        rank[by_time] = np.arange(len(by_time))
    limit = window.value
    found = np.zeros(len(tickets), dtype=bool)
    known = np.zeros(len(tickets), dtype=bool)
    for col in ("category", "cmdb_ci"):
        if col not in tickets:
            continue
        about, _ = pd.factorize(tickets[col])
        rows = np.flatnonzero(incident & (caller >= 0) & (about >= 0))
        if not len(rows):
            continue
        known[rows] = True
        key = caller[rows].astype(np.int64, copy=False) * (int(about.max()) + 1) + about[rows]
        k, where = grouped_in_time(key, rows, rank, by_time)
        t = opened[where]
        same = k[1:] == k[:-1]
        gap = t[1:] - t[:-1]
        hit = np.zeros(len(rows), dtype=bool)
        hit[1:] |= same & (gap <= limit)        # an earlier one within the window
        hit[:-1] |= same & (gap == 0)           # a twin opened at the same instant
        found[where] |= hit
    return np.where(known, found, np.nan)


def grouped_in_time(key: np.ndarray, rows: np.ndarray, rank: np.ndarray | None,
                    by_time: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` ordered by ``key`` (non-negative), then by time: the sorted keys and the rows.

    ``by_time`` lists all rows in time order (ties by row) and ``rank`` is each row's
    place in it (both None when the rows are in time order already), so the order is
    ``np.lexsort((time[rows], key))``. Key and place are packed into one integer where
    they fit, as sorting plain integers is many times faster than a lexsort or an argsort.
    """
    if not len(rows):
        return key, rows
    place = rows if rank is None else rank[rows]
    bits = max(int(place.max()), 1).bit_length()
    if int(key.max()) >= 1 << (63 - bits):
        order = np.lexsort((place, key))
        return key[order], rows[order]
    packed = np.sort((key << bits) | place)
    place = packed & ((1 << bits) - 1)
    return packed >> bits, place if by_time is None else by_time[place]


def _targets_ns(priority: pd.Series, *targets: dict[str, pd.Timedelta | None]
                ) -> list[np.ndarray]:
    """Each ticket's target for its priority in nanoseconds (NaT's int64 when none), per
    dict of ``targets``, looked up per distinct value (one factorisation serves every dict)."""
    codes, uniques = pd.factorize(priority)
    return [pd.to_timedelta([target.get(str(u)) for u in uniques] + [None]).as_unit("ns")
            .asi8[codes] for target in targets]


def _met(clock: np.ndarray, target: np.ndarray) -> np.ndarray:
    """1.0 where the clock is within its target, 0.0 past it, NaN where either is unknown."""
    return np.where((clock != _NAT) & (target != _NAT), clock <= target, np.nan)


def _resolution_target(params: Params) -> dict[str, pd.Timedelta | None]:
    return {p: t.resolution for p, t in params.sla.targets.items()}


def resolution_clock(tickets: pd.DataFrame, params: Params) -> tuple[pd.Series, pd.Series]:
    """(opened-to-resolved time on the SLA clock, the priority's resolution target) per
    ticket; NaT where either is unknown.

    SLA clocks run on the policy's calendar (business hours, holidays); the reported
    durations stay wall-clock, which is what users waited.
    """
    [target] = _targets_ns(tickets["priority"], _resolution_target(params))
    clock = sla.elapsed(tickets["opened_at"], tickets["resolved_at"], params.sla.business_hours)
    return clock, pd.Series(target.view("m8[ns]"), index=tickets.index)


def ticket_measures(tickets: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Per-ticket durations (hours), SLA outcomes and KPI flags used by several KPIs.

    Adds ``resolution_h``, ``response_h`` (wall-clock hours), ``met_resolution``,
    ``met_response`` (1.0 / 0.0 / NaN), ``overrun_h`` (SLA-clock hours past the
    resolution target, breaches only), ``reopened``, ``reassigned``,
    ``first_contact`` and the flags ``escalated``, ``repeat``, ``self_service``,
    ``knowledge_used`` and ``met_source`` (the source tool's own SLA verdict,
    ``made_sla``) (NaN where the export does not tell).
    """
    res_target, resp_target = _targets_ns(
        tickets["priority"], _resolution_target(params),
        {p: t.response for p, t in params.sla.targets.items()})
    # The clocks of resolution_clock (which also serves the source-verdict check), as
    # int64 nanoseconds.
    res_clock, resp_clock = (
        sla.elapsed(tickets["opened_at"], tickets[end], params.sla.business_hours)
        .to_numpy().view(np.int64) for end in ("resolved_at", "responded_at"))
    # A ticket without a priority that has a target (flagged at ingest) has no SLA
    # outcome: it leaves the SLA KPIs only, and their count shows it.
    met_resolution = _met(res_clock, res_target)
    index = tickets.index
    arrays = {
        "met_resolution": met_resolution,
        "met_response": _met(resp_clock, resp_target),
        # How late a breach was, on the SLA clock (the "watermelon" check): both are
        # known there, and hours are nanoseconds over HOUR's, as pandas divides them.
        "overrun_h": np.where(met_resolution == 0, (res_clock - res_target) / _HOUR_NS, np.nan),
        "escalated": escalated(tickets),
        "repeat": repeats(tickets),
        "self_service": self_service(tickets["channel"]) if "channel" in tickets
        else _nan(index),
        "knowledge_used": knowledge_used(tickets["knowledge"]) if "knowledge" in tickets
        else _nan(index),
        "met_source": source_verdict(tickets["made_sla"]) if "made_sla" in tickets
        else _nan(index),
    }
    return tickets.assign(
        resolution_h=(tickets["resolved_at"] - tickets["opened_at"]) / HOUR,
        response_h=(tickets["responded_at"] - tickets["opened_at"]) / HOUR,
        reopened=tickets["reopen_count"] > 0,
        reassigned=tickets["reassignment_count"] > 0,
        first_contact=(tickets["reopen_count"] == 0) & (tickets["reassignment_count"] == 0),
        # Arrays made here, so the frame may hold them as they are (assign copies arrays).
        **{name: pd.Series(values, index=index, copy=False) for name, values in arrays.items()},
    )[[*tickets.columns, *(m for m in _MEASURES if m not in tickets.columns)]]


def source_verdict(made_sla: pd.Series) -> np.ndarray:
    """The source tool's SLA verdict (ingest's "true" / "false") as 1.0 / 0.0, NaN unknown."""
    return made_sla.astype("string").map({"true": 1.0, "false": 0.0}).to_numpy(
        dtype=float, na_value=np.nan)
