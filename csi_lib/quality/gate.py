"""Whether a client's data can be reported for a period at all, checked before any report runs.

``csi check`` and ``csi run`` call :func:`require_reportable` after ingest: a
period outside the data's date range is refused (exit 2) instead of producing
a quarter of empty reports.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.ingest import Ingested
from csi_lib.kpis import require_period_in_data
from csi_lib.params import Params

__all__ = ["require_reportable"]


def require_reportable(tables: Ingested, params: Params, period: pd.Period) -> None:
    """Raise DataError when ``period`` cannot be reported from ``tables``."""
    require_period_in_data(tables.tickets, params, period, str(params.sources.tickets.path))
