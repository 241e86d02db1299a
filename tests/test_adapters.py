"""Source adapters: ServiceNow, Jira Service Management and event logs.

Tiny exports are built inline; the tests on the real logs in ../shared/data
(marked shared_data) recompute the figures with plain pandas, independently of
the adapters, and skip when that folder is absent.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SHARED_DATA, write_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from csi_lib.errors import DataError, ParamsError
from csi_lib.ingest import ingest
from csi_lib.ingest.jira import rating, sla_met
from csi_lib.ingest.servicenow import priority_label
from csi_lib.kpis import kpi_table
from csi_lib.params import load_params
from csi_lib.runner import run_client

HOUR = pd.Timedelta(hours=1)


def _client(folder: Path, sources: str, services: str, targets: str, *,
            period: str = "2016Q1", tz: str = "UTC") -> Path:
    return write_yaml(folder / "client.yaml", f"""\
client: {{id: t, name: Test Ltd}}
reporting: {{period: {period}, timezone: {tz}, history_quarters: 1}}
sources:
{sources}
services:
{services}
sla:
  targets:
{targets}
""")


def _issue(result: object, rule: str) -> pd.Series:
    issues = result.issues.set_index("rule")
    assert rule in issues.index, list(issues.index)
    return issues.loc[rule]


# --- ServiceNow ---------------------------------------------------------------------

SN_AUDIT = """\
number,incident_state,reassignment_count,reopen_count,sys_mod_count,made_sla,caller_id,opened_at,sys_updated_at,contact_type,category,impact,urgency,priority,assignment_group,assigned_to,knowledge,resolved_at,closed_at
INC0000045,New,0,0,0,true,Caller 2403,29/2/2016 01:16,29/2/2016 01:23,Phone,Category 55,2 - Medium,2 - Medium,3 - Moderate,Group 56,?,true,?,?
INC0000045,Resolved,1,0,2,true,Caller 2403,29/2/2016 01:16,29/2/2016 11:29,Phone,Category 55,2 - Medium,2 - Medium,3 - Moderate,Group 70,Resolver 89,true,29/2/2016 11:29,?
INC0000045,Active,1,0,1,true,Caller 2403,29/2/2016 01:16,29/2/2016 04:57,Phone,Category 55,2 - Medium,2 - Medium,3 - Moderate,Group 70,Resolver 89,true,?,?
INC0000047,Active,0,0,1,false,Caller 2403,1/3/2016 9:00,1/3/2016 9:30,Email,Category 40,1 - High,1 - High,1 - Critical,Group 56,Resolver 3,false,?,?
INC0000047,Awaiting User Info,0,0,1,false,Caller 2403,1/3/2016 9:00,1/3/2016 10:00,Email,Category 40,1 - High,1 - High,1 - Critical,Group 56,Resolver 3,false,?,?
INC0000050,Closed,0,1,4,true,Caller 17,2/3/2016 14:05,9/3/2016 8:00,Self service,Category 9,3 - Low,3 - Low,4 - Low,Group 70,Resolver 3,false,3/3/2016 10:00,9/3/2016 8:00
RITM0010001,Closed,0,0,3,true,Caller 5,3/3/2016 8:00,3/3/2016 12:00,Self service,Category 9,3 - Low,3 - Low,4 - Low,Group 56,Resolver 3,false,3/3/2016 11:00,3/3/2016 12:00
"""
SN_SERVICES = """\
  - {id: g56, name: Group 56, match: {assignment_group: [Group 56]}}
  - {id: g70, name: Group 70, match: {assignment_group: [Group 70]}}"""
SN_TARGETS = """\
    P1: {resolution: 4h}
    P3: {resolution: 3d}
    P4: {resolution: 5d}"""


def _servicenow(tmp_path: Path, csv: str = SN_AUDIT, extra: str = "",
                date_format: str | None = "%d/%m/%Y %H:%M") -> Path:
    write_yaml(tmp_path / "incidents.csv", csv)
    fmt = "" if date_format is None else f'    date_format: "{date_format}"\n'
    return _client(tmp_path, f"""\
  tickets:
    path: incidents.csv
    adapter: servicenow
{fmt}{extra}""", SN_SERVICES, SN_TARGETS)


def test_servicenow_audit_rows_fold_to_the_latest_version(tmp_path: Path) -> None:
    result = ingest(load_params(_servicenow(tmp_path)), key=b"k")
    # Independently: the latest row per number by sys_mod_count, then sys_updated_at.
    raw = pd.read_csv(tmp_path / "incidents.csv", dtype=str).assign(line=lambda d: d.index + 2)
    raw["mod"] = raw["sys_mod_count"].astype(int)
    raw["upd"] = pd.to_datetime(raw["sys_updated_at"], format="%d/%m/%Y %H:%M")
    latest = raw.sort_values(["mod", "upd"]).groupby("number").tail(1).set_index("number")
    t = result.tickets.set_index("ticket_id")
    assert sorted(t.index) == sorted(latest.index)
    assert t["source_row"].to_dict() == latest["line"].to_dict()
    assert t.loc["INC0000045", "state"] == "Resolved"
    assert t.loc["INC0000047", "state"] == "Awaiting User Info"  # same count: later update wins
    assert t.loc["INC0000045", "assignment_group"] == "Group 70"
    assert t.loc["INC0000045", "reassignment_count"] == 1
    folded = _issue(result, "several rows per record (audit export): folded into the latest "
                            "by sys_mod_count then sys_updated_at")
    assert (folded["action"], folded["column"], folded["rows"]) == ("folded", "number", 3)
    assert folded["examples"] == "2, 4, 5"
    assert result.rows_read["tickets"] == 4
    assert result.export_rows("tickets") == len(raw)


def test_servicenow_reads_day_first_dates_placeholders_and_labels(tmp_path: Path) -> None:
    result = ingest(load_params(_servicenow(tmp_path)), key=b"k")
    t = result.tickets.set_index("ticket_id")
    assert t.loc["INC0000045", "opened_at"] == pd.Timestamp("2016-02-29 01:16", tz="UTC")
    assert t.loc["INC0000047", "opened_at"] == pd.Timestamp("2016-03-01 09:00", tz="UTC")
    assert t.loc["INC0000045", "resolved_at"] == pd.Timestamp("2016-02-29 11:29", tz="UTC")
    assert pd.isna(t.loc["INC0000047", "resolved_at"])  # "?" is no date
    assert t["priority"].to_dict() == {"INC0000045": "P3", "INC0000047": "P1",
                                       "INC0000050": "P4", "RITM0010001": "P4"}
    assert t.loc["INC0000045", "impact"] == "2 - Medium"  # kept as exported
    assert t["record_type"].to_dict() == {"INC0000045": "incident", "INC0000047": "incident",
                                          "INC0000050": "incident", "RITM0010001": "request"}
    assert t.loc["INC0000050", "channel"] == "Self service"
    assert t.loc["INC0000050", "reopen_count"] == 1
    assert t.loc["INC0000045", "made_sla"] == "true"
    assert t["caller"].str.startswith("p-").all()
    assert t["assignee"].str.startswith("p-").all()
    raw = pd.read_csv(tmp_path / "incidents.csv", dtype=str)
    placeholders = result.issues.loc[result.issues["rule"] == "placeholder '?' read as missing"]
    assert placeholders.set_index("column")["rows"].to_dict() == {
        c: int((raw[c] == "?").sum()) for c in ("assigned_to", "resolved_at", "closed_at")}
    assert result.excluded.empty


def test_servicenow_labels_and_explicit_maps_win_over_defaults(tmp_path: Path) -> None:
    csv = ("Number,Opened,Resolved,Priority,Assignment group,u_prio\n"
           "INC1,2016-03-01 10:00:00,2016-03-01 11:00:00,3 - Moderate,Group 56,urgent\n")
    extra = "    columns: {priority: u_prio}\n    values: {priority: {urgent: P1}}\n"
    t = ingest(load_params(_servicenow(tmp_path, csv, extra, date_format=None))).tickets
    assert t.loc[0, "priority"] == "P1"
    assert t.loc[0, "opened_at"] == pd.Timestamp("2016-03-01 10:00", tz="UTC")


def test_servicenow_without_a_required_column_names_what_it_looked_for(tmp_path: Path) -> None:
    csv = "number,opened_at,priority,assignment_group\nINC1,2016-03-01 10:00:00,1,Group 56\n"
    with pytest.raises(DataError, match=r"no column for \['resolved_at'\]: looked for "
                                        r"resolved_at: 'resolved_at' or 'Resolved'"):
        ingest(load_params(_servicenow(tmp_path, csv)))


def test_servicenow_request_export_uses_closed_as_resolved_and_says_so(tmp_path: Path) -> None:
    csv = ("number,opened_at,closed_at,priority,assignment_group\n"
           "RITM1,2016-03-01 10:00:00,2016-03-02 10:00:00,4 - Low,Group 56\n"
           "RITM2,2016-03-01 11:00:00,,4 - Low,Group 56\n")
    result = ingest(load_params(_servicenow(tmp_path, csv, date_format=None)))
    t = result.tickets.set_index("ticket_id")
    assert t.loc["RITM1", "resolved_at"] == t.loc["RITM1", "closed_at"]
    flag = _issue(result, "no resolved_at column: closed_at used as resolved_at")
    assert (flag["action"], flag["rows"], flag["examples"]) == ("flagged", 1, "2")


CLOSED_NO_RESOLVED = ("number,opened_at,resolved_at,closed_at,incident_state,priority,"
                      "assignment_group\n"
                      "INC1,2016-03-01 10:00:00,,2016-03-02 10:00:00,Closed,1 - Critical,Group 56\n"
                      "INC2,2016-03-01 11:00:00,2016-03-01 12:00:00,2016-03-03 10:00:00,Closed,"
                      "1 - Critical,Group 56\n"
                      "INC3,2016-03-01 12:00:00,,,Closed,1 - Critical,Group 70\n")


def test_servicenow_closed_incident_takes_its_closed_time_as_resolution(tmp_path: Path) -> None:
    result = ingest(load_params(_servicenow(tmp_path, CLOSED_NO_RESOLVED, date_format=None)))
    t = result.tickets.set_index("ticket_id")
    assert t.loc["INC1", "resolved_at"] == pd.Timestamp("2016-03-02 10:00", tz="UTC")
    assert t.loc["INC2", "resolved_at"] == pd.Timestamp("2016-03-01 12:00", tz="UTC")
    assert t["resolved_from_closed"].to_dict() == {"INC1": True, "INC2": False, "INC3": False}
    flag = _issue(result, "closed without a resolved time: closed time taken as resolution time")
    assert (flag["action"], flag["column"], flag["rows"], flag["examples"]) == (
        "flagged", "resolved_at", 1, "2")
    assert "closed_as_resolved: false" in flag["fix"]
    # Closed with neither time: kept and flagged, never excluded.
    assert _issue(result, "finished ticket without a resolution time")["examples"] == "4"
    assert result.excluded.empty


def test_servicenow_closed_as_resolved_can_be_turned_off(tmp_path: Path) -> None:
    extra = "    servicenow: {closed_as_resolved: false}\n"
    result = ingest(load_params(_servicenow(tmp_path, CLOSED_NO_RESOLVED, extra,
                                            date_format=None)))
    t = result.tickets.set_index("ticket_id")
    assert pd.isna(t.loc["INC1", "resolved_at"])
    assert "resolved_from_closed" not in t
    assert _issue(result, "finished ticket without a resolution time")["examples"] == "2, 4"
    assert sorted(t.index) == ["INC1", "INC2", "INC3"]


def test_servicenow_change_requests(tmp_path: Path) -> None:
    write_yaml(tmp_path / "incidents.csv", SN_AUDIT)
    write_yaml(tmp_path / "changes.csv", """\
