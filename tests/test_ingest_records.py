"""Records of an export: repeated ids (identical or conflicting) and unmapped priority labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TICKETS_CSV, write_yaml

from csi_lib.ingest import ingest
from csi_lib.params import load_params

T1 = TICKETS_CSV.splitlines()[1]


def _with_rows(tiny: Path, rows: str, *, header: str | None = None) -> Path:
    head, *body = TICKETS_CSV.splitlines()
    text = "\n".join([header or head, *body]) + "\n" + rows
    write_yaml(tiny.parent / "tickets.csv", text)
    return tiny


def _rules(result: object) -> dict[str, str]:
    return dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True))


def _issue(result: object, prefix: str) -> pd.Series:
    hits = result.issues.loc[result.issues["rule"].str.startswith(prefix)]
    assert len(hits) == 1, result.issues
    return hits.iloc[0]


def test_identical_copies_are_folded_and_counted(tiny: Path) -> None:
    result = ingest(load_params(_with_rows(tiny, f"{T1}\n{T1}\n")))
    assert list(result.tickets["ticket_id"]) == ["T1", "T2", "T3", "T4"]
    assert result.excluded.empty
    folded = _issue(result, "identical copy")
    assert (folded["action"], folded["rows"], folded["examples"], folded["column"]) == (
        "folded", 2, "6, 7", "id")
    # Nothing lost: the folded copies count among the export's rows.
    assert result.export_rows("tickets") == 6
    assert len(result.tickets) + len(result.excluded) == result.rows_read["tickets"] == 4


def test_conflicting_copies_are_excluded_naming_the_columns_that_differ(tiny: Path) -> None:
    stale = T1.replace("Closed", "Resolved").replace(",Net,1,", ",Net,1,")
    stale = stale.replace("2026-07-01 11:00", "2026-07-01 10:00")
    result = ingest(load_params(_with_rows(tiny, stale + "\n")))
    assert "T1" not in set(result.tickets["ticket_id"])
    assert _rules(result) == {"T1": "duplicate ticket id with conflicting copies (they differ "
                                     "in: resolved, state)"}
    assert sorted(result.excluded["source_row"]) == [2, 6]  # both copies, none picked
    hit = _issue(result, "duplicate ticket id")
    assert (hit["action"], hit["rows"], hit["examples"], hit["column"]) == (
        "excluded", 2, "2, 6", "id")
    assert "map the export's last-update time as updated_at under sources.tickets.columns" in (
        hit["fix"])
    assert len(result.tickets) + len(result.excluded) == result.rows_read["tickets"] == 5


def test_with_an_update_column_the_latest_copy_is_kept(tiny: Path) -> None:
    header = TICKETS_CSV.splitlines()[0] + ",updated"
    _head, *body = TICKETS_CSV.splitlines()
    rows = [f"{line},2026-07-0{i} 12:00" for i, line in enumerate(body, start=1)]
    newer = body[0].replace("In Progress", "x").replace(",Closed,", ",Resolved,") + (
        ",2026-07-09 08:00")
    older_tie = body[1] + ",2026-07-02 12:00"  # T2 repeated with the same values
    text = "\n".join([header, *rows, newer, older_tie]) + "\n"
    write_yaml(tiny.parent / "tickets.csv", text)
    write_yaml(tiny, tiny.read_text().replace("caller: caller}", "caller: caller,\n"
                                              "              updated_at: updated}"))
    result = ingest(load_params(tiny))
    t = result.tickets.set_index("ticket_id")
    assert t.loc["T1", "state"] == "Resolved"  # from line 6, updated last
    assert t.loc["T1", "source_row"] == 6
    assert result.excluded.empty
    older = _issue(result, "older copy of a repeated id")
    assert older["rule"] == ("older copy of a repeated id (copies differ in: state): the most "
                             "recently updated copy kept")
    assert (older["action"], older["rows"], older["examples"], older["column"]) == (
        "folded", 1, "2", "updated")
    assert _issue(result, "identical copy")["examples"] == "7"
    assert result.export_rows("tickets") == 6


def test_copies_updated_at_the_same_time_are_not_picked(tiny: Path) -> None:
    header = TICKETS_CSV.splitlines()[0] + ",updated"
    _head, *body = TICKETS_CSV.splitlines()
    rows = [f"{line},2026-07-05 12:00" for line in body]
    twin = body[0].replace(",Closed,", ",Resolved,") + ",2026-07-05 12:00"
    write_yaml(tiny.parent / "tickets.csv", "\n".join([header, *rows, twin]) + "\n")
    write_yaml(tiny, tiny.read_text().replace("caller: caller}", "caller: caller,\n"
                                              "              updated_at: updated}"))
    result = ingest(load_params(tiny))
    assert _rules(result) == {"T1": "duplicate ticket id with conflicting copies (they differ "
                                     "in: state)"}
    assert len(result.excluded) == 2


def test_conflicting_change_copies_are_excluded_too(tiny: Path) -> None:
    write_yaml(tiny.parent / "changes.csv",
               "id,type,end,outcome,group\nC1,Normal,2026-07-01 10:00,successful,Net\n"
               "C1,Normal,2026-07-01 10:00,failed,Net\nC2,Normal,2026-07-02 10:00,failed,Net\n"
               "C2,Normal,2026-07-02 10:00,failed,Net\n")
    write_yaml(tiny, tiny.read_text().replace("services:", """\
  changes:
    path: changes.csv
    date_format: "%Y-%m-%d %H:%M"
    columns: {change_id: id, change_type: type, actual_end: end, outcome: outcome,
              assignment_group: group}
