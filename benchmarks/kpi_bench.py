"""Benchmark: ingest (CSV and XLSX) and the whole KPI catalogue on a million tickets.

Builds a synthetic client of 20 services over 8 quarters (1,000,000 tickets by
default, with changes and survey answers in proportion), writes its exports as
CSV and XLSX and a params file for the generic adapter, then times, each in a
fresh process so that its peak memory is its own:

  ingest-csv   `csi_lib.ingest.ingest` of the CSV exports
  ingest-xlsx  the same with the tickets export as XLSX
  kpis         `csi_lib.kpis.kpi_table` for the last quarter (every catalogue KPI,
               monthly and quarterly, with confidence intervals)

Each phase is reported beside a floor measured in the same process: reading the
file with no typing (`pandas.read_csv` with the pyarrow engine, `pandas.read_excel`
with the calamine engine the kit reads workbooks with) for ingest, and one plain
group-by (median resolution hours per service and month) for the KPIs, so the
figures travel between machines as ratios.

The XLSX is written without openpyxl's cell objects (rows streamed straight
into the sheet's XML with inline strings, the same file Excel would read), as
openpyxl needs minutes for a million rows. Parsing a sheet's XML is the cost of
reading XLSX (about 18 s for a million rows of 16 columns, with calamine), so
the XLSX holds the first 100,000 tickets by default and the table reports
rows/s; `--xlsx-rows 1000000` measures the full file (about two minutes).

Usage: python benchmarks/kpi_bench.py [--tickets 1000000] [--services 20]
       [--quarters 8] [--xlsx-rows N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import yaml

PERIOD = "2026Q4"
TIMEZONE = "Europe/London"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
PRIORITIES = np.array(["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"])
CHANNELS = np.array(["Phone", "Email", "Self-service", "Chat", "Walk-in"])
TICKET_COLUMNS = {
    "ticket_id": "Number", "record_type": "Type", "opened_at": "Opened",
    "responded_at": "First response", "resolved_at": "Resolved", "closed_at": "Closed",
    "state": "State", "priority": "Priority", "category": "Category",
    "channel": "Contact type", "assignment_group": "Assignment group",
    "reassignment_count": "Reassignment count", "reopen_count": "Reopen count",
    "caller": "Caller", "cmdb_ci": "Configuration item", "knowledge": "Knowledge",
}


# ---------------------------------------------------------------- synthetic exports


def _stamp(ns: np.ndarray) -> np.ndarray:
    """ISO text of UTC instants (empty where missing), without pandas' slow strftime."""
    text = np.datetime_as_string(ns.astype("datetime64[s]"), unit="s").astype(object)
    text[np.isnat(ns)] = ""
    return text