number,type,state,close_code,start_date,end_date,work_end,assignment_group
CHG1,Normal,Closed,Successful,2016-03-01 20:00:00,2016-03-01 22:00:00,2016-03-01 21:30:00,Group 56
CHG2,Emergency,Closed,Unsuccessful,2016-03-02 20:00:00,2016-03-02 22:00:00,2016-03-02 23:00:00,Group 70
CHG3,Standard,Closed,Successful with issues,2016-03-03 20:00:00,2016-03-03 22:00:00,2016-03-03 21:00:00,Group 70
CHG4,Normal,Implement,,2016-03-04 20:00:00,2016-03-04 22:00:00,,Group 56
""")
    path = _client(tmp_path, """\
  tickets: {path: incidents.csv, adapter: servicenow, date_format: "%d/%m/%Y %H:%M"}
  changes: {path: changes.csv, adapter: servicenow}""", SN_SERVICES, SN_TARGETS)
    c = ingest(load_params(path)).changes.set_index("change_id")
    assert c["outcome"].to_dict() == {"CHG1": "successful", "CHG2": "failed",
                                      "CHG3": "successful", "CHG4": pd.NA} or \
        c["outcome"].fillna("-").to_dict() == {"CHG1": "successful", "CHG2": "failed",
                                               "CHG3": "successful", "CHG4": "-"}
    assert c["change_type"].to_dict() == {"CHG1": "normal", "CHG2": "emergency",
                                          "CHG3": "standard", "CHG4": "normal"}
    assert c.loc["CHG2", "actual_end"] == pd.Timestamp("2016-03-02 23:00", tz="UTC")
    assert c.loc["CHG2", "planned_end"] == pd.Timestamp("2016-03-02 22:00", tz="UTC")
    assert c.loc["CHG1", "service"] == "g56"


def test_servicenow_reads_no_surveys(tmp_path: Path) -> None:
    write_yaml(tmp_path / "incidents.csv", SN_AUDIT)
    path = _client(tmp_path, """\
  tickets: {path: incidents.csv, adapter: servicenow}
  surveys: {path: incidents.csv, adapter: servicenow}""", SN_SERVICES, SN_TARGETS)
    with pytest.raises(ParamsError, match="adapter 'servicenow' does not read surveys; "
                                          "adapters that do: generic, jira"):
        load_params(path)


@pytest.mark.parametrize(("label", "expected"), [
    ("1 - Critical", "P1"), ("2 - High", "P2"), ("5", "P5"), ("3 -Moderate", "P3"),
    ("Planning", "Planning"), ("6 - Later", "6 - Later")])
def test_priority_label(label: str, expected: str) -> None:
    assert priority_label(pd.Series([label], dtype="string"))[0] == expected


# --- Jira Service Management ----------------------------------------------------------

JIRA_CSV = """\
Summary,Issue key,Issue id,Issue Type,Status,Priority,Assignee,Reporter,Created,Resolved,Custom field (Time to resolution),Custom field (Satisfaction rating),Custom field (Satisfaction date),Custom field (Request Type)
VPN drops,ITS-1,10001,[System] Incident,Resolved,High,Ann Agent,Bob User,12/Mar/24 10:15 AM,12/Mar/24 1:15 PM,2h 30m,5,13/Mar/24 9:00 AM,Network
Laptop,ITS-2,10002,[System] Service request,Closed,Medium,Ann Agent,Cy User,13/Mar/24 9:00 AM,15/Mar/24 5:30 PM,-1d 2h,2,16/Mar/24 8:00 AM,Hardware
Outage,ITS-3,10003,Problem,Open,Highest,,Bob User,14/Mar/24 8:00 AM,,,,,Network
Printer,ITS-4,10004,[System] Incident,In Progress,Low,Dee Agent,Eve User,15/Mar/24 11:00 AM,,-30m,,,Hardware
Access,ITS-5,10005,Service request,Resolved,Lowest,Dee Agent,Eve User,15/Mar/24 2:00 PM,15/Mar/24 3:00 PM,59m,4 stars,,Access
"""


def _jira(tmp_path: Path, surveys: bool = True) -> Path:
    write_yaml(tmp_path / "jira.csv", JIRA_CSV)
    sources = "  tickets: {path: jira.csv, adapter: jira}\n"
    if surveys:
        sources += "  surveys: {path: jira.csv, adapter: jira}\n"
    return _client(tmp_path, sources, """\
  - {id: network, name: Network, match: {category: [Network]}}
  - {id: desk, name: Desk, match: {category: [Hardware, Access]}}""", """\
    P1: {resolution: 4h}
    P2: {resolution: 8h}
    P3: {resolution: 1d}
    P4: {resolution: 3d}
    P5: {resolution: 5d}""", period="2024Q1")


def test_jira_tickets(tmp_path: Path) -> None:
    result = ingest(load_params(_jira(tmp_path, surveys=False)), key=b"k")
    t = result.tickets.set_index("ticket_id")
    assert list(t.index) == ["ITS-1", "ITS-2", "ITS-4", "ITS-5"]
    assert t.loc["ITS-1", "opened_at"] == pd.Timestamp("2024-03-12 10:15", tz="UTC")
    assert t.loc["ITS-2", "resolved_at"] == pd.Timestamp("2024-03-15 17:30", tz="UTC")
    assert t["priority"].to_dict() == {"ITS-1": "P2", "ITS-2": "P3", "ITS-4": "P4", "ITS-5": "P5"}
    assert t["record_type"].to_dict() == {"ITS-1": "incident", "ITS-2": "request",
                                          "ITS-4": "incident", "ITS-5": "request"}
    assert t["made_sla"].to_dict() == {"ITS-1": "true", "ITS-2": "false", "ITS-4": "false",
                                       "ITS-5": "true"}
    assert t.loc["ITS-5", "service"] == "desk"
    assert t["assignee"].str.startswith("p-").all()
    assert t["description"].str.startswith("p-").all()
    assert dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True)) == {
        "ITS-3": "record type is neither incident nor request"}


def test_jira_satisfaction_ratings_are_survey_answers(tmp_path: Path) -> None:
    result = ingest(load_params(_jira(tmp_path)))
    s = result.surveys.set_index("ticket_id")
    assert s["score"].to_dict() == {"ITS-1": 5, "ITS-2": 2}
    assert s.loc["ITS-2", "answered_at"] == pd.Timestamp("2024-03-16 08:00", tz="UTC")
    assert s.loc["ITS-2", "service"] == "desk"
    skipped = _issue(result, "issue without a satisfaction rating (not a survey answer)")
    assert (skipped["action"], skipped["rows"], skipped["examples"]) == ("skipped", 2, "4, 5")
    # ITS-5 is rated but its date is blank: excluded, not guessed.
    surveys_x = result.excluded.loc[result.excluded["table"] == "surveys"]
    assert dict(zip(surveys_x["record_id"], surveys_x["rule"], strict=True)) == {
        "ITS-5": "missing answer time"}
    assert result.export_rows("surveys") == 5


@pytest.mark.parametrize(("text", "expected"), [
    ("2h 30m", "true"), ("-2h 30m", "false"), ("-1d 2h", "false"), ("59m", "true"),
    ("1w 2d", "true"), ("-13:45", "false"), ("Breached", "false"), ("met", "true"),
    ("true", "true"), ("soon", None)])
def test_sla_met(text: str, expected: str | None) -> None:
    value = sla_met(pd.Series([text], dtype="string"))[0]
    assert (pd.isna(value) and expected is None) or value == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("4", "4"), ("4.0", "4"), ("5 stars", "5"), ("★★★☆☆", "3"), ("great", None)])
def test_rating(text: str, expected: str | None) -> None:
    value = rating(pd.Series([text], dtype="string"))[0]
    assert (pd.isna(value) and expected is None) or value == expected


# --- event logs ---------------------------------------------------------------------

EVENTS = """\
case,activity,time,team,who,impact,product
C1,Open,2026-07-01 09:00,L1,Ann,Low,ERP
C1,Assign,2026-07-01 09:05,L1,Ann,Low,ERP
C1,Work,2026-07-01 09:30,L2,Bob,High,ERP
C1,Resolve,2026-07-01 12:00,L2,Bob,High,ERP
C1,Reopen,2026-07-02 08:00,L2,Bob,High,ERP
C1,Resolve,2026-07-02 10:00,L2,Bob,High,ERP
C1,Close,2026-07-05 10:00,,Bob,High,ERP
C2,Work,2026-07-03 11:00,L1,Cy,Medium,Mail
C2,Resolve,2026-07-03 12:00,L1,Cy,Medium,Mail
C2,Resolve,2026-07-03 12:00,L1,Cy,Medium,Mail
C3,Open,2026-08-01 10:00,L1,Ann,Low,Mail
C3,Work,not a date,L1,Ann,Low,Mail
C3,Work,2026-08-01 09:00,L3,Dee,Low,Mail
,Work,2026-08-01 10:00,L1,Ann,Low,Mail
"""
EVENT_SOURCE = """\
  tickets:
    path: events.csv
    adapter: eventlog
    date_format: "%Y-%m-%d %H:%M"
    events:
      case: case
      activity: activity
      timestamp: time
      group: team
      resource: who
      opened: [Open]
      responded: [Work]
      resolved: [Resolve]
      closed: [Close]
{more}
    columns: {{priority: impact, cmdb_ci: product}}
    values: {{priority: {{Low: P4, Medium: P3, High: P2}}}}
