"""The benefit review report ("did we get there?") for one client and quarter.

One report per client: the register is the client's, and each initiative is
compared with the services it did not touch. ``prepare`` computes everything
once; the notebook's ``show_*`` calls (:mod:`.sections`) only display it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib.benefits.review import review
from csi_lib.errors import ParamsError
from csi_lib.periods import quarter_label
from csi_lib.register.demo import ensure_demo_register
from csi_lib.register.outcomes import BENEFIT_COLUMNS, BENEFITS_FILE
from csi_lib.register.reader import read_register

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["Benefits", "input_files", "prepare", "verdicts", "write_table"]


@dataclass(frozen=True)
class Benefits:
    """Everything the benefit review shows, computed once."""

    params: Params
    period: pd.Period
    register: pd.DataFrame     # the register as read (every row)
    table: pd.DataFrame        # one row per reviewed initiative (BENEFIT_COLUMNS)
    kpis: pd.DataFrame         # the period's KPI table (monthly rows are read)
    outputs: Path

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @property
    def first_quarter(self) -> str:
        return quarter_label(self.period - self.params.benefits.review_quarters + 1)

    @property
    def service_names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.params.services}

    @property
    def delivered(self) -> pd.DataFrame:
        """Every initiative delivered by the period end, latest first."""
        end = self.period.end_time
        rows = self.register.loc[(self.register["status"] == "delivered")
                                 & (self.register["delivered"] <= end)]
        return rows.sort_values(["delivered", "id"], ascending=[False, True])

    @property
    def pending(self) -> pd.DataFrame:
        """Delivered initiatives still waiting for their post-implementation review."""
        return self.delivered.loc[self.delivered["review_date"].isna()]

    @property
    def archive(self) -> pd.DataFrame:
        """Delivered initiatives whose review is recorded: outcome and residual risk."""
        return self.delivered.loc[self.delivered["review_date"].notna()]


def input_files(params: Params, period: str | None = None) -> list[Path]:  # noqa: ARG001
    """The register: the report's results change when it does (the exports key every job)."""
    path = params.prioritisation.register_file
    return [path] if path is not None else []


def _register(params: Params) -> pd.DataFrame:
    ensure_demo_register(params)
    settings = params.prioritisation
    if settings.register_file is None:
        raise ParamsError(
            f"{params.source_file} sets no prioritisation.register_file: the benefit review "
            "judges the register's delivered initiatives; point it at the client's register")
    return read_register(settings.register_file, params.services, settings.model)


def prepare(params_file: str | Path, period: str | None, outputs: str | Path) -> Benefits:
    """Read the register and the KPI table and review every initiative delivered in the
    last ``benefits.review_quarters`` quarters."""
    from csi_lib.data import load_kpis
    from csi_lib.params import load_params

    params = load_params(params_file)
    quarter = params.period(period)
    register = _register(params)
    kpis = load_kpis(params, quarter, outputs)
    table = review(register, kpis, [s.id for s in params.services], quarter, params.benefits)
    return Benefits(params=params, period=quarter, register=register, table=table, kpis=kpis,
                    outputs=Path(outputs))


def verdicts(params_file: str | Path, period: str | None, outputs: str | Path) -> pd.DataFrame:
    """The review's table alone (:data:`BENEFIT_COLUMNS`), for another report to show."""
    return prepare(params_file, period, outputs).table


def write_table(ctx: Benefits, report_dir: str | Path = "") -> Path:
    """Write ``benefits.csv`` beside the report (a run by hand: the client's scratch folder).

    Dates as ISO days, effects as fractions; written to a temporary file and renamed.
    """
    folder = Path(report_dir) if str(report_dir) else (
        ctx.outputs / ctx.params.client.id / "scratch" / ctx.label)
    folder.mkdir(parents=True, exist_ok=True)
    frame = ctx.table[BENEFIT_COLUMNS].copy()
    for col in ("delivered", "review_due", "review_date"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    path = folder / BENEFITS_FILE
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{BENEFITS_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False, lineterminator="\n", float_format="%.6g")
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
