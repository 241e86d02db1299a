from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TICKETS_CSV, write_yaml

from csi_lib.errors import DataError
from csi_lib.ingest import ingest, pseudonymise
from csi_lib.params import load_params

BAD_ROWS = """\
T1,Incident,2026-07-05 09:00,,2026-07-05 10:00,Closed,1,Net,0,0,Dup Id
T5,Incident,2026-07-06 09:00,,2026-07-06 08:00,Closed,2,Net,0,0,Time Traveller
T6,Incident,06/07/2026 09:00,,,New,2,Net,0,0,Wrong Format
T7,Incident,2026-07-07 09:00,,,Closed,2,Net,0,0,No Resolution
T8,Incident,2026-07-07 09:00,,,New,9,Net,0,0,Odd Priority
T9,Incident,2026-07-07 09:00,,,New,2,Facilities,0,0,No Service
T10,Incident,2026-07-07 09:00,,,New,2,Net,-1,0,Negative
T11,Incident,2026-07-07 09:00,,,New,2,Net,x,0,Not Number
"""


def _with_rows(tiny: Path, rows: str) -> Path:
    write_yaml(tiny.parent / "tickets.csv", TICKETS_CSV + rows)
    return tiny


def test_canonical_tickets_are_utc_typed_and_mapped(tiny: Path) -> None:
    result = ingest(load_params(tiny), key=b"k")
    t = result.tickets
    assert list(t["ticket_id"]) == ["T1", "T2", "T3", "T4"]
    assert str(t["opened_at"].dtype) == "datetime64[ns, UTC]"
    assert t.loc[0, "opened_at"] == pd.Timestamp("2026-07-01 09:00", tz="UTC")
    assert list(t["priority"]) == ["P1", "P2", "P3", "P3"]
    assert list(t["record_type"]) == ["incident", "incident", "request", "incident"]
    assert list(t["service"]) == ["net", "net", "mail", "mail"]
    assert list(t["source_row"]) == [2, 3, 4, 5]
    assert t["reassignment_count"].dtype == "int64"
    assert result.issues.empty
    assert result.excluded.empty
    assert result.rows_read == {"tickets": 4}


def test_local_times_are_converted_to_utc(tiny: Path) -> None:
    text = tiny.read_text().replace("timezone: UTC", "timezone: Europe/London")
    t = ingest(load_params(write_yaml(tiny, text))).tickets
    # 09:00 in London in July is 08:00 UTC (BST).
    assert t.loc[0, "opened_at"] == pd.Timestamp("2026-07-01 08:00", tz="UTC")


def test_personal_fields_are_pseudonymised_with_a_key(tiny: Path) -> None:
    params = load_params(tiny)
    callers = ingest(params, key=b"secret").tickets["caller"]
    assert "Ann Lee" not in set(callers)
    assert callers[0] == callers[2]  # same person, same token
    assert callers[0] != callers[1]
    assert callers[0] != ingest(params, key=b"other").tickets["caller"][0]
    assert ingest(params, key=None).tickets["caller"][0] == "Ann Lee"


def test_pseudonymise_keeps_missing_values_missing() -> None:
    out = pseudonymise(pd.Series(["a", None, "a"], dtype="string"), b"k")
    assert out[0] == out[2] and out[0].startswith("p-") and pd.isna(out[1])


def test_every_bad_row_is_excluded_with_its_reason_and_line(tiny: Path) -> None:
    result = ingest(load_params(_with_rows(tiny, BAD_ROWS)))
    reasons = dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True))
    assert reasons == {
        "T1": "duplicate ticket id (first row kept)",
        "T5": "resolved before opened",
        "T6": "not a date in the expected format",
        "T7": "finished ticket without a resolution time",
        "T8": "priority not one of the SLA targets (P1, P2, P3)",
        "T9": "matches no service",
        "T10": "negative count",
        "T11": "not a number",
    }
    # Nothing lost: kept + excluded = rows read.
    assert len(result.tickets) + len(result.excluded) == result.rows_read["tickets"] == 12
    issues = result.issues.set_index("rule")
    assert issues.loc["duplicate ticket id (first row kept)", "column"] == "id"
    assert issues.loc["duplicate ticket id (first row kept)", "examples"] == "6"
    assert issues.loc["not a date in the expected format", "column"] == "opened"
    assert "date_format" in issues.loc["not a date in the expected format", "fix"]
    assert issues.loc["matches no service", "column"] == "group"
    assert (issues["rows"] == 1).all()
    assert set(issues["file"]) == {str(tiny.parent / "tickets.csv")}


def test_missing_column_suggests_the_closest(tiny: Path) -> None:
    write_yaml(tiny.parent / "tickets.csv", TICKETS_CSV.replace("opened,", "Opened_At,", 1))
    with pytest.raises(DataError, match=r"lacks column\(s\) 'opened'") as err:
        ingest(load_params(tiny))
    assert "Its columns are" in str(err.value)


def test_missing_file_names_the_path(tiny: Path) -> None:
    (tiny.parent / "tickets.csv").unlink()
    with pytest.raises(DataError, match="tickets.csv does not exist"):
        ingest(load_params(tiny))


def test_all_rows_excluded_is_an_error(tiny: Path) -> None:
    write_yaml(tiny.parent / "tickets.csv", TICKETS_CSV.replace(",Net,", ",Nope,").replace(
        ",Mail,", ",Nope,"))
    with pytest.raises(DataError, match="no usable tickets"):
        ingest(load_params(tiny))


def test_xlsx_export_reads_like_csv(tiny: Path) -> None:
    frame = pd.read_csv(tiny.parent / "tickets.csv", dtype=str, keep_default_na=False)
    frame.to_excel(tiny.parent / "tickets.xlsx", index=False)
    text = tiny.read_text().replace("path: tickets.csv", "path: tickets.xlsx")
    from_xlsx = ingest(load_params(write_yaml(tiny, text)), key=b"k").tickets
    write_yaml(tiny, text.replace("tickets.xlsx", "tickets.csv"))
    from_csv = ingest(load_params(tiny), key=b"k").tickets
    pd.testing.assert_frame_equal(from_xlsx, from_csv)