def tickets_frame(n: int, n_services: int, quarters: int, rng: np.random.Generator
                  ) -> pd.DataFrame:
    """``n`` tickets spread over ``quarters`` quarters ending with PERIOD."""
    last = pd.Period(PERIOD, freq="Q")
    start = (last - (quarters - 1)).start_time.tz_localize("UTC").value
    end = last.end_time.tz_localize("UTC").value
    svc = rng.integers(0, n_services, n)
    opened = np.sort(rng.integers(start, end, n)).astype("datetime64[ns]")
    prio = rng.choice(4, n, p=[0.03, 0.17, 0.5, 0.3])
    hour = np.timedelta64(3600 * 10**9, "ns")
    respond = (rng.exponential([0.2, 0.5, 2.0, 8.0], (n, 4))[np.arange(n), prio] * hour)
    resolve = (rng.lognormal(np.log([3, 8, 30, 60])[prio], 1.0) * hour).astype("timedelta64[ns]")
    responded = opened + respond.astype("timedelta64[ns]")
    resolved = opened + resolve
    still_open = resolved > np.datetime64(end, "ns")
    resolved[still_open] = np.datetime64("NaT")
    responded[rng.random(n) < 0.05] = np.datetime64("NaT")
    closed = resolved + np.timedelta64(3 * 24, "h")
    reassign = np.minimum(rng.poisson(0.6, n), 5)
    second_line = (reassign > 0) & (rng.random(n) < 0.6)
    groups = np.array([f"Service {i:02d} Desk" for i in range(n_services)]
                      + [f"Service {i:02d} L2" for i in range(n_services)])
    return pd.DataFrame({
        "Number": np.char.add("INC", np.char.zfill(np.arange(n).astype(str), 8)),
        "Type": np.where(rng.random(n) < 0.7, "Incident", "Request"),
        "Opened": _stamp(opened),
        "First response": _stamp(responded),
        "Resolved": _stamp(resolved),
        "Closed": _stamp(closed),
        "State": np.where(still_open, "In Progress", "Closed"),
        "Priority": PRIORITIES[prio],
        "Category": np.char.add("Cat ", (svc * 5 + rng.integers(0, 5, n)).astype(str)),
        "Contact type": CHANNELS[rng.choice(5, n, p=[0.3, 0.25, 0.3, 0.1, 0.05])],
        "Assignment group": groups[svc + n_services * second_line],
        "Reassignment count": reassign.astype(str),
        "Reopen count": (rng.random(n) < 0.05).astype(int).astype(str),
        "Caller": np.char.add("user", rng.zipf(1.3, n).clip(max=50_000).astype(str)),
        "Configuration item": np.char.add("ci-", (svc * 40 + rng.integers(0, 40, n)).astype(str)),
        "Knowledge": np.where(rng.random(n) < 0.3, "true", "false"),
    })


def changes_frame(n: int, n_services: int, quarters: int, rng: np.random.Generator
                  ) -> pd.DataFrame:
    last = pd.Period(PERIOD, freq="Q")
    start = (last - (quarters - 1)).start_time.tz_localize("UTC").value
    end = last.end_time.tz_localize("UTC").value
    done = rng.integers(start, end, n).astype("datetime64[ns]")
    return pd.DataFrame({
        "Number": np.char.add("CHG", np.char.zfill(np.arange(n).astype(str), 7)),
        "Type": np.array(["Standard", "Normal", "Emergency"])[rng.choice(3, n, p=[.5, .4, .1])],
        "Assignment group": np.array([f"Service {i:02d} Desk" for i in range(n_services)])[
            rng.integers(0, n_services, n)],
        "Actual end": _stamp(done),
        "Close code": np.array(["Successful", "Unsuccessful", "Backed out"])[
            rng.choice(3, n, p=[0.93, 0.04, 0.03])],
        "Caused incident": np.where(rng.random(n) < 0.05, "Yes", "No"),
    })


