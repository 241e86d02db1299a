"""Improvements planted in the demo data, so the benefit review has something true to find.

Each effect changes one service's tickets opened from a date on (``"*"``: every
service, as an estate-wide change such as a new ticketing tool does). The demo
register (:mod:`csi_lib.register.demo`) lists initiatives delivered on these
dates; which ones should be credited is the point of the review:

* endpoint: resolution times fall by 45% from 19 Jan 2026 (the parts-locker
  initiative, expected 25%: achieved);
* hr-portal: satisfaction rises from 1 Dec 2025 (guided self-help, expected
  15%, realised less: partly achieved);
* every service: first responses 40% faster from 2 Mar 2026 (a new ticketing
  tool), while an email initiative claims the same month: not attributed.

The ERP service was already improving before its delivered initiative (see
:mod:`csi_lib.demo.services`), and the identity initiative has no effect at all.

Effects only scale or shift values already drawn: they consume no random
numbers, so every other row and table is the same with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib.demo.clock import localize

__all__ = ["EFFECTS", "Effect", "Factors", "factors"]


@dataclass(frozen=True)
class Effect:
    """A step change in one service's tickets (``"*"``: every service) from ``start``."""

    service: str
    start: str  # local date, YYYY-MM-DD
    resolution: float = 1.0  # multiplier on resolution times
    response: float = 1.0  # multiplier on first-response times
    satisfaction: float = 0.0  # shift on the latent satisfaction scale


EFFECTS: tuple[Effect, ...] = (
    Effect("endpoint", "2026-01-19", resolution=0.55),
    Effect("hr-portal", "2025-12-01", satisfaction=0.45),
    Effect("*", "2026-03-02", response=0.6),
)


@dataclass(frozen=True)
class Factors:
    """Per-ticket multipliers and shifts from every effect in force when it was opened."""

    resolution: np.ndarray
    response: np.ndarray
    satisfaction: np.ndarray


def factors(
    service_ids: np.ndarray, opened: np.ndarray, tz: str, effects: tuple[Effect, ...] = EFFECTS
) -> Factors:
    """The effects in force for tickets of ``service_ids`` opened at ``opened`` (UTC seconds)."""
    n = len(opened)
    out = Factors(np.ones(n), np.ones(n), np.zeros(n))
    for e in effects:
        start = localize(pd.Timestamp(e.start), tz)[0]
        hit = opened >= start
        if e.service != "*":
            hit &= service_ids == e.service
        out.resolution[hit] *= e.resolution
        out.response[hit] *= e.response
        out.satisfaction[hit] += e.satisfaction
    return out
