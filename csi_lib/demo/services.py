"""The demo client's services and how each behaves: volumes, handling times, trends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csi_lib.demo.clock import DAY, HOUR, Timeline, trend_strength

# Header rows: must equal the `columns` values of params/demo.yaml (tested).
TICKET_COLUMNS = [
    "Number", "Type", "Opened", "First response", "Resolved", "Closed", "State",
    "Priority", "Category", "Subcategory", "Contact type", "Assignment group",
    "Reassignment count", "Reopen count", "Made SLA", "Caller",
]  # fmt: skip
CHANGE_COLUMNS = [
    "Number", "Type", "Assignment group", "Planned start", "Planned end", "Actual end",
    "Close code", "Caused incident",
]  # fmt: skip
SURVEY_COLUMNS = ["Ticket", "Answered", "Score"]

SCRIPT_SUBCATEGORY = '<script>alert("csi")</script>'
UNMATCHED_GROUPS = ("Facilities", "Facilities", "Travel Desk")

PRIORITY_LABELS = np.array(["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"])
CHANNELS = np.array(["Phone", "Email", "Self-service", "Chat", "Walk-in"])
CHANGE_TYPES = np.array(["Standard", "Normal", "Emergency"])
CLOSE_CODES = np.array(["Successful", "Unsuccessful", "Backed out"])

# SLA targets of params/demo.yaml (seconds, 24x7 clock), by priority P1..P4:
# used to make breaches cost satisfaction, as they do with real users.
RESOLUTION_TARGET = np.array([4 * HOUR, 8 * HOUR, 3 * DAY, 5 * DAY])

# Baseline handling times by priority P1..P4 (lognormal median and sigma): set so
# that a stable service meets roughly 90% of its targets with a realistic tail.
RESPONSE_MEDIAN = np.array([5 * 60, 15 * 60, 45 * 60, 3 * HOUR], dtype=float)
RESPONSE_SIGMA = np.array([0.7, 0.8, 0.9, 1.0])
RESOLUTION_MEDIAN = np.array([1.4 * HOUR, 2.8 * HOUR, 11 * HOUR, 26 * HOUR])
RESOLUTION_SIGMA = np.array([0.65, 0.75, 1.05, 0.95])

# Priority mix (P1..P4) by record type: requests are rarely critical.
PRIORITY_P = {"Incident": [0.05, 0.18, 0.55, 0.22], "Request": [0.005, 0.05, 0.55, 0.395]}

# Relative arrival intensity by local hour: a service desk's office-hours hump
# with a lunch dip; weekends are a low, flat trickle.
HOUR_WEEKDAY = np.array([
    0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.35, 0.95, 1.6, 1.55, 1.4,
    1.05, 1.2, 1.4, 1.3, 1.1, 0.75, 0.4, 0.25, 0.18, 0.12, 0.08, 0.06,
])  # fmt: skip
HOUR_WEEKEND = np.array([
    0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.04, 0.06, 0.1, 0.14, 0.16, 0.16,
    0.15, 0.15, 0.14, 0.13, 0.12, 0.1, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04,
])  # fmt: skip
DOW = np.array([1.3, 1.1, 1.0, 1.0, 0.85, 1.0, 0.8])  # Monday peak; weekend set by profile
SEASON = np.array([1.08, 1.04, 1.02, 0.97, 0.98, 0.95, 0.92, 0.85, 1.08, 1.05, 1.02, 0.84])


@dataclass(frozen=True)
class Service:
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


SERVICES: tuple[Service, ...] = (
    Service("email", ("Messaging", "Collaboration L2"), 420, 0.55, 0.8, 0.25, 0.03, 0.0,
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
    Service("network", ("Network Operations", "Network L2"), 360, 0.68, 0.9, 0.3, 0.03, 0.0,
             0.17, 45, -1, (
                 ("Connectivity", "VPN", 0.30, 0.30),
                 ("Connectivity", "WiFi", 0.25, 0.0),
                 ("Connectivity", "LAN / wired port", 0.15, 0.20),
                 ("Network", "DNS", 0.10, 0.0),
                 ("Network", "Firewall", 0.10, 0.40),
                 ("Telephony", "Softphone", 0.10, 0.10),
             )),
    Service("erp", ("ERP Support", "ERP L3"), 270, 0.5, 1.5, 0.65, 0.07, -0.25,
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
    Service("hr-portal", ("HR Applications",), 170, 0.38, 1.0, 0.2, 0.03, 0.1,
             0.24, 20, 0, (
                 ("Access", "Login", 0.30, 0.0),
                 ("Payroll", "Payslip", 0.25, 0.0),
                 ("Absence", "Leave booking", 0.25, 0.0),
                 ("Expenses", "Claim", 0.20, 0.0),
                 ("Employee data", "Data correction", 0.0, 0.40),
                 ("Onboarding", "New starter", 0.0, 0.30),
                 ("Offboarding", "Leaver", 0.0, 0.30),
             )),
    Service("endpoint", ("Desktop Support", "Field Services"), 640, 0.57, 1.1, 0.3, 0.04,
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
    Service("identity", ("Identity Team",), 330, 0.45, 0.55, 0.15, 0.02, 0.15,
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


def service_array(svc: np.ndarray, attr: str) -> np.ndarray:
    """A per-row array of one service attribute."""
    return np.array([getattr(s, attr) for s in SERVICES], dtype=float)[svc]


def worse_better(tl: Timeline, svc: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-row trend strength for deteriorating and improving services (0..1 each)."""
    t = trend_strength(tl, ts)
    direction = service_array(svc, "trend")
    return t * (direction < 0), t * (direction > 0)
