"""Seeded exports for the embedded demo client (Northwind Logistics).

``write_demo_exports`` writes ``tickets.csv``, ``changes.csv`` and ``surveys.csv``
shaped like a ServiceNow-style export, with the column names and value labels
that ``params/demo.yaml`` maps. The data is synthetic but built to read like a
real client's: business-hours-heavy arrivals, lognormal handling times around
the SLA targets, a network service that deteriorates over the last four
quarters, an ERP service that improves, and a handful of deliberately broken
rows so that the kit's data-quality path always has something to report.

Everything is vectorised over numpy arrays (no per-row Python loops) and drawn
from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same
arguments always give byte-identical files.

Times are simulated as int64 seconds since the epoch (UTC, i.e. real elapsed
time on the 24x7 SLA clock) and written as local wall-clock time. Rows are
nudged off the hour that a DST fall-back repeats, because a local timestamp
in that hour is ambiguous and could make a valid ticket look resolved before
it was opened; the only such rows in the files are the ones seeded on purpose.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from csi_lib.errors import ParamsError

__all__ = ["write_demo_exports"]

# Header rows: must equal the `columns` values of params/demo.yaml (tested).
TICKET_COLUMNS = [
    "Number", "Type", "Opened", "First response", "Resolved", "Closed", "State",
    "Priority", "Category", "Subcategory", "Contact type", "Assignment group",
    "Reassignment count", "Reopen count", "Caller",
]  # fmt: skip
CHANGE_COLUMNS = [
    "Number", "Type", "Assignment group", "Planned start", "Planned end", "Actual end",
    "Close code", "Caused incident",
]  # fmt: skip
SURVEY_COLUMNS = ["Ticket", "Answered", "Score"]

EXPORT_LAG_DAYS = 5  # the export is taken this many days after the last month ends
SCRIPT_SUBCATEGORY = '<script>alert("csi")</script>'
UNMATCHED_GROUPS = ("Facilities", "Facilities", "Travel Desk")

_H = 3600
_D = 86400
_PRIORITY_LABELS = np.array(["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"])
_CHANNELS = np.array(["Phone", "Email", "Self-service", "Chat", "Walk-in"])
_CHANGE_TYPES = np.array(["Standard", "Normal", "Emergency"])
_CLOSE_CODES = np.array(["Successful", "Unsuccessful", "Backed out"])

# SLA targets of params/demo.yaml (seconds, 24x7 clock), by priority P1..P4:
# used to make breaches cost satisfaction, as they do with real users.
_RESOLUTION_TARGET = np.array([4 * _H, 8 * _H, 3 * _D, 5 * _D])

# Baseline handling times by priority P1..P4 (lognormal median and sigma): set so
# that a stable service meets roughly 90% of its targets with a realistic tail.
_RESPONSE_MEDIAN = np.array([5 * 60, 15 * 60, 45 * 60, 3 * _H], dtype=float)
_RESPONSE_SIGMA = np.array([0.7, 0.8, 0.9, 1.0])
_RESOLUTION_MEDIAN = np.array([1.4 * _H, 2.8 * _H, 11 * _H, 26 * _H])
_RESOLUTION_SIGMA = np.array([0.65, 0.75, 1.05, 0.95])

# Priority mix (P1..P4) by record type: requests are rarely critical.
_PRIORITY_P = {"Incident": [0.05, 0.18, 0.55, 0.22], "Request": [0.005, 0.05, 0.55, 0.395]}

# Relative arrival intensity by local hour: a service desk's office-hours hump
# with a lunch dip; weekends are a low, flat trickle.
_HOUR_WEEKDAY = np.array([
    0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.35, 0.95, 1.6, 1.55, 1.4,
    1.05, 1.2, 1.4, 1.3, 1.1, 0.75, 0.4, 0.25, 0.18, 0.12, 0.08, 0.06,
])  # fmt: skip
_HOUR_WEEKEND = np.array([
    0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.04, 0.06, 0.1, 0.14, 0.16, 0.16,
    0.15, 0.15, 0.14, 0.13, 0.12, 0.1, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04,
])  # fmt: skip
_DOW = np.array([1.3, 1.1, 1.0, 1.0, 0.85, 1.0, 0.8])  # Monday peak; weekend set by profile
_SEASON = np.array([1.08, 1.04, 1.02, 0.97, 0.98, 0.95, 0.92, 0.85, 1.08, 1.05, 1.02, 0.84])


@dataclass(frozen=True)
class _Service:
    """How one demo service behaves; ``trend`` -1 deteriorates, +1 improves, 0 stable."""

    id: str
    groups: tuple[str, ...]  # first line, then the escalation group (if any)
    monthly: float  # tickets per month before seasonality and trend
    p_incident: float
    res_mult: float  # resolution-time multiplier on the priority baseline
    reassign: float  # mean reassignments (Poisson)
    reopen: float  # probability of a reopen
    csat: float  # satisfaction offset on the latent scale
    survey_rate: float  # share of resolved tickets with an answered survey
    changes: float  # changes per month
    trend: int
    # (category, subcategory, weight for incidents, weight for requests)
    categories: tuple[tuple[str, str, float, float], ...]


_SERVICES: tuple[_Service, ...] = (
    _Service("email", ("Messaging", "Collaboration L2"), 420, 0.55, 0.8, 0.25, 0.03, 0.0,
             0.19, 30, 0, (
                 ("Email", "Cannot send or receive", 0.30, 0.0),
                 ("Email", "Outlook client", 0.20, 0.0),
                 ("Email", "Mailbox full", 0.10, 0.0),
                 ("Email", "Shared mailbox", 0.0, 0.35),
                 ("Email", "Distribution list", 0.0, 0.25),
                 ("Teams", "Meetings and calls", 0.20, 0.0),
                 ("Teams", "New team", 0.0, 0.25),
                 ("Teams", "Chat", 0.10, 0.0),
                 ("SharePoint", "Site access", 0.10, 0.15),
             )),
    _Service("network", ("Network Operations", "Network L2"), 360, 0.68, 0.9, 0.3, 0.03, 0.0,
             0.17, 45, -1, (
                 ("Connectivity", "VPN", 0.30, 0.30),
                 ("Connectivity", "WiFi", 0.25, 0.0),
                 ("Connectivity", "LAN / wired port", 0.15, 0.20),
                 ("Network", "DNS", 0.10, 0.0),
                 ("Network", "Firewall", 0.10, 0.40),
                 ("Telephony", "Softphone", 0.10, 0.10),
             )),
    _Service("erp", ("ERP Support", "ERP L3"), 270, 0.5, 1.5, 0.65, 0.07, -0.25,
             0.21, 35, 1, (
                 ("Finance", "Invoice posting", 0.25, 0.0),
                 ("Finance", "Period close", 0.15, 0.0),
                 ("Procurement", "Purchase order", 0.20, 0.0),
                 ("Reporting", "Report error", 0.20, 0.0),
                 ("Reporting", "New report", 0.0, 0.20),
                 ("Integration", "Interface failure", 0.20, 0.0),
                 ("Access", "ERP role", 0.0, 0.40),
                 ("Master data", "Vendor change", 0.0, 0.25),
                 ("Master data", "Cost centre", 0.0, 0.15),
             )),
    _Service("hr-portal", ("HR Applications",), 170, 0.38, 1.0, 0.2, 0.03, 0.1,
             0.24, 20, 0, (
                 ("Access", "Login", 0.30, 0.0),
                 ("Payroll", "Payslip", 0.25, 0.0),
                 ("Absence", "Leave booking", 0.25, 0.0),
                 ("Expenses", "Claim", 0.20, 0.0),
                 ("Employee data", "Data correction", 0.0, 0.40),
                 ("Onboarding", "New starter", 0.0, 0.30),
                 ("Offboarding", "Leaver", 0.0, 0.30),
             )),
    _Service("endpoint", ("Desktop Support", "Field Services"), 640, 0.57, 1.1, 0.3, 0.04,
             -0.05, 0.16, 40, 0, (
                 ("Hardware", "Laptop", 0.30, 0.0),
                 ("Hardware", "Monitor / docking station", 0.15, 0.0),
                 ("Hardware", "Printer", 0.20, 0.0),
                 ("Hardware", "New laptop", 0.0, 0.25),
                 ("Hardware", "Peripheral", 0.0, 0.25),
                 ("Hardware", "Mobile phone", 0.0, 0.15),
                 ("Software", "Application crash", 0.20, 0.0),
                 ("Software", "Performance", 0.15, 0.0),
                 ("Software", "Install", 0.0, 0.35),
             )),
    _Service("identity", ("Identity Team",), 330, 0.45, 0.55, 0.15, 0.02, 0.15,
             0.2, 25, 0, (
                 ("Account", "Locked out", 0.35, 0.0),
                 ("Account", "Password reset", 0.30, 0.15),
                 ("MFA", "Authenticator", 0.20, 0.0),
                 ("SSO", "Application login", 0.15, 0.0),
                 ("Access", "New account", 0.0, 0.30),
                 ("Access", "Group membership", 0.0, 0.40),
                 ("Access", "Remove access", 0.0, 0.15),
             )),
)  # fmt: skip

_FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah", "Grace",
    "Leo", "Freya", "Arthur", "Lily", "Oscar", "Sophie", "Thomas", "Emily", "James", "Ella",
    "William", "Chloe", "Henry", "Evie", "Samuel", "Ruby", "Joseph", "Poppy", "Daniel", "Alice",
    "David", "Sarah", "Michael", "Laura", "Paul", "Rachel", "Mark", "Claire", "Andrew", "Helen",
    "Mohammed", "Aisha", "Ahmed", "Fatima", "Raj", "Priya", "Arjun", "Anjali", "Wei", "Mei",
    "Tomasz", "Agnieszka", "Piotr", "Zofia", "Luca", "Giulia", "Mateo", "Sofia", "Siobhan",
    "Ciaran", "Niamh", "Rhys", "Cerys", "Kwame", "Adaeze", "Chloé", "José", "Zoë", "Bethan",
    "Hamish",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper",
    "Ward", "Morris", "King", "Harris", "Lewis", "Baker", "Khan", "Ali", "Hussain", "Begum",
    "Singh", "Sharma", "Chen", "Wang", "Nowak", "Kowalski", "Rossi", "Garcia", "Murphy",
    "O'Brien", "O'Connor", "MacDonald", "Campbell", "Stewart", "Reid", "Bell", "Price",
    "Okafor", "Mensah", "Nguyen", "Fraser", "Lloyd", "Pritchard", "Byrne", "Kelly",
    "Fitzgerald", "Müller", "Dubois", "Shaw", "Ellis", "Mason", "Marshall", "Owen",
)  # fmt: skip


# --------------------------------------------------------------------------- helpers


def _month(label: str, name: str) -> pd.Period:
    """Parse a ``YYYY-MM`` argument, with an error that says what to write."""
    try:
        if not isinstance(label, str) or len(label) != 7 or label[4] != "-":
            raise ValueError(label)
        return pd.Period(label, freq="M")
    except ValueError:
        raise ParamsError(f"{name} {label!r} is not a month: write it as YYYY-MM") from None


def _localize(naive: pd.DatetimeIndex | pd.Timestamp, tz: str) -> np.ndarray:
    """Local wall-clock times -> UTC epoch seconds.

    Times that a DST jump skips move forward; repeated times take standard time.
    """
    idx = pd.DatetimeIndex(np.atleast_1d(np.asarray(naive, dtype="datetime64[s]")))
    aware = idx.tz_localize(
        tz, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward"
    )
    return aware.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[s]").astype(np.int64)


def _local_naive(ts: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds -> local wall-clock time as epoch-like seconds (no zone)."""
    idx = pd.to_datetime(ts, unit="s", utc=True).tz_convert(tz).tz_localize(None)
    return idx.to_numpy("datetime64[s]").astype(np.int64)


