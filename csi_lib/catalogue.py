"""The KPI catalogue: one definition per KPI, the single source for labels,
units, RAG direction, confidence intervals and the methodology appendix of
every report.

Kinds and timing follow the ITIL CSI practice of pairing outcome,
experience and capability measures, and leading with lagging indicators.
The rules some KPIs rest on (the repeat window, the channels that count as
self-service, the age of an aged ticket, the scores that mean satisfied, the
confidence level) are constants here so that the computation in
:mod:`csi_lib.kpis` and the method text a reader sees cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import pandas as pd

from csi_lib.errors import ParamsError

__all__ = [
    "AGED_BACKLOG_DAYS",
    "AGE_BUCKETS",
    "BOOTSTRAP_RESAMPLES",
    "CATALOGUE",
    "CI_LEVEL",
    "INTERVAL_NOTE",
    "REPEAT_WINDOW",
    "SATISFIED_MIN_SCORE",
    "SELF_SERVICE_CHANNELS",
    "TIER_SUFFIXES",
    "Kpi",
    "definitions",
    "get",
    "ids",
    "sections",
]

Unit = Literal["count", "share", "hours", "score", "ratio"]
Direction = Literal["higher", "lower", "neutral"]
Kind = Literal["outcome", "experience", "capability"]
Timing = Literal["leading", "lagging"]
# How a KPI's 95% interval is made: Wilson for a proportion, a bootstrap for a
# median or percentile, none for counts, means and ratios of counts.
Interval = Literal["wilson", "bootstrap", "none"]

CI_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000
# An incident repeats an earlier one from the same caller about the same
# category or configuration item opened at most this long before it.
REPEAT_WINDOW = pd.Timedelta(days=7)
# Open tickets older than this at a period end are "aged" (aging buckets below).
AGED_BACKLOG_DAYS = 30
# Age buckets of the open backlog: (label, upper bound in days; None = no bound).
# A ticket exactly on a bound falls in the lower bucket (ages are (low, high]).
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("up to 1 day", 1), ("1–7 days", 7), ("7–30 days", AGED_BACKLOG_DAYS),
    (f"over {AGED_BACKLOG_DAYS} days", None),
)
# CSAT on a 1-5 scale: 4 (satisfied) and 5 (very satisfied) count as satisfied.
SATISFIED_MIN_SCORE = 4
# Contact channels that mean the user raised the ticket themselves, compared
# case-insensitively with '-' and '_' read as spaces (ServiceNow contact_type
# "self-service", Jira Service Management "portal", ...).
SELF_SERVICE_CHANNELS = frozenset({
    "self service", "selfservice", "portal", "self service portal", "service portal",
    "customer portal", "web", "web portal", "virtual agent",
})
# Assignment group names that state a support tier: "Network L2", "ERP L3",
# "Tier 2 Apps", "Service Desk Level 1", "2nd line Network".
TIER_SUFFIXES = ("L1", "L2", "L3", "Tier 1-3", "Level 1-3", "1st/2nd/3rd line")

_INTERVALS: dict[Interval, str] = {
    "wilson": f" {CI_LEVEL:.0%} interval: Wilson score.",
    "bootstrap": f" {CI_LEVEL:.0%} interval: bootstrap, {BOOTSTRAP_RESAMPLES:,} resamples.",
    "none": "",
}
# Said once above the definitions, rather than in every row.
INTERVAL_NOTE = (
    f"Each share and each median or percentile comes with a {CI_LEVEL:.0%} interval: the "
    "range the value would likely take if the same process ran again, so a change inside it "
    "can be noise. Shares use the Wilson score interval of a proportion, which stays valid "
    "for small counts and for shares near 0% or 100%. Medians and percentiles use a "
    f"percentile bootstrap of {BOOTSTRAP_RESAMPLES:,} resamples of the period's tickets "
    "(drawn exactly and seeded by KPI and period, so every rerun and every report gives the "
    "same interval). Counts, means and ratios carry no interval."
)


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
    interval: Interval = "none"
    section: str = ""

    def format(self, value: float | None) -> str:
        """The value as a reader sees it: 78.1%, 12.3 h, 1,234, 4.12; a dash when missing."""
        if value is None or pd.isna(value):
            return "–"
        if self.unit == "share":
            return f"{value:.1%}"
        if self.unit == "hours":
            return f"{value:,.1f} h"
        if self.unit == "count":
            return f"{value:,.0f}"
        return f"{value:.2f}"

    def format_interval(self, low: float | None, high: float | None) -> str:
        """A 95% interval as a reader sees it: "59.0–64.1%", "30.5–38.6 h"; "" when none."""
        if low is None or high is None or pd.isna(low) or pd.isna(high):
            return ""
        if self.unit == "share":
            return f"{low * 100:.1f}–{high:.1%}"
        if self.unit == "hours":
            return f"{low:,.1f}–{high:,.1f} h"
        return f"{low:,.2f}–{high:,.2f}"

    def format_change(self, new: float, old: float) -> str:
        """The change from ``old`` to ``new``: points for shares, percent for the rest."""
        if pd.isna(new) or pd.isna(old):
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


def _kpi(kpi_id: str, label: str, unit: Unit, direction: Direction, kind: Kind,
         timing: Timing, basis: str, method: str, interval: Interval = "none") -> Kpi:
    return Kpi(kpi_id, label, unit, direction, kind, timing, basis,
               method + _INTERVALS[interval], interval)


_SELF = ", ".join(sorted(SELF_SERVICE_CHANNELS))
# Report sections, in reading order; a report may show one table per section.
_SECTIONS: dict[str, list[Kpi]] = {
    "Demand and flow": [
        _kpi("volume", "Tickets opened", "count", "neutral", "capability", "leading",
             "tickets opened",
             "Count of incidents and requests opened in the period (by opened_at, client time)."),
        _kpi("resolved_per_opened", "Resolved per ticket opened", "ratio", "neutral",
             "capability", "leading", "tickets opened",
             "Created vs resolved: tickets resolved in the period divided by tickets opened in "
             "it. Above 1 the backlog shrinks, below 1 it grows; near 1 is a steady state, so "
             "the ratio has no better direction and is read beside the backlog."),
    ],
    "Service levels": [
        _kpi("sla_resolution", "Resolution SLA met", "share", "higher", "outcome", "lagging",
             "tickets resolved",
             "Share of tickets resolved in the period whose time from opened to resolved "
             "is within the resolution target for their priority.", "wilson"),
        _kpi("sla_response", "Response SLA met", "share", "higher", "outcome", "leading",
             "tickets responded",
             "Share of tickets first responded to in the period within the response target "
             "for their priority; tickets with no recorded response are not counted.", "wilson"),
        _kpi("sla_met_source", "SLA met, as recorded by the source tool", "share", "higher",
             "outcome", "lagging", "tickets resolved with the tool's verdict",
             "Share of tickets resolved in the period that the source tool itself records as "
             "within their SLA (ServiceNow made_sla, a Jira SLA field), where the export "
             "records that verdict. The kit's Resolution SLA met recomputes the verdict from "
             "the timestamps and the params' targets; the baseline's data-quality section "
             "compares the two, ticket by ticket.", "wilson"),
        _kpi("breach_overrun_p50_h", "Breach overrun, median", "hours", "lower", "experience",
             "lagging", "breached tickets",
             "For tickets resolved in the period after their resolution target, the median of "
             "how late they were (resolution time on the SLA clock minus the target), so a "
             "green SLA share cannot hide how long the breaches ran.", "bootstrap"),
        _kpi("breach_overrun_p90_h", "Breach overrun, P90", "hours", "lower", "experience",
             "lagging", "breached tickets",
             "90th percentile of the overrun of tickets resolved in the period after their "
             "resolution target (SLA-clock hours past the target): the worst tenth of breaches.",
             "bootstrap"),
    ],
    "Speed": [
        _kpi("resolution_median_h", "Resolution time, median", "hours", "lower", "outcome",
             "lagging", "tickets resolved",
             "Median of opened-to-resolved wall-clock hours of tickets resolved in the period.",
             "bootstrap"),
        _kpi("resolution_p90_h", "Resolution time, P90", "hours", "lower", "outcome", "lagging",
             "tickets resolved",
             "90th percentile of opened-to-resolved hours of tickets resolved in the period: "
             "the wait the slowest tenth of users had.", "bootstrap"),
        _kpi("resolution_mean_h", "Resolution time, mean (MTTR)", "hours", "lower", "outcome",
             "lagging", "tickets resolved",
             "Arithmetic mean of opened-to-resolved hours of tickets resolved in the period; "
             "read it beside the median, as a few long tickets move it."),
        _kpi("response_median_h", "Time to respond, median", "hours", "lower", "outcome",
             "leading", "tickets responded",
             "Median of opened-to-first-response wall-clock hours of tickets first responded to "
             "in the period, where the export records the response time.", "bootstrap"),
        _kpi("response_p90_h", "Time to respond, P90", "hours", "lower", "outcome", "leading",
             "tickets responded",
             "90th percentile of opened-to-first-response hours of tickets first responded to in "
             "the period, where the export records the response time.", "bootstrap"),
    ],
    "Backlog": [
        _kpi("backlog", "Open backlog at period end", "count", "lower", "capability", "leading",
             "tickets open at period end",
             "Tickets opened on or before the last instant of the period and not resolved by "
             "then."),
        _kpi("backlog_age_gt_30d", f"Backlog older than {AGED_BACKLOG_DAYS} days", "share", "lower",
             "capability", "leading", "tickets open at period end",
             f"Share of the open backlog at the period's end that was opened more than "
             f"{AGED_BACKLOG_DAYS} days before it; the full aging buckets ("
             + ", ".join(label for label, _ in AGE_BUCKETS) + ") are in the backlog section.",
             "wilson"),
    ],
    "Handoffs, repeats and self-help": [
        _kpi("reopen_rate", "Reopen rate", "share", "lower", "experience", "lagging",
             "tickets resolved",
             "Share of tickets resolved in the period that were reopened at least once.", "wilson"),
        _kpi("reassignment_rate", "Reassignment rate", "share", "lower", "capability", "leading",
             "tickets resolved",
             "Share of tickets resolved in the period that passed between groups at least once.",
             "wilson"),
        _kpi("escalation_rate", "Escalation rate (to tier 2/3)", "share", "lower", "capability",
             "leading", "tickets resolved",
             "Share of tickets resolved in the period whose final assignment group is tier 2 or "
             "3, where the export records tiers: a group name ending (or starting) with "
             f"{', '.join(TIER_SUFFIXES)} states its tier, and the other groups of a service that "
             "has tiered groups count as tier 1. Services without tiered groups have no value.",
             "wilson"),
        _kpi("fcr", "First contact resolution", "share", "higher", "experience", "lagging",
             "tickets resolved",
             "Share of tickets resolved in the period by the first group, with no reassignment "
             "and no reopen.", "wilson"),
        _kpi("repeat_incident_rate", "Repeat incidents", "share", "lower", "outcome", "leading",
             "incidents opened",
             "Share of incidents opened in the period that repeat an earlier incident: same "
             f"caller and same category or configuration item, opened at most "
             f"{REPEAT_WINDOW.days} days before (two opened at the same instant repeat each "
             "other), where the export records callers and categories or CIs.", "wilson"),
        _kpi("knowledge_use_rate", "Knowledge use", "share", "higher", "capability", "leading",
             "tickets resolved",
             "Share of tickets resolved in the period with a knowledge article used or linked "
             "(true/yes/1 or an article reference; an empty cell counts as none), where the "
             "export records knowledge use.",
             "wilson"),
        _kpi("self_service_share", "Self-service share", "share", "higher", "capability",
             "leading", "tickets opened with a channel",
             "Share of tickets opened in the period whose contact channel is self-service ("
             f"{_SELF}; any case, '-' and '_' read as spaces), of the tickets with a channel, "
             "where the export records "
             "the channel.", "wilson"),
    ],
    "Satisfaction": [
        _kpi("csat_mean", "Customer satisfaction, mean", "score", "higher", "experience",
             "lagging", "survey answers",
             "Mean score (1-5) of satisfaction surveys answered in the period."),
        _kpi("csat_satisfied", "Customers satisfied", "share", "higher", "experience", "lagging",
             "survey answers",
             f"Share of satisfaction surveys answered in the period scoring "
             f"{SATISFIED_MIN_SCORE} or 5 on the 1-5 scale.", "wilson"),
        _kpi("csat_response_rate", "Survey response rate", "share", "higher", "experience",
             "leading", "tickets resolved",
             "Survey answers received in the period divided by tickets resolved in the period "
             "(without an interval, as a period's answers and resolutions are not the same "
             "tickets)."),
    ],
    "Change": [
        _kpi("change_success_rate", "Change success rate", "share", "higher", "outcome",
             "lagging", "changes completed",
             "Share of changes completed in the period (by actual end) whose outcome is "
             "successful, neither failed nor backed out.", "wilson"),
        _kpi("emergency_change_share", "Emergency changes", "share", "lower", "capability",
             "leading", "changes completed",
             "Share of changes completed in the period that were emergency changes, where the "
             "export records the change type.", "wilson"),
        _kpi("change_incident_rate", "Changes causing incidents", "share", "lower", "outcome",
             "lagging", "changes completed",
             "Share of changes completed in the period that caused an incident, of those for "
             "which it is known, where the export records whether a change caused one.",
             "wilson"),
    ],
}

CATALOGUE: dict[str, Kpi] = {k.id: replace(k, section=section)
                             for section, kpis in _SECTIONS.items() for k in kpis}

_UNIT_WORDS = {"share": "share (%)", "hours": "hours", "count": "count",
               "score": "score (1–5)", "ratio": "ratio"}
_BETTER_WORDS = {"higher": "higher", "lower": "lower", "neutral": "neither"}


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


def sections() -> dict[str, list[str]]:
    """KPI ids by report section, both in reading order."""
    return {name: [k.id for k in kpis] for name, kpis in _SECTIONS.items()}


def definitions() -> pd.DataFrame:
    """The KPI definitions appendix: one row per KPI in catalogue order, as text."""
    return pd.DataFrame([{
        "Section": k.section,
        "KPI": k.label,
        "Unit": _UNIT_WORDS[k.unit],
        "Better": _BETTER_WORDS[k.direction],
        "Kind": k.kind,
        "Timing": k.timing,
        "Based on": k.basis,
        "Method": k.method,
    } for k in CATALOGUE.values()])
