from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TICKETS_CSV, write_yaml
from hypothesis import given
from hypothesis import strategies as st

from csi_lib.errors import DataError, ParamsError
from csi_lib.ingest import ADAPTERS, adapter, ingest, pseudonymise
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
    assert out[0] == out[2]
    assert out[0].startswith("p-")
    assert pd.isna(out[1])


def test_every_bad_row_is_excluded_with_its_reason_and_line(tiny: Path) -> None:
    result = ingest(load_params(_with_rows(tiny, BAD_ROWS)))
    reasons = dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True))
    assert reasons == {
        # Both copies of T1: they differ, and without an update time neither is picked.
        "T1": "duplicate ticket id with conflicting copies (they differ in:"
              " opened, responded, resolved, caller)",
        "T5": "resolved before opened",
        "T6": "not a date in the expected format",
        "T9": "matches no service",
        "T10": "negative count",
        "T11": "not a number",
    }
    # Nothing lost: kept + excluded = rows read.
    assert len(result.tickets) + len(result.excluded) == result.rows_read["tickets"] == 12
    # A field only some KPIs need is flagged, and the ticket kept (without its bad priority).
    flagged = result.issues.loc[result.issues["action"] == "flagged"].set_index("rule")
    assert flagged.loc["finished ticket without a resolution time", "examples"] == "9"
    assert flagged.loc["priority label not mapped to P1..P5: '9' (1)", "examples"] == "10"
    kept = result.tickets.set_index("ticket_id")
    assert pd.isna(kept.loc["T7", "resolved_at"]) and kept.loc["T7", "state"] == "Closed"
    assert pd.isna(kept.loc["T8", "priority"])
    assert list(result.excluded["record_id"]).count("T1") == 2
    issues = result.issues.set_index("rule")
    conflict = issues.loc[issues.index.str.startswith("duplicate ticket id")].iloc[0]
    assert (conflict["column"], conflict["rows"], conflict["examples"]) == ("id", 2, "2, 6")
    assert "updated_at under sources.tickets.columns" in conflict["fix"]
    issues = issues.drop(conflict.name)
    issues = issues.loc[issues["action"] == "excluded"]
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
    with pytest.raises(DataError, match=r"tickets\.csv does not exist"):
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


# --- shared pipeline: dates, placeholders, privacy, bookkeeping -----------------------


def _edit(tiny: Path, old: str, new: str) -> Path:
    text = tiny.read_text()
    assert old in text
    return write_yaml(tiny, text.replace(old, new, 1))


def test_a_list_of_date_formats_reads_each_cell_with_the_first_that_fits(tiny: Path) -> None:
    _with_rows(tiny, "T5,Incident,28/2/2026 1:16,,1/3/2026 09:05,Closed,2,Net,0,0,Dee\n"
                     "T6,Incident,29/2/2026 1:16,,1/3/2026 09:05,Closed,2,Net,0,0,Dee\n")
    _edit(tiny, 'date_format: "%Y-%m-%d %H:%M"', 'date_format: ["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]')
    result = ingest(load_params(tiny))
    t = result.tickets.set_index("ticket_id")
    assert t.loc["T5", "opened_at"] == pd.Timestamp("2026-02-28 01:16", tz="UTC")
    assert t.loc["T5", "resolved_at"] == pd.Timestamp("2026-03-01 09:05", tz="UTC")
    assert t.loc["T1", "opened_at"] == pd.Timestamp("2026-07-01 09:00", tz="UTC")
    # 29/2/2026 does not exist (2026 is no leap year): a bad date, not a silent guess.
    assert dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True)) == {
        "T6": "not a date in the expected format"}
    assert "%Y-%m-%d %H:%M, %d/%m/%Y %H:%M" in result.issues.loc[0, "fix"]


def test_without_a_date_format_slash_dates_follow_dayfirst(tiny: Path) -> None:
    _with_rows(tiny, "T5,Incident,2/3/2026 10:00,,4/3/2026 10:00,Closed,2,Net,0,0,Dee\n")
    _edit(tiny, '    date_format: "%Y-%m-%d %H:%M"\n', "    dayfirst: true\n")
    t = ingest(load_params(tiny)).tickets.set_index("ticket_id")
    assert t.loc["T5", "opened_at"] == pd.Timestamp("2026-03-02 10:00", tz="UTC")
    assert t.loc["T1", "opened_at"] == pd.Timestamp("2026-07-01 09:00", tz="UTC")  # ISO first
    _edit(tiny, "    dayfirst: true\n", "    dayfirst: false\n")
    t = ingest(load_params(tiny)).tickets.set_index("ticket_id")
    assert t.loc["T5", "opened_at"] == pd.Timestamp("2026-02-03 10:00", tz="UTC")


def test_placeholder_dates_are_excluded_as_implausible(tiny: Path) -> None:
    result = ingest(load_params(_with_rows(
        tiny, "T5,Incident,1900-01-01 00:00,,,New,2,Net,0,0,Dee\n")))
    assert dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True)) == {
        "T5": "date before 1970 or after 2200"}


def test_local_time_in_the_spring_gap_is_moved_forward_and_flagged(tiny: Path) -> None:
    _with_rows(tiny, "T5,Incident,2026-03-29 01:30,,2026-03-29 05:00,Closed,2,Net,0,0,Dee\n")
    result = ingest(load_params(_edit(tiny, "timezone: UTC", "timezone: Europe/London")))
    t = result.tickets.set_index("ticket_id")
    assert t.loc["T5", "opened_at"] == pd.Timestamp("2026-03-29 01:00", tz="UTC")  # 02:00 BST
    flagged = result.issues.set_index("rule").loc["local time in the daylight-saving gap"]
    assert (flagged["action"], flagged["rows"], flagged["examples"]) == ("flagged", 1, "6")