def _ambiguous(ts: np.ndarray, tz: str) -> np.ndarray:
    """Which instants fall in a local hour that a DST fall-back repeats."""
    local = pd.DatetimeIndex(_local_naive(ts, tz).astype("datetime64[s]"))
    return np.asarray(local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").isna())


def _unambiguous(events: list[np.ndarray], tz: str) -> list[np.ndarray]:
    """Shift whole rows by 2 h until none of their events sits in a repeated local hour.

    Shifting the whole row keeps every duration (and so every SLA result) intact.
    """
    events = [e.copy() for e in events]
    for _ in range(6):
        bad = np.zeros(len(events[0]), dtype=bool)
        for e in events:
            bad |= _ambiguous(e, tz)
        if not bad.any():
            break
        for e in events:
            e[bad] += 2 * _H
    return events


def _format(ts: np.ndarray, missing: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds -> "%Y-%m-%d %H:%M:%S" local strings, "" where missing."""
    text = np.datetime_as_string(_local_naive(ts, tz).astype("datetime64[s]"), unit="s")
    # ISO "YYYY-MM-DDTHH:MM:SS": swap the "T" for a space without a Python loop.
    chars = text.astype("<U19").view("<U1").reshape(-1, 19).copy()
    chars[:, 10] = " "
    out = chars.view("<U19").ravel()
    return np.where(missing, "", out)


def _choose(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Lognormal draws parameterised by median, as handling times are usually described."""
    return median * np.exp(sigma * rng.standard_normal(len(median)))


def _numbers(rng: np.random.Generator, prefix: str, n: int, start: int) -> np.ndarray:
    """Ascending record numbers with small gaps (numbers are shared with other tables)."""
    seq = start + np.cumsum(rng.integers(1, 4, size=n))
    return np.char.add(prefix, np.char.zfill(seq.astype(str), 7))


def _wait_for_office(local: np.ndarray) -> np.ndarray:
    """Seconds from a local time until the next Mon-Fri 08:00-18:00 office hour (0 inside)."""
    day = local // _D * _D
    secs = local - day
    dow = (day // _D + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    inside = (dow < 5) & (secs >= 8 * _H) & (secs < 18 * _H)
    early = (dow < 5) & (secs < 8 * _H)
    nxt = np.where(early, day + 8 * _H, day + _D + 8 * _H)
    ndow = (nxt // _D + 3) % 7
    nxt = nxt + np.where(ndow == 5, 2 * _D, np.where(ndow == 6, _D, 0))
    return np.where(inside, 0, nxt - local)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically: a temp file in the same directory, then ``os.replace``."""
    data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates 0600; exports are ordinary shared files.
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)  # os.replace: atomic within one directory
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class _Timeline:
    """The simulated window: an hourly UTC grid with its local calendar features."""

    start: int  # first_month start (UTC seconds)
    end: int  # end of last_month
    export: int  # export time = end + EXPORT_LAG_DAYS
    ramp_start: int  # trends run from here to `end` (the last four quarters)
    first: pd.Period  # first_month
    grid: np.ndarray  # hour starts, UTC seconds, start <= h < export
    hour: np.ndarray
    dow: np.ndarray
    month: np.ndarray  # calendar month 1..12
    day: np.ndarray
    days_in_month: np.ndarray
    month_idx: np.ndarray  # 0 = first_month
    n_months: int


def _timeline(first: pd.Period, last: pd.Period, tz: str) -> _Timeline:
    start_local = first.start_time
    end_local = (last + 1).start_time
    start, end, export, ramp = _localize(
        pd.DatetimeIndex(
            [
                start_local,
                end_local,
                end_local + pd.Timedelta(days=EXPORT_LAG_DAYS),
                ((last + 1) - 12).start_time,
            ]
        ),
        tz,
    )
    grid = np.arange(start, export, _H, dtype=np.int64)
    loc = pd.to_datetime(grid, unit="s", utc=True).tz_convert(tz)
    year = np.asarray(loc.year)
    month = np.asarray(loc.month)
    return _Timeline(
        start=int(start),
        end=int(end),
        export=int(export),
        ramp_start=int(ramp),
        first=first,
        grid=grid,
        hour=np.asarray(loc.hour),
        dow=np.asarray(loc.day_of_week),
        month=month,
        day=np.asarray(loc.day),
        days_in_month=np.asarray(loc.days_in_month),
        month_idx=(year - first.year) * 12 + month - first.month,
        n_months=(last.year - first.year) * 12 + last.month - first.month + 1,
    )


def _trend(tl: _Timeline, ts: np.ndarray) -> np.ndarray:
    """0 before the trend window, rising linearly to 1 at the end of the last month."""
    return np.clip((ts - tl.ramp_start) / max(tl.end - tl.ramp_start, 1), 0.0, 1.0)


def _svc_array(svc: np.ndarray, attr: str) -> np.ndarray:
    """A per-row array of one service attribute."""
    return np.array([getattr(s, attr) for s in _SERVICES], dtype=float)[svc]


def _worse_better(tl: _Timeline, svc: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-row trend strength for deteriorating and improving services (0..1 each)."""
    t = _trend(tl, ts)
    direction = _svc_array(svc, "trend")
    return t * (direction < 0), t * (direction > 0)


# --------------------------------------------------------------------------- tickets


def _arrivals(rng: np.random.Generator, tl: _Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Ticket arrival times and services from a per-hour Poisson intensity."""
    weekend = tl.dow >= 5
    shape = np.where(weekend, _HOUR_WEEKEND[tl.hour], _HOUR_WEEKDAY[tl.hour]) * _DOW[tl.dow]
    # Christmas and New Year's Day run like a Sunday; the days between are quiet.
    holiday = ((tl.month == 12) & np.isin(tl.day, (25, 26))) | ((tl.month == 1) & (tl.day == 1))
    shape = np.where(holiday, _HOUR_WEEKEND[tl.hour] * 0.6, shape)
    shape = shape * np.where((tl.month == 12) & (tl.day >= 22), 0.6, 1.0)
    shape = shape * _SEASON[tl.month - 1] / shape.mean()
    per_hour = 12.0 / (365.25 * 24)  # converts "per month" into "per average hour"
    t = _trend(tl, tl.grid)
    # Month-to-month wobble beyond Poisson noise, as real volumes have.
    wobble = np.exp(0.06 * rng.standard_normal((len(_SERVICES), tl.n_months + 1)))
    times, services = [], []
    for k, s in enumerate(_SERVICES):  # six services, each vectorised over the hour grid
        lam = s.monthly * per_hour * shape * wobble[k, np.minimum(tl.month_idx, tl.n_months)]
        if s.trend < 0:
            lam = lam * (1 + 0.35 * t)
        elif s.trend > 0:
            lam = lam * (1 - 0.15 * t)
        if s.id == "erp":  # month-end close drives finance tickets
            lam = lam * np.where(tl.day > tl.days_in_month - 3, 1.7, 1.0)
        elif s.id == "hr-portal":  # payslip day and annual leave planning in January
            lam = lam * np.where((tl.day >= 24) & (tl.day <= 27), 1.6, 1.0)
            lam = lam * np.where(tl.month == 1, 1.2, 1.0)
        elif s.id in ("network", "identity"):  # monitoring and lock-outs do not sleep
            lam = lam + s.monthly * per_hour * 0.08
        counts = rng.poisson(lam)
        hours = np.repeat(tl.grid, counts)
        times.append(hours + rng.integers(0, _H, size=len(hours)))
        services.append(np.full(len(hours), k, dtype=np.int64))
    ts = np.concatenate(times)
    svc = np.concatenate(services)
    order = np.argsort(ts, kind="stable")
    return ts[order], svc[order]


def _categories(
    rng: np.random.Generator, svc: np.ndarray, is_inc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Category and subcategory drawn from each service's own catalogue."""
    cat = np.empty(len(svc), dtype=object)
    sub = np.empty(len(svc), dtype=object)
    for k, s in enumerate(_SERVICES):
        for inc in (True, False):
            rows = np.flatnonzero((svc == k) & (is_inc == inc))
            w = np.array([c[2] if inc else c[3] for c in s.categories])
            pick = rng.choice(len(w), size=len(rows), p=w / w.sum())
            cat[rows] = np.array([c[0] for c in s.categories], dtype=object)[pick]
            sub[rows] = np.array([c[1] for c in s.categories], dtype=object)[pick]
    return cat, sub


def _callers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake employee names; a few frequent callers, as in every real service desk."""
    staff = 2400
    first = np.array(_FIRST_NAMES, dtype=object)[rng.integers(0, len(_FIRST_NAMES), staff)]
    last = np.array(_LAST_NAMES, dtype=object)[rng.integers(0, len(_LAST_NAMES), staff)]
    names = first + " " + last
    w = 1.0 / (np.arange(staff) + 15.0) ** 0.8
    return names[rng.choice(staff, size=n, p=w / w.sum())]


def _simulate_tickets(rng: np.random.Generator, tl: _Timeline, tz: str) -> dict[str, np.ndarray]:
    opened, svc = _arrivals(rng, tl)
    n = len(opened)
    worse, better = _worse_better(tl, svc, opened)

    # Type and priority: deteriorating services log more (and more urgent) incidents.
    is_inc = rng.random(n) < _svc_array(svc, "p_incident") + 0.08 * worse
    prio_p = np.where(is_inc[:, None], _PRIORITY_P["Incident"], _PRIORITY_P["Request"])
    prio_p = prio_p * np.where(np.arange(4) < 2, 1 + 0.5 * worse[:, None], 1.0)
    prio = _choose(rng, prio_p)

    # Channel: self-service adoption grows across the whole window; walk-ins are a
    # desk-side thing; critical incidents are phoned in.
    growth = (opened - tl.start) / max(tl.end - tl.start, 1)
    ch = np.tile([0.30, 0.25, 0.22, 0.17, 0.03], (n, 1))
    ch[:, 2] += 0.18 * growth
    ch[:, 0] -= 0.10 * growth
    ch[:, 1] -= 0.08 * growth
    ch[:, 4] += np.where(svc == 4, 0.08, 0.0)
    ch[prio == 0] = [0.85, 0.05, 0.0, 0.10, 0.0]
    channel = _choose(rng, ch)

    category, subcategory = _categories(rng, svc, is_inc)

    # Handoffs: the deteriorating service bounces tickets around, the improving one stops.
    lam = np.maximum(_svc_array(svc, "reassign") + 0.75 * worse - 0.5 * better, 0.03)
    reassign = np.minimum(rng.poisson(lam), 4)
    p_reopen = np.maximum(_svc_array(svc, "reopen") + 0.08 * worse - 0.055 * better, 0.005)
    reopen = (rng.random(n) < p_reopen) * np.where(rng.random(n) < 0.2, 2, 1)

    # Final assignment group: escalated tickets mostly end with the second-line team.
    escalated = rng.random(n) < np.where(reassign > 0, 0.7, 0.12)
    group = np.empty(n, dtype=object)
    for k, s in enumerate(_SERVICES):
        rows = svc == k
        second = s.groups[-1]
        group[rows] = np.where(escalated[rows], second, s.groups[0])

    # First response: lognormal around the priority norm, slower on a struggling
    # service; out-of-hours P3/P4 tickets often wait for the office to open.
    month_noise = np.exp(0.08 * rng.standard_normal((len(_SERVICES), tl.n_months + 1)))
    m_idx = np.clip(np.searchsorted(tl.grid, opened, side="right") - 1, 0, len(tl.grid) - 1)
    noise = month_noise[svc, np.minimum(tl.month_idx[m_idx], tl.n_months)]
    resp_mult = (1 + 1.3 * worse) * (1 - 0.45 * better) * noise
    response = _lognormal(rng, _RESPONSE_MEDIAN[prio] * resp_mult, _RESPONSE_SIGMA[prio])
    local_open = _local_naive(opened, tz)
    waits = (prio >= 2) & (rng.random(n) < 0.35)
    response = response + np.where(waits, _wait_for_office(local_open), 0)
    response = np.maximum(response, 20.0)

    # Resolution: lognormal by priority, service and type; each handoff and reopen
    # costs time; a few tickets wait weeks (vendor, parts), more so when degrading.
    res_mult = (
        _svc_array(svc, "res_mult")
        * (1 + 1.7 * worse)
        * (1 - 0.55 * better)
        * np.where(is_inc, 1.0, 1.35)
        * 1.3**reassign
        * noise
    )
    sigma = _RESOLUTION_SIGMA[prio] + 0.25 * worse
    resolution = _lognormal(rng, _RESOLUTION_MEDIAN[prio] * res_mult, sigma)
    resolution = resolution + (reopen > 0) * _lognormal(rng, np.full(n, 20.0 * _H), np.full(n, 0.8))
    long_runner = (prio >= 2) & (rng.random(n) < 0.012 + 0.03 * worse)  # never P1/P2
    resolution = np.where(long_runner, rng.uniform(12 * _D, 120 * _D, n), resolution)
    resolution = np.maximum(resolution, response + rng.uniform(60, 1800, n))
    breached = resolution > _RESOLUTION_TARGET[prio]

    # Closure: most tickets auto-close three days after resolution (the nightly
    # job), some are confirmed by the caller sooner.
    auto = rng.random(n) < 0.7
    close_delay = np.where(
        auto,
        3 * _D + rng.uniform(0, 1800, n),
        np.minimum(_lognormal(rng, np.full(n, 6.0 * _H), np.full(n, 1.0)), 3 * _D),
    )

    # Survey answer: 0-7 days after resolution, mostly within the first day or two.
    surveyed = rng.random(n) < _svc_array(svc, "survey_rate")
    survey_delay = 300 + (7 * _D - 300) * rng.beta(0.6, 3.0, n)  # invitation mail first
    res_h = resolution / _H
    latent = (
        _svc_array(svc, "csat")
        + 0.9 * rng.standard_normal(n)
        - 1.0 * breached
        - 0.9 * (reopen > 0)
        - 0.15 * reassign
        - 0.25 * np.log1p(np.maximum(res_h / 24 - 1, 0))
        - 0.6 * worse
        + 0.6 * better
    )
    score = 1 + np.searchsorted(np.array([-2.4, -1.75, -1.05, -0.25]), latent)

    responded = opened + np.round(response).astype(np.int64)
    resolved = opened + np.round(resolution).astype(np.int64)
    closed = resolved + np.round(close_delay).astype(np.int64)
    answered = resolved + np.round(survey_delay).astype(np.int64)
    opened, responded, resolved, closed, answered = _unambiguous(
        [opened, responded, resolved, closed, answered], tz
    )

    keep = opened < tl.export  # a nudged row may have left the export window
    cols = {
        "svc": svc,
        "is_inc": is_inc,
        "prio": prio,
        "channel": channel,
        "category": category,
        "subcategory": subcategory,
        "group": group,
        "reassign": reassign,
        "reopen": reopen,
        "long_runner": long_runner,
        "opened": opened,
        "responded": responded,
        "resolved": resolved,
        "closed": closed,
        "answered": answered,
        "surveyed": surveyed,
        "score": score,
        "on_hold": rng.random(n) < np.where(long_runner, 0.6, 0.25),
        "caller": _callers(rng, n),
    }
    return {k: v[keep] for k, v in cols.items()}


def _ticket_frame(
    rng: np.random.Generator, tl: _Timeline, tz: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """The tickets and surveys tables, plus the numbers of the rows broken on purpose."""
    c = _simulate_tickets(rng, tl, tz)
    n = len(c["opened"])
    order = np.lexsort((c["svc"], c["opened"]))
    c = {k: v[order] for k, v in c.items()}
    e = tl.export

    # Numbers: separate INC and RITM sequences in order of opening.
    number = np.empty(n, dtype=object)
    inc = np.flatnonzero(c["is_inc"])
    req = np.flatnonzero(~c["is_inc"])
    number[inc] = _numbers(rng, "INC", len(inc), 10000)
    number[req] = _numbers(rng, "RITM", len(req), 10000)

    # State at the export date.
    done = c["resolved"] <= e
    closed = done & (c["closed"] <= e)
    has_response = c["responded"] <= e
    # Nobody has touched a ticket that is still New: no handoffs, no reopens yet.
    c["reassign"] = np.where(has_response, c["reassign"], 0)
    c["reopen"] = np.where(has_response, c["reopen"], 0)
    state = np.where(
        closed,
        "Closed",
        np.where(
            done,
            "Resolved",
            np.where(~has_response, "New", np.where(c["on_hold"], "On Hold", "In Progress")),
        ),
    ).astype(object)

    opened_s = _format(c["opened"], np.zeros(n, dtype=bool), tz)
    frame = pd.DataFrame(
        {
            "Number": number,
            "Type": np.where(c["is_inc"], "Incident", "Request"),
            "Opened": opened_s,
            "First response": _format(c["responded"], ~has_response, tz),
            "Resolved": _format(c["resolved"], ~done, tz),
            "Closed": _format(c["closed"], ~closed, tz),
            "State": state,
            "Priority": _PRIORITY_LABELS[c["prio"]],
            "Category": c["category"],
            "Subcategory": c["subcategory"],
            "Contact type": _CHANNELS[c["channel"]],
            "Assignment group": c["group"],
            "Reassignment count": c["reassign"].astype(np.int64),
            "Reopen count": c["reopen"].astype(np.int64),
            "Caller": c["caller"],
        }
    )

    # Surveys: only for tickets resolved, and answered, before the export.
    s_rows = np.flatnonzero(c["surveyed"] & done & (c["answered"] <= e))
    s_rows = s_rows[np.argsort(c["answered"][s_rows], kind="stable")]
    surveys = pd.DataFrame(
        {
            "Ticket": number[s_rows],
            "Answered": _format(c["answered"][s_rows], np.zeros(len(s_rows), dtype=bool), tz),
            "Score": c["score"][s_rows].astype(np.int64),
        }
    )

    frame, bad = _seed_bad_rows(frame, c, closed, tz)
    return frame, surveys, bad


def _seed_bad_rows(
    frame: pd.DataFrame, c: dict[str, np.ndarray], closed: np.ndarray, tz: str
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Break a handful of closed tickets on purpose, at fixed fractions of the file.

    Positions depend only on the row count, so every demo run breaks "the same"
    rows and the kit's data-quality report always has each kind of defect.
    """
    eligible = np.flatnonzero(closed)

    def at(fractions: tuple[float, ...]) -> np.ndarray:
        return eligible[(np.array(fractions) * (len(eligible) - 1)).astype(np.int64)]

    missing = at((0.11, 0.37, 0.62, 0.88))
    backwards = at((0.23, 0.54, 0.79))
    dup_src = at((0.17, 0.48, 0.71))
    unmatched = at((0.29, 0.66, 0.93))
    taken = np.concatenate([missing, backwards, dup_src, unmatched])
    hr = eligible[(c["svc"][eligible] == 3) & ~np.isin(eligible, taken)]
    script = hr[int(0.45 * (len(hr) - 1))]

    frame = frame.copy()
    col = frame.columns.get_loc
    number = frame["Number"].to_numpy()
    bad = {
        "missing_resolution": [str(x) for x in number[missing]],
        "resolved_before_opened": [str(x) for x in number[backwards]],
        "duplicate_number": [str(x) for x in number[dup_src]],
        "unmatched_group": [str(x) for x in number[unmatched]],
        "script_subcategory": [str(number[script])],
    }
    # Closed with no resolution time (a closure forced through a back-end update).
    frame.iloc[missing, col("Resolved")] = ""
    # Resolved before opened (a hand-typed date): mirror the duration before Opened.
    span = np.maximum(c["resolved"][backwards] - c["opened"][backwards], 2 * _H)
    frame.iloc[backwards, col("Resolved")] = _format(
        c["opened"][backwards] - span, np.zeros(len(backwards), dtype=bool), tz
    )
    # Tickets owned by teams outside the service catalogue.
    frame.iloc[unmatched, col("Assignment group")] = list(UNMATCHED_GROUPS)
    frame.iloc[unmatched, col("Category")] = ["Facilities", "Facilities", "Travel"]
    frame.iloc[unmatched, col("Subcategory")] = ["Building access", "Desk move", "Booking"]
    # Client free text that a report must escape.
    frame.iloc[script, col("Subcategory")] = SCRIPT_SUBCATEGORY
    # Duplicate numbers: one exact repeat (overlapping exports), two stale snapshots
    # taken before the ticket closed; each is placed right after its original.
    dups = frame.iloc[dup_src].copy()
    dups.iloc[1:, dups.columns.get_loc("State")] = "Resolved"
    dups.iloc[1:, dups.columns.get_loc("Closed")] = ""
    pos = np.concatenate([np.arange(len(frame)), dup_src + 0.5])
    frame = pd.concat([frame, dups], ignore_index=True).iloc[np.argsort(pos, kind="stable")]

    return frame.reset_index(drop=True), bad


# --------------------------------------------------------------------------- changes


def _change_frame(rng: np.random.Generator, tl: _Timeline, tz: str) -> pd.DataFrame:
    """Changes per service and month, planned in realistic windows, outcome by trend."""
    n_months = tl.n_months + 1  # one month more: changes already scheduled after the export
    months = pd.period_range(tl.first, periods=n_months, freq="M")
    month_start = months.start_time
    days = np.asarray(months.days_in_month)
    rate = np.array([s.changes for s in _SERVICES])[:, None] * np.ones(n_months)
    counts = rng.poisson(rate)
    svc = np.repeat(np.repeat(np.arange(len(_SERVICES)), n_months), counts.ravel())
    mon = np.repeat(np.tile(np.arange(n_months), len(_SERVICES)), counts.ravel())
    n = len(svc)

    # Trend position from the planned month (mid-month is precise enough here).
    mid = _localize(month_start + pd.Timedelta(days=15), tz)[mon]
    worse, better = _worse_better(tl, svc, mid)

    ctype = _choose(
        rng,
        np.column_stack(
            [np.full(n, 0.60) - 0.07 * worse, np.full(n, 0.32), np.full(n, 0.08) + 0.07 * worse]
        ),
    )

    # Planned windows, in local time: standard changes in office hours on weekdays,
    # normal ones in the evening or on Saturday morning, emergencies whenever.
    day0 = month_start.to_numpy("datetime64[s]").astype(np.int64)[mon]
    day = day0 + rng.integers(0, days[mon]) * _D
    dow = (day // _D + 3) % 7
    weekday = day - np.where(dow >= 5, (dow - 4) * _D, 0)  # weekend -> the Friday before
    saturday = day + (5 - dow) * _D
    sat_slot = rng.random(n) < 0.3
    half_hours = rng.integers(0, 16, n) * 1800
    start_local = np.select(
        [ctype == 0, (ctype == 1) & ~sat_slot, ctype == 1],
        [
            weekday + 9 * _H + half_hours,
            weekday + 19 * _H + (half_hours % (4 * 1800)),
            saturday + 7 * _H + (half_hours % (6 * 1800)),
        ],
        default=day + rng.integers(0, 288, n) * 300,
    )
    duration = np.select(
        [ctype == 0, ctype == 1],
        [rng.integers(1, 5, n) * 1800, rng.integers(4, 13, n) * 1800],
        default=rng.integers(2, 7, n) * 1800,
    )
    start = _localize(pd.DatetimeIndex(start_local.astype("datetime64[s]")), tz)
    end = start + duration

    # Outcome: network's changes fail more as it degrades, ERP's less as it improves.
    fail = np.where(ctype == 2, 2.0, np.where(ctype == 1, 1.2, 0.75))
    fail = fail * (1 + 1.6 * worse) * (1 - 0.6 * better) * np.where(svc == 2, 1.3, 1.0)
    outcome = _choose(rng, np.column_stack([np.full(n, 0.90), 0.06 * fail, 0.04 * fail]))
    overrun = np.where(
        outcome == 0,
        rng.normal(-10 * 60, 20 * 60, n),
        _lognormal(rng, np.full(n, 50.0 * 60), np.full(n, 0.6)),
    )
    actual = np.maximum(end + np.round(overrun / 300).astype(np.int64) * 300, start + 600)
    caused = rng.random(n) < np.select([outcome == 1, outcome == 2], [0.45, 0.25], 0.02)

    start, end, actual = _unambiguous([start, end, actual], tz)
    keep = start < tl.export + 7 * _D  # the change calendar a week past the export
    order = np.lexsort((svc[keep], start[keep]))
    svc, ctype, start, end, actual, outcome, caused = (
        a[keep][order] for a in (svc, ctype, start, end, actual, outcome, caused)
    )
    done = actual <= tl.export

    escalated = rng.random(len(svc)) < 0.3
    groups = np.array([s.groups[0] for s in _SERVICES], dtype=object)[svc]
    second = np.array([s.groups[-1] for s in _SERVICES], dtype=object)[svc]
    return pd.DataFrame(
        {
            "Number": _numbers(rng, "CHG", len(svc), 3000),
            "Type": _CHANGE_TYPES[ctype],
            "Assignment group": np.where(escalated, second, groups),
            "Planned start": _format(start, np.zeros(len(svc), dtype=bool), tz),
            "Planned end": _format(end, np.zeros(len(svc), dtype=bool), tz),
            "Actual end": _format(actual, ~done, tz),
            "Close code": np.where(done, _CLOSE_CODES[outcome], ""),
            "Caused incident": np.where(done, np.where(caused, "Yes", "No"), ""),
        }
    )


# --------------------------------------------------------------------------- public


def _generate(
    seed: int, first_month: str, last_month: str, timezone: str
) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """All three tables and the numbers of the tickets broken on purpose."""
    first = _month(first_month, "first_month")
    last = _month(last_month, "last_month")
    if last < first:
        raise ParamsError(f"last_month {last_month} is before first_month {first_month}")
    tl = _timeline(first, last, timezone)
    rng = np.random.default_rng(seed)
    tickets, surveys, bad = _ticket_frame(rng, tl, timezone)
    changes = _change_frame(rng, tl, timezone)
    return {"tickets": tickets, "changes": changes, "surveys": surveys}, bad


def write_demo_exports(
    out_dir: Path, *, seed: int, first_month: str, last_month: str, timezone: str = "Europe/London"
) -> dict[str, Path]:
    """Write tickets.csv, changes.csv, surveys.csv for the demo client into out_dir.

    Returns ``{"tickets": path, "changes": path, "surveys": path}``. ``first_month``/``last_month`` are ``YYYY-MM``; the export is dated
    ``EXPORT_LAG_DAYS`` after the end of ``last_month``, so a few rows fall after
    the last reporting month, as in a real export. Same arguments, same bytes.
    """
    out = Path(out_dir)
    tables, _ = _generate(seed, first_month, last_month, timezone)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables.items():
        paths[name] = out / f"{name}.csv"
        _write_csv(frame, paths[name])
    return paths