"""
EVENT_SERVICES = """\
  - {id: erp, name: ERP, match: {cmdb_ci: [ERP]}}
  - {id: mail, name: Mail, match: {cmdb_ci: [Mail]}}"""
EVENT_TARGETS = """\
    P2: {resolution: 8h}
    P3: {resolution: 1d}
    P4: {resolution: 3d}"""


def _eventlog(folder: Path, more: str = "      reassignment: {changes_of: team}",
              csv: str = EVENTS) -> Path:
    write_yaml(folder / "events.csv", csv)
    return _client(folder, EVENT_SOURCE.format(more=more), EVENT_SERVICES, EVENT_TARGETS,
                   period="2026Q3")


def test_event_log_folds_each_case_into_one_ticket(tmp_path: Path) -> None:
    result = ingest(load_params(_eventlog(tmp_path)), key=b"k")
    t = result.tickets.set_index("ticket_id")
    ts = lambda s: pd.Timestamp(s, tz="UTC")
    assert list(t.index) == ["C1", "C2", "C3"]
    assert t["source_row"].to_dict() == {"C1": 2, "C2": 9, "C3": 14}  # first event (by time)
    assert t["opened_at"].to_dict() == {"C1": ts("2026-07-01 09:00"), "C2": ts("2026-07-03 11:00"),
                                        "C3": ts("2026-08-01 10:00")}
    assert t.loc["C1", "responded_at"] == ts("2026-07-01 09:30")
    assert pd.isna(t.loc["C3", "responded_at"])  # its only work came before opening
    assert t.loc["C1", "resolved_at"] == ts("2026-07-02 10:00")  # the last resolution
    assert t.loc["C1", "closed_at"] == ts("2026-07-05 10:00")
    assert pd.isna(t.loc["C3", "resolved_at"])  # still open
    assert t["reopen_count"].to_dict() == {"C1": 1, "C2": 0, "C3": 0}  # C2's repeat folded
    assert t["reassignment_count"].to_dict() == {"C1": 1, "C2": 0, "C3": 1}
    assert t["assignment_group"].to_dict() == {"C1": "L2", "C2": "L1", "C3": "L1"}
    assert t["priority"].to_dict() == {"C1": "P2", "C2": "P3", "C3": "P4"}  # last value
    assert t["service"].to_dict() == {"C1": "erp", "C2": "mail", "C3": "mail"}
    assert t.loc["C1", "state"] == "Close"
    assert t["assignee"].str.startswith("p-").all()
    rules = result.issues.set_index("rule")[["action", "rows", "examples"]]
    assert rules.to_dict("index") == {
        "event without a case id": {"action": "skipped", "rows": 1, "examples": "15"},
        "event time not a date in the expected format": {
            "action": "skipped", "rows": 1, "examples": "13"},
        "repeated event (same case, activity, time and attributes): kept once": {
            "action": "folded", "rows": 1, "examples": "11"},
        "case without an opening activity (Open): its first event taken as opened": {
            "action": "flagged", "rows": 1, "examples": "9"},
        "events folded into one ticket per case": {
            "action": "folded", "rows": 8, "examples": "3, 4, 5, 6, 7"},
    }
    assert result.rows_read["tickets"] == 3
    assert result.export_rows("tickets") == len(EVENTS.splitlines()) - 1


def test_event_log_reopens_default_to_repeated_resolutions(tmp_path: Path) -> None:
    csv = EVENTS.replace("C1,Reopen,2026-07-02 08:00", "C1,Comment,2026-07-02 08:00")
    t = ingest(load_params(_eventlog(tmp_path, csv=csv))).tickets.set_index("ticket_id")
    assert t["reopen_count"].to_dict() == {"C1": 1, "C2": 0, "C3": 0}
    more = "      reopened: [Reopen]\n      reassignment: {activities: [Assign, Work]}"
    t = ingest(load_params(_eventlog(tmp_path, more=more))).tickets.set_index("ticket_id")
    assert t["reopen_count"].to_dict() == {"C1": 1, "C2": 0, "C3": 0}
    assert t["reassignment_count"].to_dict() == {"C1": 2, "C2": 1, "C3": 1}
    more = "      reassignment: {activities: [Assign, Work], first_is_initial: true}"
    t = ingest(load_params(_eventlog(tmp_path, more=more))).tickets.set_index("ticket_id")
    assert t["reassignment_count"].to_dict() == {"C1": 1, "C2": 0, "C3": 0}


def test_event_log_attributes_can_come_from_the_first_event(tmp_path: Path) -> None:
    more = "      attributes: first"
    t = ingest(load_params(_eventlog(tmp_path, more=more))).tickets.set_index("ticket_id")
    assert t["priority"].to_dict() == {"C1": "P4", "C2": "P3", "C3": "P4"}
    assert t["assignment_group"].to_dict() == {"C1": "L1", "C2": "L1", "C3": "L3"}
    assert (t["reassignment_count"] == 0).all()  # no reassignment rule given


def test_event_log_case_table_overrides_attributes(tmp_path: Path) -> None:
    write_yaml(tmp_path / "cases.csv", "id,prio,opened\n"
                                       "C1,Medium,2026-07-01 08:00\n"
                                       "C2,High,2026-07-03 10:00\n"
                                       "C9,Low,2026-07-01 08:00\n"
                                       "C1,Low,2026-07-01 07:00\n")
    more = ("      cases:\n        path: cases.csv\n        case: id\n"
            "        columns: {priority: prio, opened_at: opened}")
    result = ingest(load_params(_eventlog(tmp_path, more=more)))
    t = result.tickets.set_index("ticket_id")
    assert t["priority"].to_dict() == {"C1": "P3", "C2": "P2"}
    assert t.loc["C1", "opened_at"] == pd.Timestamp("2026-07-01 08:00", tz="UTC")
    assert dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True)) == {
        "C3": "missing opened time"}
    assert _issue(result, "case in the case table has no events in the log")["examples"] == "4"
    assert _issue(result, "case listed more than once in the case table (first row kept)"
                  )["action"] == "folded"
    flagged = _issue(result, "case has no row in the case table (its attributes are missing)")
    assert flagged["examples"] == "14"
    assert result.export_rows("tickets") == 14 + 4


@pytest.mark.parametrize(("events", "message"), [
    ("{case: case, activity: activity, timestamp: time}", "events.resolved: list the activities"),
    ("{case: case, activity: a, timestamp: t, resolved: [R], reassignment: {}}",
     "give exactly one of `activities`"),
    (("{case: case, activity: a, timestamp: t, resolved: [R], reassignment: "
      "{changes_of: team, activities: [X]}}"), "give exactly one of `activities`"),
    (("{case: case, activity: a, timestamp: t, resolved: [R], reassignment: "
      "{changes_of: team, first_is_initial: true}}"),
     "`first_is_initial` only applies to `activities`"),
    ("{case: case, activity: a, timestamp: t, resolved: [R], attributes: middle}",
     "attributes"),
])
def test_bad_event_mappings_name_the_fix(tmp_path: Path, events: str, message: str) -> None:
    path = _client(tmp_path, f"  tickets: {{path: e.csv, adapter: eventlog, events: {events}}}",
                   EVENT_SERVICES, EVENT_TARGETS)
    with pytest.raises(ParamsError, match=message):
        load_params(path)


def test_event_log_needs_events_and_takes_no_ticket_id(tmp_path: Path) -> None:
    path = _client(tmp_path, "  tickets: {path: e.csv, adapter: eventlog}", EVENT_SERVICES,
                   EVENT_TARGETS)
    with pytest.raises(ParamsError, match="adapter eventlog needs an `events` mapping"):
        load_params(path)
    path = _client(tmp_path, "  tickets: {path: e.csv, adapter: eventlog, columns: {ticket_id: x},"
                             " events: {case: c, activity: a, timestamp: t, resolved: [R]}}",
                   EVENT_SERVICES, EVENT_TARGETS)
    with pytest.raises(ParamsError, match=r"ticket id is its case column \(events.case\)"):
        load_params(path)


def test_event_log_missing_column_is_named(tmp_path: Path) -> None:
    path = _eventlog(tmp_path, csv=EVENTS.replace("team", "teem", 1))
    with pytest.raises(DataError, match=r"lacks column\(s\) 'team' \(did you mean 'teem'\?\)"):
        ingest(load_params(path))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_event_order_in_the_file_does_not_change_the_tickets(rnd: random.Random) -> None:
    lines = EVENTS.splitlines()
    body = lines[1:]
    rnd.shuffle(body)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = ingest(load_params(_eventlog(folder)), key=b"k").tickets
        shuffled = ingest(load_params(_eventlog(folder, csv="\n".join([lines[0], *body]) + "\n")),
                          key=b"k").tickets
    cols = [c for c in base.columns if c != "source_row"]
    pd.testing.assert_frame_equal(
        base.sort_values("ticket_id")[cols].reset_index(drop=True),
        shuffled.sort_values("ticket_id")[cols].reset_index(drop=True))


# --- the real logs in ../shared/data ---------------------------------------------------

EXAMPLES = ROOT / "params" / "examples"


def _utc(naive: pd.Series, tz: str) -> pd.Series:
    """Wall-clock times as UTC: a repeated hour read as summer time, the spring gap
    moved forward (the kit's documented rule)."""
    return naive.dt.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool),
                                nonexistent="shift_forward").dt.tz_convert("UTC")