def surveys_frame(tickets: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    resolved = tickets.loc[tickets["Resolved"] != "", ["Number", "Resolved"]]
    answered = resolved.sample(frac=share, random_state=int(rng.integers(2**31)))
    return pd.DataFrame({"Ticket": answered["Number"].to_numpy(),
                         "Answered": answered["Resolved"].to_numpy(),
                         "Score": rng.choice(5, len(answered), p=[.05, .05, .15, .35, .4]) + 1})


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """An XLSX of text cells, streamed row by row into the sheet's XML (inline strings)."""
    cols = list(frame.columns)
    letters = [chr(ord("A") + i) for i in range(len(cols))]

    def row_xml(r: int, values: list[str]) -> str:
        cells = "".join(f'<c r="{letters[j]}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                        for j, v in enumerate(values) if v != "")
        return f'<row r="{r}">{cells}</row>'

    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Tickets" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                     b'2006/main"><sheetData>')
            fh.write(row_xml(1, cols).encode())
            values = frame.astype(str).to_numpy()
            for start in range(0, len(values), 20_000):
                chunk = values[start:start + 20_000]
                fh.write("".join(row_xml(start + i + 2, list(v))
                                 for i, v in enumerate(chunk)).encode())
            fh.write(b"</sheetData></worksheet>")


def build_client(folder: Path, n: int, n_services: int, quarters: int, xlsx_rows: int,
                 seed: int = 7) -> dict[str, Path]:
    """Write the exports and two params files (CSV and XLSX tickets) into ``folder``."""
    rng = np.random.default_rng(seed)
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    tickets = tickets_frame(n, n_services, quarters, rng)
    tickets.to_csv(exports / "tickets.csv", index=False)
    write_xlsx(tickets.head(xlsx_rows), exports / "tickets.xlsx")
    changes_frame(max(n // 25, 1), n_services, quarters, rng).to_csv(
        exports / "changes.csv", index=False)
    surveys_frame(tickets, 0.1, rng).to_csv(exports / "surveys.csv", index=False)
    services = [{"id": f"s{i:02d}", "name": f"Service {i:02d}",
                 "match": {"assignment_group": [f"Service {i:02d} Desk", f"Service {i:02d} L2"]}}
                for i in range(n_services)]
    base = {
        "client": {"id": "bench", "name": "Benchmark client"},
        "reporting": {"period": PERIOD, "timezone": TIMEZONE, "history_quarters": quarters - 1},
        "sources": {
            "tickets": {"path": str(exports / "tickets.csv"), "date_format": DATE_FORMAT,
                        "timezone": "UTC", "columns": TICKET_COLUMNS,
                        "values": {"record_type": {"Incident": "incident", "Request": "request"},
                                   "priority": {str(p): f"P{i}" for i, p in
                                                enumerate(PRIORITIES, start=1)}}},
            "changes": {"path": str(exports / "changes.csv"), "date_format": DATE_FORMAT,
                        "timezone": "UTC",
                        "columns": {"change_id": "Number", "change_type": "Type",
                                    "assignment_group": "Assignment group",
                                    "actual_end": "Actual end", "outcome": "Close code",
                                    "caused_incident": "Caused incident"},
                        "values": {"change_type": {"Standard": "standard", "Normal": "normal",
                                                   "Emergency": "emergency"},
                                   "outcome": {"Successful": "successful",
                                               "Unsuccessful": "failed",
                                               "Backed out": "backed_out"},
                                   "caused_incident": {"Yes": "true", "No": "false"}}},
            "surveys": {"path": str(exports / "surveys.csv"), "date_format": DATE_FORMAT,
                        "timezone": "UTC",
                        "columns": {"ticket_id": "Ticket", "answered_at": "Answered",
                                    "score": "Score"}},
        },
        "services": services,
        "sla": {"targets": {"P1": {"response": "15min", "resolution": "4h"},
                            "P2": {"response": "1h", "resolution": "8h"},
                            "P3": {"response": "4h", "resolution": "3d"},
                            "P4": {"response": "1d", "resolution": "5d"}}},
    }
    out = {"csv": folder / "bench-csv.yaml", "xlsx": folder / "bench-xlsx.yaml"}
    out["csv"].write_text(yaml.safe_dump(base, sort_keys=False))
    xlsx = json.loads(json.dumps(base))
    xlsx["sources"]["tickets"]["path"] = str(exports / "tickets.xlsx")
    out["xlsx"].write_text(yaml.safe_dump(xlsx, sort_keys=False))
    return out


# ---------------------------------------------------------------- phases (child processes)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    return time.perf_counter() - start, result


def phase(name: str, params_file: Path, work: Path) -> dict[str, float]:
    """Run one phase in this process; return its seconds, floor seconds and peak memory."""
    from csi_lib.params import load_params

    params = load_params(params_file)
    if name.startswith("ingest"):
        from csi_lib.ingest import ingest
        from csi_lib.ingest.reader import XLSX_ENGINE

        path = params.sources.tickets.path
        xlsx = path.suffix == ".xlsx"

        def floor_fn() -> pd.DataFrame:
            if xlsx:
                return pd.read_excel(path, dtype=str, na_filter=False, engine=XLSX_ENGINE)
            return pd.read_csv(path, dtype=str, engine="pyarrow", keep_default_na=False)

        # The CSV floor runs first and warms pandas and the page cache up for ingest. The
        # XLSX floor runs last: pandas' calamine reader holds a Python object per cell,
        # whose memory would count in ingest's peak (and stay with the process).
        if not xlsx:
            floor, raw = _timed(floor_fn)
            rows = len(raw)
            del raw
        seconds, tables = _timed(lambda: ingest(params))
        peak = _peak_mb()
        if name == "ingest-csv":  # the KPI phase starts from these tables, as the runner does
            for t in ("tickets", "changes", "surveys"):
                getattr(tables, t).to_parquet(work / f"{t}.parquet", index=False)
        if xlsx:
            del tables
            floor, raw = _timed(floor_fn)
            rows = len(raw)
        return {"seconds": seconds, "floor": floor, "rows": rows, "peak_mb": peak}
    from csi_lib.kpis import kpi_table

    t, c, s = (pd.read_parquet(work / f"{x}.parquet") for x in ("tickets", "changes", "surveys"))
    loaded = _peak_mb()
    tz = params.reporting.timezone

    def floor_fn() -> pd.Series:
        done = t.loc[t["resolved_at"].notna()]
        hours = (done["resolved_at"] - done["opened_at"]) / pd.Timedelta(hours=1)
        month = done["resolved_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.to_period("M")
        return hours.groupby([done["service"], month]).median()

    floor = min(_timed(floor_fn)[0] for _ in range(2))  # the first call warms pandas up
    seconds, table = _timed(lambda: kpi_table(t, c, s, params, params.period()))
    return {"seconds": seconds, "floor": floor, "rows": len(t), "kpi_rows": len(table),
            "peak_mb": _peak_mb(), "tables_mb": loaded}


def _child(*args: str) -> dict[str, float]:
    """Run ``args`` as a phase of this script in a fresh process (its own peak memory)."""
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--xlsx-rows", type=int, default=100_000,
                        help="tickets in the XLSX export (default 100,000: reading XLSX runs "
                             "more slowly than CSV, see the module doc)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the exports into DIR and keep them; an existing DIR "
                             "with exports is reused")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--params", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "build":
        start = time.perf_counter()
        build_client(args.work, args.tickets, args.services, args.quarters, args.xlsx_rows)
        print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}))
        return 0
    if args.phase:
        print(json.dumps(phase(args.phase, args.params, args.work)))
        return 0

    folder = args.keep or Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    try:
        if not (folder / "bench-csv.yaml").is_file():
            built = _child("--phase", "build", "--work", str(folder), "--tickets",
                           str(args.tickets), "--services", str(args.services), "--quarters",
                           str(args.quarters), "--xlsx-rows", str(args.xlsx_rows))
            print(f"exports: {args.tickets:,} tickets, {args.services} services, "
                  f"{args.quarters} quarters ({min(args.xlsx_rows, args.tickets):,} in the "
                  f"XLSX), written in {built['seconds']:.1f} s to {folder}")
        else:
            print(f"exports: reusing {folder}")
        results = {name: _child("--phase", name, "--params",
                                str(folder / f"bench-{'xlsx' if 'xlsx' in name else 'csv'}.yaml"),
                                "--work", str(folder))
                   for name in ("ingest-csv", "ingest-xlsx", "kpis")}
        print(f"{'phase':<12} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'floor s':>8} "
              f"{'x floor':>8} {'peak MB':>8}")
        for name, r in results.items():
            print(f"{name:<12} {r['rows']:>10,} {r['seconds']:>8.2f} "
                  f"{r['rows'] / r['seconds']:>10,.0f} {r['floor']:>8.2f} "
                  f"{r['seconds'] / r['floor']:>8.1f} {r['peak_mb']:>8,.0f}")
        k = results["kpis"]
        print(f"kpis: {k['kpi_rows']:,} KPI rows; peak {k['tables_mb']:,.0f} MB with the "
              f"canonical tables loaded, {k['peak_mb']:,.0f} MB after computing the KPIs")
        print("floor: ingest = reading the export as text (pandas.read_csv with pyarrow, "
              "pandas.read_excel with calamine); kpis = one group-by median per service and month")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
