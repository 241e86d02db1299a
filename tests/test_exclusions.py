"""Rows excluded at ingest, per service, against quality.max_excluded_share (issue 15, case 3)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import PARAMS_YAML, ROOT, TICKETS_CSV, write_yaml

from csi_lib.cli import main
from csi_lib.errors import DataError
from csi_lib.ingest import ingest
from csi_lib.pack.tables import read_tables
from csi_lib.params import load_params
from csi_lib.quality import (
    excluded_rows,
    exclusion_note,
    exclusion_table,
    over_limit,
    publishable,
    require_reportable,
)
from csi_lib.runner.core import _excluded_words

# net keeps T1, T2 and loses T5 (resolved before opened): 1 of 3 rows, over 5%.
# Six tickets of a group no service matches are out of scope, not lost.
BAD_NET = "T5,Incident,2026-07-06 09:00,,2026-07-06 08:00,Closed,2,Net,0,0,Time Traveller\n"
OTHER = "".join(f"X{i},Incident,2026-07-07 09:00,,,New,2,Facilities,0,0,Ann\n"
                for i in range(6))


def _client(tmp_path: Path, rows: str, extra: str = "") -> Path:
    write_yaml(tmp_path / "tickets.csv", TICKETS_CSV + rows)
    return write_yaml(tmp_path / "tiny.yaml", PARAMS_YAML + extra)


def test_excluded_rows_carry_the_service_they_would_have_counted_in(tmp_path: Path) -> None:
    result = ingest(load_params(_client(tmp_path, BAD_NET + OTHER)))
    ex = result.excluded.set_index("record_id")
    assert ex.loc["T5", "service"] == "net"
    assert ex.loc[[f"X{i}" for i in range(6)], "service"].isna().all()


def test_a_rule_over_the_limit_for_one_service_is_named_with_rows_and_fix(
        tmp_path: Path) -> None:
    params = load_params(_client(tmp_path, BAD_NET + OTHER))
    table = exclusion_table(ingest(params), params)
    net = table.loc[(table["service"] == "net")].iloc[0]
    assert (net["table"], net["rule"], net["rows"], net["base"], net["examples"]) == (
        "tickets", "resolved before opened", 1, 3, "6")
    assert net["share"] == pytest.approx(1 / 3)
    assert bool(net["over_limit"])
    # Client-wide: 1 of the 5 rows in scope (the six out-of-scope rows are not in the base).
    client = table.loc[(table["service"] == "all") & (table["scope"] == "in scope")].iloc[0]
    assert (client["rows"], client["base"]) == (1, 5)
    # Out of scope: counted and shown, 6 of 11 rows, never over the limit.
    away = table.loc[table["scope"] == "out of scope"].iloc[0]
    assert (away["rule"], away["rows"], away["base"], bool(away["over_limit"])) == (
        "matches no service", 6, 11, False)
    assert list(over_limit(table, "mail")["service"]) == ["all"]
    with pytest.raises(DataError) as err:
        require_reportable(ingest(params), params, params.period())
    message = str(err.value)
    assert (f"tickets, service net: 1 of 3 rows (33.3%) excluded for 'resolved before opened' "
            f"({tmp_path / 'tickets.csv'}, column resolved; rows 6). Fix: correct the "
            "timestamps in the source tool") in message
    assert "tickets, client-wide: 1 of 5 rows (20.0%)" in message
    assert "--accept-exclusions" in message and "quality.max_excluded_share" in message
    assert "matches no service" not in message


def test_out_of_scope_rows_alone_never_trip_the_limit(tmp_path: Path) -> None:
    params = load_params(_client(tmp_path, OTHER))
    table = require_reportable(ingest(params), params, params.period())
    assert over_limit(table).empty
    assert table["rows"].tolist() == [6]


def test_the_run_line_counts_lost_rows_apart_from_out_of_scope_ones(tmp_path: Path) -> None:
    tables = ingest(load_params(_client(tmp_path, BAD_NET + OTHER)))
    assert excluded_rows(tables.excluded) == (1, 6)
    assert _excluded_words(tables) == ("1 export rows excluded at ingest, 6 out of scope "
                                       "(matching no service reported on)")
    assert excluded_rows(tables.excluded.iloc[:0]) == (0, 0)


def test_the_limit_is_a_validated_param(tmp_path: Path) -> None:
    params = load_params(_client(tmp_path, BAD_NET, "quality: {max_excluded_share: 0.5}\n"))
    assert over_limit(exclusion_table(ingest(params), params)).empty
    write_yaml(tmp_path / "tiny.yaml", PARAMS_YAML + "quality: {max_excluded_share: 5}\n")
    with pytest.raises(Exception, match="max_excluded_share"):
        load_params(tmp_path / "tiny.yaml")


def test_check_stops_with_exit_2_unless_the_exclusions_are_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _client(tmp_path, BAD_NET + OTHER)
    args = ["check", "--params", str(path), "--outputs", str(tmp_path / "out")]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "service net: 1 of 3 rows (33.3%) excluded for 'resolved before opened'" in \
        captured.err
    assert "Traceback" not in captured.err
    assert main([*args, "--accept-exclusions"]) == 0
    out = capsys.readouterr().out
    # Every rule with its fix, out-of-scope rows counted apart, the acceptance stated.
    assert ("tickets, column resolved: resolved before opened: excluded 1 row(s) (e.g. lines 6)"
            "\n    fix: correct the timestamps in the source tool") in out
    assert "1 rows excluded, 6 out of scope" in out
    assert "out of scope: 6 tickets row(s) matches no service" in out
    assert "accepted (--accept-exclusions): 2 exclusion(s) over" in out


def test_the_first_page_note_names_each_accepted_exclusion(tmp_path: Path) -> None:
    params = load_params(_client(tmp_path, BAD_NET + OTHER))
    table = exclusion_table(ingest(params), params)
    note = exclusion_note(table, "net")
    assert note.startswith("**Exclusions over the 5% limit were accepted for this run**")
    assert "1 of 3 tickets rows (33.3%) of net for \u201cresolved before opened\u201d" in note
    assert "1 of 5 tickets rows (20.0%) client-wide" in note
    ok = load_params(_client(tmp_path, OTHER))
    assert exclusion_note(exclusion_table(ingest(ok), ok), "net") == ""


def test_the_pack_reads_the_published_exclusions(tmp_path: Path) -> None:
    params = load_params(_client(tmp_path, BAD_NET))
    folder = tmp_path / "published"
    (folder / "net").mkdir(parents=True)
    pd.DataFrame({"service": ["net"], "freq": ["Q"], "period": ["2026Q3"], "kpi": ["volume"],
                  "value": [2.0], "n": [2]}).to_csv(folder / "kpis.csv", index=False)
    pd.DataFrame(columns=["service", "kpi", "value", "target", "status", "trend", "previous",
                          "watermelon"]).to_csv(folder / "net" / "gaps.csv", index=False)
    assert read_tables(folder, params).exclusions is None
    exclusion_table(ingest(params), params).to_csv(folder / "exclusions.csv", index=False)
    note = exclusion_note(read_tables(folder, params).exclusions)
    assert "1 of 3 tickets rows (33.3%) of net" in note


def test_run_stops_before_any_report_when_exclusions_are_over_the_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _client(tmp_path, BAD_NET + OTHER)
    out = tmp_path / "out"
    code = main(["run", "--params", str(path), "--outputs", str(out),
                 "--notebooks-dir", str(ROOT / "notebooks"), "--notebook", "baseline",
                 "--jobs", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "service net: 1 of 3 rows (33.3%) excluded for 'resolved before opened'" in err
    assert "--accept-exclusions" in err
    assert not (out / "tiny" / "2026Q3").exists()  # nothing published


def test_the_published_table_names_each_export_by_its_file_name(tmp_path: Path) -> None:
    params = load_params(_client(tmp_path, BAD_NET))
    table = exclusion_table(ingest(params), params)
    assert set(table["file"]) == {str(tmp_path / "tickets.csv")}
    assert set(publishable(table)["file"]) == {"tickets.csv"}