def test_placeholders_are_read_as_missing_and_counted(tiny: Path) -> None:
    _with_rows(tiny, "T5,Incident,2026-07-05 09:00,?,2026-07-05 10:00,Closed,2,Net,0,0,?\n")
    result = ingest(load_params(_edit(tiny, "    columns:", '    missing: ["?"]\n    columns:')))
    t = result.tickets.set_index("ticket_id")
    assert pd.isna(t.loc["T5", "responded_at"])
    assert pd.isna(t.loc["T5", "caller"])
    hits = result.issues.loc[result.issues["rule"] == "placeholder '?' read as missing"]
    assert sorted(hits["column"]) == ["caller", "responded"]
    assert set(hits["action"]) == {"flagged"}
    assert set(hits["examples"]) == {"6"}
    assert result.excluded.empty


def test_keep_personal_opts_a_column_out_of_pseudonymisation(tiny: Path) -> None:
    params = load_params(_edit(tiny, "    columns:", "    keep_personal: [caller]\n    columns:"))
    assert ingest(params, key=b"k").tickets["caller"][0] == "Ann Lee"


def test_keep_personal_accepts_only_personal_columns(tiny: Path) -> None:
    _edit(tiny, "    columns:", "    keep_personal: [priority]\n    columns:")
    with pytest.raises(ParamsError, match=r"keep_personal names \['priority'\].*caller"):
        load_params(tiny)


def test_value_maps_accept_numbers_as_labels(tiny: Path) -> None:
    params = load_params(_edit(tiny, '{"1": P1, "2": P2, "3": P3}', "{1: P1, 2: P2, 3: P3}"))
    assert list(ingest(params).tickets["priority"]) == ["P1", "P2", "P3", "P3"]


def test_unknown_adapter_lists_the_known_ones(tiny: Path) -> None:
    _edit(tiny, "    path: tickets.csv", "    path: tickets.csv\n    adapter: remedy")
    with pytest.raises(ParamsError, match="unknown adapter 'remedy': known adapters are "
                                          "generic, servicenow, jira, eventlog"):
        load_params(tiny)
    with pytest.raises(ParamsError, match="known adapters are generic, servicenow"):
        adapter("remedy")
    assert set(ADAPTERS) == {"generic", "servicenow", "jira", "eventlog"}


def test_generic_source_refuses_event_log_options(tiny: Path) -> None:
    _edit(tiny, "    columns:", "    events: {case: id, activity: a, timestamp: t, "
                                  "resolved: [Done]}\n    columns:")
    with pytest.raises(ParamsError, match="`events` is read by the eventlog adapter only"):
        load_params(tiny)


def test_records_and_export_rows_add_up(tiny: Path) -> None:
    result = ingest(load_params(_with_rows(tiny, BAD_ROWS)))
    assert result.export_rows("tickets") == 12 == result.rows_read["tickets"]
    assert len(result.tickets) + len(result.excluded) == 12
    assert set(result.issues["action"]) <= {"excluded", "flagged"}


@given(st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=8)), max_size=30),
       st.binary(min_size=1, max_size=16))
def test_pseudonymise_is_a_keyed_injective_map_that_keeps_missing(values: list, key: bytes
                                                                  ) -> None:
    series = pd.Series(values, dtype="string", index=range(10, 10 + len(values)))
    out = pseudonymise(series, key)
    assert list(out.index) == list(series.index)
    assert (out.isna() == series.isna()).all()
    tokens = pd.DataFrame({"value": series, "token": out}).dropna()
    assert (tokens.groupby("value")["token"].nunique() == 1).all()  # same person, same token
    assert tokens["token"].nunique() == tokens["value"].nunique()  # distinct people stay distinct
    assert tokens["token"].str.fullmatch(r"p-[0-9a-f]{12}").all()


def test_value_maps_refuse_yaml_booleans(tiny: Path) -> None:
    # An unquoted Yes is a boolean in YAML: it would never match the export's "Yes".
    _edit(tiny, "record_type: {Incident: incident, Request: request}",
          "record_type: {Incident: incident, Request: request, Yes: incident}")
    with pytest.raises(ParamsError, match=r"sources\.tickets\.values: a label reads as the "
                                          r"boolean True: .* quote it"):
        load_params(tiny)


def test_typed_excel_cells_read_as_the_text_a_csv_would_hold(tmp_path: Path) -> None:
    import datetime as dt

    from csi_lib.ingest.reader import XLSX_ENGINE

    frame = pd.DataFrame({"id": ["T1", "T2"],
                          "opened": [dt.datetime(2026, 7, 1, 9, 0), dt.datetime(2026, 7, 2, 9, 30, 15)],
                          "n": [1, 2.5], "prio": ["1 - Critical", ""]})
    frame.to_excel(tmp_path / "typed.xlsx", index=False)
    raw = pd.read_excel(tmp_path / "typed.xlsx", dtype=str, na_filter=False, engine=XLSX_ENGINE)
    assert raw.to_dict("records") == [
        {"id": "T1", "opened": "2026-07-01 09:00:00", "n": "1", "prio": "1 - Critical"},
        {"id": "T2", "opened": "2026-07-02 09:30:15", "n": "2.5", "prio": ""}]