def _service_of(params: object, values: pd.Series) -> pd.Series:
    lookup = {v: s.id for s in params.services for v in s.match_values}
    return values.map(lookup)


def _check_kpis(params: object, period: str, kept: pd.DataFrame, tickets: pd.DataFrame) -> None:
    """The baseline's quarter figures against a plain-pandas recount of ``kept``
    (ticket_id, service, priority, opened, resolved in UTC)."""
    quarter = params.period(period)
    tz = params.reporting.timezone
    start = pd.Timestamp(quarter.start_time).tz_localize(tz).tz_convert("UTC")
    end = pd.Timestamp(quarter.end_time.normalize() + pd.Timedelta(days=1)).tz_localize(tz) \
        .tz_convert("UTC")
    target_h = kept["priority"].map({p: t.resolution / HOUR
                                     for p, t in params.sla.targets.items()})
    hours = (kept["resolved"] - kept["opened"]) / HOUR
    opened_in = kept["opened"].ge(start) & kept["opened"].lt(end)
    resolved_in = kept["resolved"].ge(start) & kept["resolved"].lt(end)
    expected = pd.DataFrame({
        "volume": opened_in.groupby(kept["service"]).sum(),
        "resolved": resolved_in.groupby(kept["service"]).sum(),
        "resolution_median_h": hours[resolved_in].groupby(kept["service"]).median(),
        "sla_resolution": (hours <= target_h)[resolved_in].groupby(kept["service"]).mean(),
    })
    table = kpi_table(tickets, pd.DataFrame({"change_id": pd.Series(dtype="string"),
                                             "service": pd.Series(dtype="string"),
                                             "outcome": pd.Series(dtype="string"),
                                             "actual_end": pd.Series(dtype="datetime64[ns, UTC]")}),
                      pd.DataFrame({"ticket_id": pd.Series(dtype="string"),
                                    "service": pd.Series(dtype="string"),
                                    "answered_at": pd.Series(dtype="datetime64[ns, UTC]"),
                                    "score": pd.Series(dtype="int64")}), params, quarter)
    got = table.loc[(table["freq"] == "Q") & (table["period"] == period)] \
        .pivot(index="service", columns="kpi", values="value")
    n = table.loc[(table["freq"] == "Q") & (table["period"] == period)] \
        .pivot(index="service", columns="kpi", values="n")
    assert expected["volume"].sum() > 100  # the quarter is inside the data
    for service, row in expected.iterrows():
        assert got.loc[service, "volume"] == row["volume"], service
        assert n.loc[service, "sla_resolution"] == row["resolved"], service
        assert got.loc[service, "resolution_median_h"] == pytest.approx(
            row["resolution_median_h"], nan_ok=True), service
        assert got.loc[service, "sla_resolution"] == pytest.approx(
            row["sla_resolution"], nan_ok=True), service


