"""The KPI catalogue: one definition per KPI, the single source for labels,
units, RAG direction and the methodology appendix of every report.

Kinds and timing follow the ITIL CSI practice of pairing outcome,
experience and capability measures, and leading with lagging indicators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from csi_lib.errors import ParamsError

__all__ = ["CATALOGUE", "Kpi", "get", "ids"]

Unit = Literal["count", "share", "hours", "score"]
Direction = Literal["higher", "lower", "neutral"]
Kind = Literal["outcome", "experience", "capability"]
Timing = Literal["leading", "lagging"]


@dataclass(frozen=True)
class Kpi:
    """One KPI: how it is computed, read and judged."""

    id: str
    label: str
    unit: Unit
    direction: Direction
    kind: Kind
    timing: Timing
    basis: str
    method: str

    def format(self, value: float | None) -> str:
        """The value as a reader sees it: 78.1%, 12.3 h, 1,234, 4.12; a dash when missing."""
        if value is None or value != value:  # NaN
            return "–"
        if self.unit == "share":
            return f"{value:.1%}"
        if self.unit == "hours":
            return f"{value:,.1f} h"
        if self.unit == "count":
            return f"{value:,.0f}"
        return f"{value:.2f}"

    def format_change(self, new: float, old: float) -> str:
        """The change from ``old`` to ``new``: points for shares, percent for the rest."""
        if new != new or old != old:  # NaN
            return "–"
        if self.unit == "share":
            return f"{(new - old) * 100:+.1f} pts"
        if old == 0:
            return "–"
        rel = (new - old) / abs(old)
        return f"{rel:+.0%}" if abs(rel) >= 0.095 else f"{rel:+.1%}"

    def better(self, new: float, old: float) -> bool | None:
        """Whether ``new`` is better than ``old``; None when the KPI has no direction or tie."""
        if self.direction == "neutral" or new == old:
            return None
        return (new > old) == (self.direction == "higher")


_DEFS = [
    Kpi("volume", "Tickets opened", "count", "neutral", "capability", "leading",
        "tickets opened",
        "Count of incidents and requests opened in the period (by opened_at, client time)."),
    Kpi("sla_resolution", "Resolution SLA met", "share", "higher", "outcome", "lagging",
        "tickets resolved",
        "Share of tickets resolved in the period whose time from opened to resolved "
        "is within the resolution target for their priority."),
    Kpi("sla_response", "Response SLA met", "share", "higher", "outcome", "leading",
        "tickets responded",
        "Share of tickets first responded to in the period within the response target "
        "for their priority; tickets with no recorded response are not counted."),
    Kpi("resolution_median_h", "Resolution time, median", "hours", "lower", "outcome", "lagging",
        "tickets resolved",
        "Median of opened-to-resolved wall-clock hours of tickets resolved in the period."),
    Kpi("resolution_p90_h", "Resolution time, P90", "hours", "lower", "outcome", "lagging",
        "tickets resolved",
        "90th percentile of opened-to-resolved hours of tickets resolved in the period: "
        "the wait the slowest tenth of users had."),
    Kpi("resolution_mean_h", "Resolution time, mean (MTTR)", "hours", "lower", "outcome",
        "lagging", "tickets resolved",
        "Arithmetic mean of opened-to-resolved hours of tickets resolved in the period; "
        "read it beside the median, as a few long tickets move it."),
    Kpi("backlog", "Open backlog at period end", "count", "lower", "capability", "leading",
        "tickets open at period end",
        "Tickets opened on or before the last instant of the period and not resolved by then."),
    Kpi("reopen_rate", "Reopen rate", "share", "lower", "experience", "lagging",
        "tickets resolved",
        "Share of tickets resolved in the period that were reopened at least once."),
    Kpi("reassignment_rate", "Reassignment rate", "share", "lower", "capability", "leading",
        "tickets resolved",
        "Share of tickets resolved in the period that passed between groups at least once."),
    Kpi("fcr", "First contact resolution", "share", "higher", "experience", "lagging",
        "tickets resolved",
        "Share of tickets resolved in the period by the first group, with no reassignment "
        "and no reopen."),
    Kpi("csat_mean", "Customer satisfaction, mean", "score", "higher", "experience", "lagging",
        "survey answers",
        "Mean score (1-5) of satisfaction surveys answered in the period."),
    Kpi("csat_response_rate", "Survey response rate", "share", "higher", "experience",
        "leading", "tickets resolved",
        "Survey answers received in the period divided by tickets resolved in the period."),
    Kpi("change_success_rate", "Change success rate", "share", "higher", "outcome", "lagging",
        "changes completed",
        "Share of changes completed in the period (by actual end) whose outcome is "
        "successful, neither failed nor backed out."),
]

CATALOGUE: dict[str, Kpi] = {k.id: k for k in _DEFS}


def ids() -> list[str]:
    """KPI ids in catalogue order."""
    return list(CATALOGUE)


def get(kpi_id: str) -> Kpi:
    """The definition of ``kpi_id``; an unknown id lists the known ones."""
    try:
        return CATALOGUE[kpi_id]
    except KeyError:
        raise ParamsError(
            f"unknown KPI {kpi_id!r}. Known KPIs: {', '.join(CATALOGUE)}"
        ) from None
