"""Demo changes: planned windows per service and month, outcomes that follow the trends."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi_lib.demo.clock import DAY, HOUR, Timeline, format_local, localize, unambiguous
from csi_lib.demo.draws import choose, lognormal, record_numbers
from csi_lib.demo.services import CHANGE_TYPES, CLOSE_CODES, SERVICES, worse_better


def change_frame(rng: np.random.Generator, tl: Timeline, tz: str) -> pd.DataFrame:
    """Changes per service and month, planned in realistic windows, outcome by trend."""
    n_months = tl.n_months + 1  # one month more: changes already scheduled after the export
    months = pd.period_range(tl.first, periods=n_months, freq="M")
    month_start = months.start_time
    days = np.asarray(months.days_in_month)
    rate = np.array([s.changes for s in SERVICES])[:, None] * np.ones(n_months)
    counts = rng.poisson(rate)
    svc = np.repeat(np.repeat(np.arange(len(SERVICES)), n_months), counts.ravel())
    mon = np.repeat(np.tile(np.arange(n_months), len(SERVICES)), counts.ravel())
    n = len(svc)

    # Trend position from the planned month (mid-month is precise enough here).
    mid = localize(month_start + pd.Timedelta(days=15), tz)[mon]
    worse, better = worse_better(tl, svc, mid)

    ctype = choose(
        rng,
        np.column_stack(
            [np.full(n, 0.60) - 0.07 * worse, np.full(n, 0.32), np.full(n, 0.08) + 0.07 * worse]
        ),
    )

    # Planned windows, in local time: standard changes in office hours on weekdays,
    # normal ones in the evening or on Saturday morning, emergencies whenever.
    day0 = month_start.to_numpy("datetime64[s]").astype(np.int64)[mon]
    day = day0 + rng.integers(0, days[mon]) * DAY
    dow = (day // DAY + 3) % 7
    weekday = day - np.where(dow >= 5, (dow - 4) * DAY, 0)  # weekend -> the Friday before
    saturday = day + (5 - dow) * DAY
    sat_slot = rng.random(n) < 0.3
    half_hours = rng.integers(0, 16, n) * 1800
    start_local = np.select(
        [ctype == 0, (ctype == 1) & ~sat_slot, ctype == 1],
        [
            weekday + 9 * HOUR + half_hours,
            weekday + 19 * HOUR + (half_hours % (4 * 1800)),
            saturday + 7 * HOUR + (half_hours % (6 * 1800)),
        ],
        default=day + rng.integers(0, 288, n) * 300,
    )
    duration = np.select(
        [ctype == 0, ctype == 1],
        [rng.integers(1, 5, n) * 1800, rng.integers(4, 13, n) * 1800],
        default=rng.integers(2, 7, n) * 1800,
    )
    start = localize(pd.DatetimeIndex(start_local.astype("datetime64[s]")), tz)
    end = start + duration

    # Outcome: network's changes fail more as it degrades, ERP's less as it improves.
    fail = np.where(ctype == 2, 2.0, np.where(ctype == 1, 1.2, 0.75))
    fail = fail * (1 + 1.6 * worse) * (1 - 0.6 * better) * np.where(svc == 2, 1.3, 1.0)
    outcome = choose(rng, np.column_stack([np.full(n, 0.90), 0.06 * fail, 0.04 * fail]))
    overrun = np.where(
        outcome == 0,
        rng.normal(-10 * 60, 20 * 60, n),
        lognormal(rng, np.full(n, 50.0 * 60), np.full(n, 0.6)),
    )
    actual = np.maximum(end + np.round(overrun / 300).astype(np.int64) * 300, start + 600)
    caused = rng.random(n) < np.select([outcome == 1, outcome == 2], [0.45, 0.25], 0.02)

    start, end, actual = unambiguous([start, end, actual], tz)
    keep = start < tl.export + 7 * DAY  # the change calendar a week past the export
    order = np.lexsort((svc[keep], start[keep]))
    svc, ctype, start, end, actual, outcome, caused = (
        a[keep][order] for a in (svc, ctype, start, end, actual, outcome, caused)
    )
    done = actual <= tl.export

    escalated = rng.random(len(svc)) < 0.3
    groups = np.array([s.groups[0] for s in SERVICES], dtype=object)[svc]
    second = np.array([s.groups[-1] for s in SERVICES], dtype=object)[svc]
    return pd.DataFrame(
        {
            "Number": record_numbers(rng, "CHG", len(svc), 3000),
            "Type": CHANGE_TYPES[ctype],
            "Assignment group": np.where(escalated, second, groups),
            "Planned start": format_local(start, np.zeros(len(svc), dtype=bool), tz),
            "Planned end": format_local(end, np.zeros(len(svc), dtype=bool), tz),
            "Actual end": format_local(actual, ~done, tz),
            "Close code": np.where(done, CLOSE_CODES[outcome], ""),
            "Caused incident": np.where(done, np.where(caused, "Yes", "No"), ""),
        }
    )
