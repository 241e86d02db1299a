"""The improvement (CSI) register's layout: its columns, statuses and how headers match.

The register is the consultant's living list of initiatives (ITIL continual
improvement: a CSI register records every improvement opportunity, its
benefits and its status). One definition of its columns serves the blank
template, the reader and the demo generator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "ACTIVE",
    "BY_FIELD",
    "COLUMNS",
    "CORE_SCORES",
    "MODEL_FIELDS",
    "NUMBER_FORMATS",
    "OPEN",
    "SCORES",
    "SHEET",
    "STATUSES",
    "Column",
    "ServiceLike",
    "field_of_header",
    "service_pairs",
]

Kind = Literal["id", "text", "service", "services", "kpi", "percent", "confidence", "score",
               "hours", "money", "count", "status", "ids", "date"]
STATUSES = ("proposed", "approved", "in progress", "delivered", "rejected")
OPEN = ("proposed", "approved")          # candidates for the quarter's plan
ACTIVE = (*OPEN, "in progress")          # need scores and effort hours
SHEET = "Register"
NUMBER_FORMATS = {"percent": "0%", "confidence": "0%", "hours": "#,##0.0", "money": "#,##0",
                  "count": "#,##0", "date": "yyyy-mm-dd", "score": "0"}


@dataclass(frozen=True)
class Column:
    """One column of the register sheet."""

    field: str
    header: str
    kind: Kind
    required: bool      # the column must be in the sheet (its cells may still be optional)
    width: float
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", "id", True, 9,
           "A short unique id, e.g. R-01. Other rows name it in 'Depends on'."),
    Column("title", "Title", "text", True, 44, "What the initiative does, in a few words."),
    Column("service", "Service", "service", True, 14,
           "The service it improves most (drop-down: the ids in sheet Lists)."),
    Column("other_services", "Other services", "services", False, 16,
           "Other services it touches, ids separated by commas; leave empty if none."),
    Column("kpi", "Linked KPI", "kpi", True, 20,
           "The KPI it should move (drop-down). Leave empty for compliance or enabling work."),
    Column("expected_improvement", "Expected improvement (%)", "percent", True, 13,
           "Expected relative gain on the linked KPI in its better direction, e.g. 20% "
           "for a fifth shorter resolution time."),
    Column("business_impact", "Business impact (1-5)", "score", True, 11,
           "1 = hardly noticed, 3 = one team or process, 5 = the whole business."),
    Column("effort", "Effort (1-5)", "score", True, 9,
           "1 = days, 3 = a few weeks, 5 = a quarter or more of a team's time."),
    Column("risk", "Risk (1-5)", "score", True, 9,
           "Risk of doing it: 1 = routine, 5 = could disrupt a live service."),
    Column("strategic_alignment", "Strategic alignment (1-5)", "score", True, 11,
           "1 = unrelated to the client's goals, 5 = a stated priority."),
    Column("effort_hours", "Effort hours", "hours", True, 10,
           "Team hours needed; for work in progress, the hours still to spend."),
    Column("time_criticality", "Time criticality (1-5)", "score", False, 11,
           "WSJF: how fast the value decays if it waits (5 = fixed deadline)."),
    Column("risk_reduction", "Risk reduction (1-5)", "score", False, 11,
           "WSJF: risk it removes or opportunity it enables."),
    Column("reach", "Reach", "count", False, 9,
           "RICE: users or tickets affected per quarter."),
    Column("confidence", "Confidence (%)", "confidence", False, 11,
           "RICE: confidence in the estimates, 0-100%."),
    Column("cost", "Cost", "money", True, 10, "External cost (licences, services), if any."),
    Column("owner", "Owner", "text", True, 16, "Who is accountable for delivering it."),
    Column("status", "Status", "status", True, 12,
           "proposed, approved, in progress, delivered or rejected (drop-down)."),
    Column("depends_on", "Depends on", "ids", True, 12,
           "Ids of initiatives that must come first, separated by commas."),
    Column("proposed", "Proposed", "date", True, 11, "Date proposed (YYYY-MM-DD)."),
    Column("delivered", "Delivered", "date", True, 11, "Date delivered, once delivered."),
    Column("decided", "Decision date", "date", False, 11,
           "Date of the approval or rejection; dates a rejection in the decision log."),
    Column("notes", "Decision notes", "text", True, 44,
           "Why it was approved, rejected or changed. A rejection needs its reason here."),
    Column("review_date", "Review date", "date", False, 11,
           "Date of the post-implementation review of a delivered initiative; empty while "
           "the review is pending."),
    Column("outcome_notes", "Outcome notes", "text", False, 44,
           "What the review found: the benefit realised, lessons learned."),
    Column("residual_risk", "Residual risk", "text", False, 30,
           "Risk that remains after delivery, carried into the archive with the outcome."),
)
BY_FIELD = {c.field: c for c in COLUMNS}
SCORES = tuple(c.field for c in COLUMNS if c.kind == "score")
CORE_SCORES = ("business_impact", "effort", "risk", "strategic_alignment")
# Fields each ranking model needs on every candidate row.
MODEL_FIELDS = {"weighted": CORE_SCORES,
                "wsjf": ("business_impact", "time_criticality", "risk_reduction", "effort"),
                "rice": ("reach", "business_impact", "confidence", "effort_hours")}


class ServiceLike(Protocol):
    id: str
    name: str


def _norm(header: object) -> str:
    """Header text as matched: case, units in brackets and punctuation do not matter."""
    text = re.sub(r"\(.*?\)", " ", str(header)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_HEADER_KEYS: dict[str, str] = {}
for _c in COLUMNS:
    _HEADER_KEYS[_norm(_c.header)] = _c.field
    _HEADER_KEYS.setdefault(_norm(_c.field.replace("_", " ")), _c.field)


def field_of_header(header: object) -> str | None:
    """The column a header names (case, units in brackets and punctuation aside), or None."""
    return None if header is None else _HEADER_KEYS.get(_norm(header))


def service_pairs(services: Iterable[ServiceLike | str]) -> list[tuple[str, str]]:
    pairs = []
    for s in services:
        sid = s if isinstance(s, str) else s.id
        name = s if isinstance(s, str) else s.name
        pairs.append((sid, name))
    return pairs
