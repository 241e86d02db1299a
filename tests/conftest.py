"""Shared fixtures: tiny params built in code, and the demo client's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


TICKETS_CSV = """\
id,type,opened,responded,resolved,state,prio,group,reassign,reopen,caller
T1,Incident,2026-07-01 09:00,2026-07-01 09:10,2026-07-01 11:00,Closed,1,Net,0,0,Ann Lee
T2,Incident,2026-07-02 09:00,2026-07-02 10:30,2026-07-04 09:00,Closed,2,Net,1,0,Bob Ray
T3,Request,2026-08-03 09:00,,2026-08-03 12:00,Resolved,3,Mail,0,1,Ann Lee
T4,Incident,2026-09-10 09:00,2026-09-10 09:05,,In Progress,3,Mail,0,0,Cy Fox
"""

PARAMS_YAML = """\
client: {id: tiny, name: Tiny Ltd}
reporting: {period: 2026Q3, timezone: UTC, history_quarters: 1}
sources:
  tickets:
    path: tickets.csv
    date_format: "%Y-%m-%d %H:%M"
    columns: {ticket_id: id, record_type: type, opened_at: opened, responded_at: responded,
              resolved_at: resolved, state: state, priority: prio, assignment_group: group,
              reassignment_count: reassign, reopen_count: reopen, caller: caller}
    values:
      record_type: {Incident: incident, Request: request}
      priority: {"1": P1, "2": P2, "3": P3}
services:
  - {id: net, name: Network, match: {assignment_group: [Net]}}
  - {id: mail, name: Mail, match: {assignment_group: [Mail]}}
sla:
  targets:
    P1: {response: 15min, resolution: 4h}
    P2: {response: 1h, resolution: 1d}
    P3: {response: 4h, resolution: 3d}
kpi_targets: {sla_resolution: 0.9}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A params file and a four-ticket export in a temporary folder."""
    write_yaml(tmp_path / "tickets.csv", TICKETS_CSV)
    return write_yaml(tmp_path / "tiny.yaml", PARAMS_YAML)
