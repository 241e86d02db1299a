"""The tables the reports publish for the quarterly pack, found or made for a run by hand.

The runner gives the pack the folder where the period's reports published their
tables. An analyst running ``pack.ipynb`` in JupyterLab has no such folder, or an
older one: :func:`tables_folder` takes the latest published revision of the period
when it has the tables, and otherwise writes them with the reports' own functions
(the same code the report notebooks call) into the client's scratch folder, never
into a published period.
"""

from __future__ import annotations

from pathlib import Path

from csi_lib import gaps, maturity, prioritise
from csi_lib.data import load_kpis, load_tables
from csi_lib.display import write_csv
from csi_lib.params import load_params
from csi_lib.periods import period_sort_key, quarter_label
from csi_lib.quality import exclusion_table, publishable

__all__ = ["latest_revision", "tables_folder", "write_tables"]


def latest_revision(client_dir: Path, label: str) -> Path | None:
    """The newest published revision of a period (``2026Q3-r10`` after ``-r9``)."""
    found = [p for p in client_dir.glob(f"{label}*") if p.is_dir()
             and (p.name == label or p.name.removeprefix(f"{label}-r").isdigit())]
    return max(found, key=lambda p: period_sort_key(p.name)) if found else None


def write_tables(params_file: str | Path, period: str | None, outputs: str | Path,
                 folder: str | Path) -> Path:
    """Write into ``folder`` what the reports would publish for the pack: ``kpis.csv``,
    ``exclusions.csv``,
    each service's ``gaps.csv`` and ``triggers.csv``, and the prioritisation's and
    maturity assessment's tables where those reports apply to the client."""
    params = load_params(params_file)
    quarter = params.period(period)
    folder = Path(folder)
    tables = load_tables(params, outputs)
    write_csv(load_kpis(params, quarter, outputs, tables), folder / "kpis.csv")
    write_csv(publishable(exclusion_table(tables, params)), folder / "exclusions.csv")
    for svc in params.services:
        gaps.write_triggers(gaps.prepare(params_file, period, svc.id, outputs), folder / svc.id)
    if params.prioritisation.register_file is not None:
        triggers = gaps.client_triggers(params_file, period, outputs)
        prioritise.write_backlog(prioritise.prepare(params_file, period, outputs, triggers),
                                 folder)
    if params.maturity.questionnaires is not None:
        maturity.write_results(maturity.prepare(params_file, period), folder)
    return folder


def tables_folder(params_file: str | Path, period: str | None, outputs: str | Path,
                  inputs_dir: str | Path = "") -> Path:
    """The folder the pack reads: ``inputs_dir`` when given (the runner's), else the
    latest published revision of the period if it holds the gap tables, else a scratch
    folder written now by :func:`write_tables`."""
    if str(inputs_dir):
        return Path(inputs_dir)
    params = load_params(params_file)
    label = quarter_label(params.period(period))
    client_dir = Path(outputs) / params.client.id
    latest = latest_revision(client_dir, label)
    if latest is not None and any(latest.glob("*/gaps.csv")):
        return latest
    return write_tables(params_file, period, outputs, client_dir / "scratch" / label / "pack")
