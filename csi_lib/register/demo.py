"""The demo client's improvement register: about 30 initiatives across its six services.

Built to exercise every path of the prioritisation report: approved and
proposed work, work in progress and delivered, rejections with reasons and
dates, proposals below the minimum viable improvement, delivered initiatives
for the benefit review (each of its verdicts, some with their post-implementation
review), dependencies (one on a
rejected initiative), initiatives touching several services, one larger than
the whole quarter's capacity, and text that must stay text (a formula, a
script tag). The story follows the demo exports: the network service
deteriorates, so most of its proposals are recent and urgent.

Descriptive fields are fixed; the seed draws owners, proposal dates, reach and
confidence, so the same seed always writes the same register.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from csi_lib.register.excel import put, save_atomic
from csi_lib.register.layout import COLUMNS, NUMBER_FORMATS
from csi_lib.register.template import template_workbook

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["ensure_demo_register", "write_demo_register"]

DEMO_SERVICES = ("email", "network", "erp", "hr-portal", "endpoint", "identity")
FORMULA_TITLE = '=HYPERLINK("http://x","Privileged access review every quarter")'
SCRIPT_NOTE = "Vendor note pasted as-is: <script>alert('csi')</script>"
OWNERS = ("A. Patel", "J. Okafor", "M. Rossi", "S. Lindqvist", "K. Tanaka", "L. Moreau")

# id, service, other services, title, KPI, expected improvement, impact, effort, risk,
# alignment, effort hours, time criticality, risk reduction, cost, status, depends on,
# delivered, decision date, decision notes
_ROWS: tuple[tuple[Any, ...], ...] = (
    ("R-01", "network", "", "Automated health checks and alerting for network devices",
     "resolution_median_h", 0.30, 5, 3, 2, 5, 80, 5, 4, 12000, "approved", "", None,
     "2026-06-18", "Approved by the service review board: network resolution times keep rising."),
    ("R-02", "network", "", "Runbooks for the ten most frequent network incident types",
     "fcr", 0.25, 4, 2, 1, 4, 40, 4, 3, 0, "proposed", "", None, None, ""),
    ("R-03", "network", "endpoint", "Wi-Fi survey and access-point refresh at both warehouses",
     "sla_resolution", 0.20, 4, 5, 4, 3, 260, 3, 3, 85000, "proposed", "R-01", None, None, ""),
    ("R-04", "network", "", "Consolidate monitoring tools and retire the legacy NMS",
     "resolution_p90_h", 0.20, 3, 4, 3, 4, 160, 2, 4, 20000, "proposed", "", None, None, ""),
    ("R-05", "network", "", "Auto-remediation of known VPN gateway faults",
     "resolution_median_h", 0.35, 4, 3, 3, 4, 90, 4, 3, 0, "proposed", "R-01", None, None, ""),
    ("R-06", "erp", "", "Hypercare rota for the month-end close",
     "sla_resolution", 0.10, 3, 1, 1, 2, 24, 3, 1, 0, "proposed", "", None, None, ""),
    ("R-07", "erp", "", "Knowledge articles for the 20 most asked ERP questions",
     "fcr", 0.18, 3, 2, 1, 3, 16, 2, 1, 0, "in progress", "", None, "2026-04-02",
     "Approved in Q2; 16 hours left."),
    ("R-08", "erp", "", "Upgrade the ERP to the vendor-supported release",
     None, None, 4, 5, 5, 5, 600, 4, 5, 150000, "proposed", "", None, None,
     "Vendor support ends in 2027."),
    ("R-09", "erp", "", "Automate invoice-matching exception tickets",
     "resolution_median_h", 0.20, 3, 3, 2, 3, 80, 2, 2, 5000, "delivered", "", "2026-05-29",
     "2025-12-10", "Delivered in May; benefit review due next quarter."),
    ("R-10", "hr-portal", "", "Self-service FAQ for HR portal access and profile questions",
     "fcr", 0.20, 4, 1, 1, 3, 16, 2, 1, 0, "proposed", "", None, None, ""),
    ("R-11", "hr-portal", "identity", "Single sign-on for the HR portal",
     "csat_mean", 0.08, 3, 3, 2, 4, 70, 2, 3, 0, "proposed", "R-16", None, None, ""),
    ("R-12", "hr-portal", "", "Rewrite the HR portal request forms",
     "sla_response", 0.20, 3, 3, 2, 2, 120, 1, 1, 18000, "rejected", "", None, "2026-03-20",
     "HR replaces the portal in 2027. " + SCRIPT_NOTE),
    ("R-13", "endpoint", "", "Zero-touch laptop enrolment and imaging pipeline",
     "resolution_median_h", 0.40, 4, 4, 3, 5, 180, 3, 3, 30000, "approved", "", None,
     "2026-05-14", "Approved: part of the device strategy."),
    ("R-14", "endpoint", "", "Spare-device pool at each site",
     "sla_resolution", 0.20, 3, 2, 1, 2, 24, 3, 1, 9000, "proposed", "", None, None, ""),
    ("R-15", "endpoint", "", "Replace the printer fleet",
     None, None, 2, 4, 2, 1, 200, 1, 1, 60000, "rejected", "", None, "2025-11-12",
     "Covered by the facilities contract renewal."),
    ("R-16", "identity", "", "Central single sign-on platform (SAML/OIDC) for business apps",
     "sla_resolution", 0.15, 4, 4, 3, 5, 200, 3, 4, 25000, "approved", "", None, "2026-06-18",
     "Approved: prerequisite of the joiner-mover-leaver work."),
    ("R-17", "identity", "", "Self-service password reset",
     "fcr", 0.30, 5, 2, 2, 4, 40, 4, 2, 8000, "in progress", "", None, "2026-03-05",
     "Pilot live for two sites; 40 hours left."),
    ("R-18", "identity", "hr-portal", "Joiner-mover-leaver automation from the HR feed",
     "sla_response", 0.20, 4, 4, 3, 4, 150, 3, 4, 0, "proposed", "R-16", None, None, ""),
    ("R-19", "email", "", "Automate shared-mailbox requests",
     "resolution_median_h", 0.25, 3, 2, 1, 3, 30, 2, 1, 0, "proposed", "R-22", None, None, ""),
    ("R-20", "email", "", "Phishing-report button with automatic triage",
     "sla_response", 0.20, 4, 2, 2, 4, 40, 4, 4, 3000, "proposed", "", None, None,
     '=HYPERLINK("http://x","vendor page")'),
    ("R-21", "email", "", "Mailbox quota alerts before users reach the limit",
     "sla_resolution", 0.12, 2, 1, 1, 2, 12, 1, 1, 0, "proposed", "", None, None, ""),
    ("R-22", "email", "", "Migrate distribution lists to Microsoft 365 groups",
     "reassignment_rate", 0.15, 2, 3, 2, 2, 90, 1, 1, 0, "rejected", "", None, "2026-06-10",
     "Low benefit now; revisit after the tenant merger."),
    ("R-23", "network", "email, endpoint, identity",
     "Service desk triage model: route by service at first contact",
     "reassignment_rate", 0.30, 5, 3, 3, 5, 100, 4, 3, 0, "proposed", "R-02", None, None, ""),
    ("R-24", "endpoint", "network",
     "Clean up configuration items for network and end-user devices",
     "reassignment_rate", 0.20, 3, 3, 2, 4, 80, 2, 3, 0, "proposed", "", None, None, ""),
    ("R-25", "identity", "", FORMULA_TITLE,
     None, None, 3, 2, 2, 5, 30, 3, 4, 0, "proposed", "", None, None,
     "Audit finding: compliance work, no KPI target."),
)
# Delivered in the last four quarters: what the benefit review judges. The demo
# exports plant their effects (csi_lib.demo.effects) on these dates.
_DELIVERED: tuple[tuple[Any, ...], ...] = (
    ("R-26", "endpoint", "", "Parts lockers at each site so engineers stop waiting for couriers",
     "resolution_median_h", 0.25, 4, 3, 2, 4, 120, 3, 2, 15000, "delivered", "", "2026-01-19",
     "2025-10-08", "Approved after the Q3 review: laptop repairs wait days for parts."),
    ("R-27", "hr-portal", "", "Guided self-help pages for payslip and leave questions",
     "csat_mean", 0.15, 3, 2, 1, 3, 60, 2, 1, 0, "delivered", "", "2025-12-01",
     "2025-09-15", "Approved: most HR portal complaints are about finding answers."),
    ("R-28", "identity", "", "Lunchtime cover rota for the identity team",
     "resolution_median_h", 0.20, 3, 1, 1, 2, 20, 2, 1, 0, "delivered", "", "2026-02-16",
     "2026-01-12", "Approved as a quick win."),
    ("R-29", "email", "", "Auto-acknowledge and categorise tickets raised by email",
     "response_median_h", 0.30, 3, 2, 1, 3, 45, 2, 1, 0, "delivered", "", "2026-03-02",
     "2026-01-20", "Went live the same week as the new ticketing tool."),
    ("R-30", "network", "", "Publish the network change-freeze calendar to the business",
     None, None, 2, 1, 1, 3, 10, 2, 2, 0, "delivered", "", "2026-04-15", "2026-03-02",
     "Communication work: no KPI target."),
    ("R-31", "email", "", "Self-service mailbox size increase",
     "sla_resolution", 0.10, 2, 1, 1, 2, 16, 1, 1, 0, "delivered", "", "2026-08-12",
     "2026-06-18", "Delivered in August."),
)
# Post-implementation reviews held: review date, outcome notes, residual risk.
_REVIEWS: dict[str, tuple[str, str, str]] = {
    "R-26": ("2026-07-20", ("Median laptop repair time roughly halved; stock levels agreed "
                            "with the supplier."),
             "Lockers depend on one courier contract (renewal 2027)."),
    "R-30": ("2026-05-20", ("Business units now plan around the freeze; no change requests "
                            "raised inside it since April."), "None."),
}


def write_demo_register(path: Path | str, params: Params, seed: int) -> Path:
    """Write the demo register for ``params``' services, drawing its varying fields from ``seed``.

    Services are the demo's six ids; for params with other services, each demo
    service maps onto one of theirs in order.
    """
    ids = [s.id for s in params.services]
    mapping = {d: d if d in ids else ids[k % len(ids)] for k, d in enumerate(DEMO_SERVICES)}
    # The delivered rows draw from their own stream, so adding them left every
    # earlier row's owner, dates, reach and confidence as they were.
    draws = [_draws(np.random.default_rng(seed), len(_ROWS)),
             _draws(np.random.default_rng([seed, 1]), len(_DELIVERED))]
    owners, proposed, reach, confidence = (np.concatenate([a, b])
                                           for a, b in zip(*draws, strict=True))
    proposed = pd.DatetimeIndex(proposed)
    wb = template_workbook([(s.id, s.name) for s in params.services])
    ws = wb["Register"]
    position = {c.field: (j, NUMBER_FORMATS.get(c.kind)) for j, c in enumerate(COLUMNS, 1)}
    for k, r in enumerate((*_ROWS, *_DELIVERED)):
        (rid, svc, others, title, kpi, gain, impact, effort, risk, align, hours, crit, red,
         cost, status, deps, delivered, decided, notes) = r
        values = {
            "id": rid, "title": title, "service": mapping[svc],
            "other_services": ", ".join(mapping[o.strip()] for o in others.split(",") if o),
            "kpi": kpi, "expected_improvement": gain, "business_impact": impact,
            "effort": effort, "risk": risk, "strategic_alignment": align,
            "effort_hours": hours, "time_criticality": crit, "risk_reduction": red,
            "reach": int(reach[k]), "confidence": float(confidence[k]), "cost": cost or None,
            "owner": OWNERS[owners[k]], "status": status, "depends_on": deps,
            "proposed": min(proposed[k], pd.Timestamp(decided)) if decided else proposed[k],
            "delivered": pd.Timestamp(delivered) if delivered else None,
            "decided": pd.Timestamp(decided) if decided else None, "notes": notes,
            **_review(rid),
        }
        if values["delivered"] is not None:
            values["proposed"] = min(values["proposed"], values["delivered"])
        for field, value in values.items():
            column, fmt = position[field]
            put(ws.cell(k + 2, column), value, fmt)
    return save_atomic(wb, Path(path))


def _draws(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    owners = rng.choice(len(OWNERS), size=n)
    proposed = pd.Timestamp("2025-09-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    reach = rng.integers(4, 60, n) * 25
    confidence = rng.choice([0.5, 0.8, 1.0], size=n, p=[0.25, 0.5, 0.25])
    return owners, proposed.to_numpy(), reach, confidence


def _review(rid: str) -> dict[str, Any]:
    date, outcome, risk = _REVIEWS.get(rid, (None, None, None))
    return {"review_date": pd.Timestamp(date) if date else None, "outcome_notes": outcome,
            "residual_risk": risk}


def ensure_demo_register(params: Params) -> Path | None:
    """Write the demo register where params expect it, for a demo client that has none yet."""
    path = params.prioritisation.register_file
    if params.demo is None or path is None or path.is_file():
        return None
    return write_demo_register(path, params, params.demo.seed)