services:""", 1))
    result = ingest(load_params(tiny))
    assert list(result.changes["change_id"]) == ["C2"]
    changes = result.excluded.loc[result.excluded["table"] == "changes"]
    assert set(changes["rule"]) == {("duplicate change id with conflicting copies (they differ "
                                    "in: outcome)")}
    assert list(changes["source_row"]) == [2, 3]


# --- priority labels -----------------------------------------------------------------------


def test_unmapped_priority_labels_are_listed_with_counts_and_the_yaml_to_add(tiny: Path) -> None:
    rows = ("T5,Incident,2026-07-05 09:00,,,New,4 - Low,Net,0,0,Dee\n"
            "T6,Incident,2026-07-05 09:00,,,New,4 - Low,Net,0,0,Dee\n"
            'T7,Incident,2026-07-05 09:00,,,New,"Urgent ""now""",Net,0,0,Dee\n'
            "T8,Incident,2026-07-05 09:00,,,New,,Net,0,0,Dee\n")
    result = ingest(load_params(_with_rows(tiny, rows)))
    hit = _issue(result, "priority label not mapped")
    assert hit["rule"] == ("priority label not mapped to P1..P5: '4 - Low' (2), "
                           "'Urgent \"now\"' (1), empty (1)")
    assert (hit["rows"], hit["examples"], hit["column"]) == (4, "6, 7, 8, 9", "prio")
    assert hit["fix"] == ('add to the params file, replacing each P? by the priority the label '
                          'means: sources.tickets.values.priority: {"4 - Low": P?, '
                          '"Urgent \\"now\\"": P?}; fill the empty priorities in the source tool')
    # Kept without a priority: they count in volume and leave only the SLA KPIs.
    assert _rules(result) == {}
    assert hit["action"] == "flagged"
    kept = result.tickets.set_index("ticket_id")["priority"]
    assert kept[["T5", "T6", "T7", "T8"]].isna().all()


def test_a_priority_without_an_sla_target_names_the_target_to_add(tiny: Path) -> None:
    text = tiny.read_text().replace('"3": P3}', '"3": P3, "4": P4}')
    write_yaml(tiny, text)
    result = ingest(load_params(_with_rows(tiny, "T5,Incident,2026-07-05 09:00,,,New,4,Net,0,0,D\n")))
    hit = _issue(result, "priority P4")
    assert hit["rule"] == "priority P4 has no SLA target (sla.targets has P1, P2, P3)"
    assert hit["fix"].startswith("add sla.targets.P4 (response and resolution)")
    assert hit["examples"] == "6"


@pytest.mark.parametrize("labels", [12])
def test_many_labels_are_summarised(tiny: Path, labels: int) -> None:
    rows = "".join(f"X{i},Incident,2026-07-05 09:00,,,New,L{i:02d},Net,0,0,D\n"
                   for i in range(labels))
    hit = _issue(ingest(load_params(_with_rows(tiny, rows))), "priority label not mapped")
    assert hit["rule"].endswith("'L09' (1), 2 more labels (2)")
    assert '"L11": P?' in hit["fix"]  # the YAML lists every label