@pytest.mark.parametrize("name", ["bpic2014", "vinst", "helpdesk"])
def test_example_params_point_at_the_shared_data(name: str) -> None:
    # Paths are relative to the params file: params/examples/x.yaml -> ../../../shared/data.
    params = load_params(EXAMPLES / f"{name}.yaml")
    assert params.sources.tickets.adapter == "eventlog"
    assert all(path.is_relative_to(SHARED_DATA.resolve()) for path in params.sources.tickets.files)


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data (the real logs) is absent")
def test_bpic2014_incidents_and_activity_log() -> None:
    params = load_params(EXAMPLES / "bpic2014.yaml")
    result = ingest(params, key=b"k")
    folder = SHARED_DATA / "bpic2014_rabobank_subset"
    log = pd.read_csv(folder / "bpic14_incident_activity_4000.csv.gz", dtype=str,
                      keep_default_na=False)
    inc = pd.read_csv(folder / "bpic14_incidents_4000.csv", dtype=str,
                      keep_default_na=False).set_index("incident_id")
    tz = params.reporting.timezone
    log["t"] = _utc(pd.to_datetime(log["data_stamp"]), tz)
    first = log.groupby("incident_id")["t"].min()
    opened = log.loc[log["incident_activity_type"] == "Open"].groupby("incident_id")["t"].min()
    expected = pd.DataFrame({
        "opened": opened.reindex(first.index).fillna(first),
        "resolved": _utc(pd.to_datetime(inc["resolved_time"].replace("", None)), tz),
        "priority": "P" + inc["priority"],
        "service": _service_of(params, inc["ci_subtype_aff"]),
        "reassignments": (log["incident_activity_type"] == "Reassignment")
        .groupby(log["incident_id"]).sum(),
    }).rename_axis("ticket_id")
    no_resolution = expected["resolved"].isna()  # every incident is closed
    no_service = expected["service"].isna()
    assert (result.rows_read["tickets"], result.export_rows("tickets")) == (4000, 39911 + 4000)
    assert _issue(result, "finished ticket without a resolution time")["rows"] == \
        no_resolution.sum() == 155
    assert _issue(result, "matches no service")["rows"] == no_service.sum()
    # Closed without a resolution time: kept (flagged) for volume and backlog, left out of
    # the resolution KPIs only (the recount below counts them in volume, not in resolved).
    kept = expected.loc[~no_service & ~(expected["resolved"] < expected["opened"])]
    assert no_resolution[kept.index].sum() == 155 - no_resolution[no_service].sum() > 100
    t = result.tickets.set_index("ticket_id")
    assert sorted(t.index) == sorted(kept.index)
    assert (t["reassignment_count"] == kept["reassignments"].reindex(t.index)).all()
    assert (t["opened_at"] == kept["opened"].reindex(t.index)).all()
    _check_kpis(params, "2014Q1", kept.reset_index(), result.tickets)


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data (the real logs) is absent")
def test_vinst_event_log() -> None:
    params = load_params(EXAMPLES / "vinst.yaml")
    result = ingest(params, key=b"k")
    ev = params.sources.tickets.events
    log = pd.read_csv(SHARED_DATA / "bpic2013_volvo_vinst" / "VINST-new.csv.gz", dtype=str,
                      keep_default_na=False, encoding="utf-8-sig")
    log["t"] = pd.to_datetime(log["Change Date+Time"], utc=True)
    log = log.assign(line=np.arange(2, len(log) + 2)).sort_values(["SR Number", "t", "line"])
    by_case = log.groupby("SR Number")
    teams = log.loc[log["Involved ST"] != ""]
    previous = teams.groupby("SR Number")["Involved ST"].shift()
    expected = pd.DataFrame({
        "opened": by_case["t"].min(),
        "resolved": log.loc[log["Activity"].isin(ev.resolved)].groupby("SR Number")["t"].max(),
        "closed": log.loc[log["Activity"].isin(ev.closed)].groupby("SR Number")["t"].max(),
        "service": _service_of(params, by_case["Involved Org line 3"].last()),
        "priority": by_case["SR Latest Impact"].last().map(
            params.sources.tickets.values["priority"]),
        "reassignments": (previous.notna() & (teams["Involved ST"] != previous))
        .groupby(teams["SR Number"]).sum(),
    }).rename_axis("ticket_id")
    finished_unresolved = expected["closed"].notna() & expected["resolved"].isna()
    assert result.rows_read["tickets"] == log["SR Number"].nunique() == 7554
    kept = expected.loc[~finished_unresolved & expected["service"].notna()]
    t = result.tickets.set_index("ticket_id")
    assert sorted(t.index) == sorted(kept.index)
    assert (t["reassignment_count"] == kept["reassignments"].reindex(t.index)).all()
    assert (t["resolved_at"].isna() == kept["resolved"].reindex(t.index).isna()).all()
    _check_kpis(params, "2012Q2", kept.reset_index(), result.tickets)


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data (the real logs) is absent")
def test_helpdesk_event_log() -> None:
    params = load_params(EXAMPLES / "helpdesk.yaml")
    result = ingest(params, key=b"k")
    log = pd.read_csv(SHARED_DATA / "helpdesk_italian" / "finale.csv.gz", dtype=str,
                      keep_default_na=False)
    repeated = log.duplicated()
    log = log.loc[~repeated]
    log["t"] = _utc(pd.to_datetime(log["Complete Timestamp"], format="%Y/%m/%d %H:%M:%S.%f"),
                    params.reporting.timezone)
    log = log.sort_values(["Case ID", "t"], kind="stable")
    by_case = log.groupby("Case ID")
    count = lambda activity: (log["Activity"] == activity).groupby(log["Case ID"]).sum()
    expected = pd.DataFrame({
        "opened": by_case["t"].min(),
        "resolved": log.loc[log["Activity"] == "Resolve ticket"].groupby("Case ID")["t"].max(),
        "service": _service_of(params, by_case["product"].last()),
        "priority": "P3",
        "reopens": (count("Resolve ticket") - 1).clip(lower=0),
        "handovers": (count("Take in charge ticket") - 1).clip(lower=0),
    }).rename_axis("ticket_id")
    assert _issue(result, "repeated event (same case, activity, time and attributes): "
                          "kept once")["rows"] == repeated.sum() == 127
    assert result.rows_read["tickets"] == 4580
    assert result.excluded.empty
    t = result.tickets.set_index("ticket_id")
    assert (t["reopen_count"] == expected["reopens"].reindex(t.index)).all()
    assert (t["reassignment_count"] == expected["handovers"].reindex(t.index)).all()
    assert t["assignee"].str.startswith("p-").all()
    assert t["caller"].str.startswith("p-").all()
    _check_kpis(params, "2012Q2", expected.reset_index(), result.tickets)


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data (the real logs) is absent")
@pytest.mark.parametrize(("name", "period", "service"), [
    ("bpic2014", "2014Q1", "sap"), ("vinst", "2012Q2", "org-line-b"),
    ("helpdesk", "2012Q2", "product-2")])
def test_baseline_runs_on_each_real_log(tmp_path: Path, name: str, period: str,
                                        service: str) -> None:
    summary = run_client(EXAMPLES / f"{name}.yaml", period, outputs=tmp_path,
                         notebooks_dir=ROOT / "notebooks", notebooks=["baseline"],
                         services=[service], log=lambda _: None)
    assert not summary.failed, summary.text()
    pdf = summary.published / service / "baseline.pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert load_params(EXAMPLES / f"{name}.yaml").service(service).name in text
