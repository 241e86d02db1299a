"""Whether a client's data can be reported for a period at all, checked before any report runs.

``csi check`` and ``csi run`` call :func:`require_reportable` after ingest: a
period outside the data's date range is refused (exit 2) instead of producing
a quarter of empty reports, and so are exclusions over the client's limit
(:mod:`.exclusions`) unless the consultant accepts them.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.ingest import Ingested
from csi_lib.kpis import require_period_in_data
from csi_lib.params import Params
from csi_lib.quality.exclusions import require_exclusions_within_limit

__all__ = ["require_reportable"]


def require_reportable(tables: Ingested, params: Params, period: pd.Period | None, *,
                       accept_exclusions: bool = False) -> pd.DataFrame:
    """Raise DataError when ``period`` cannot be reported from ``tables``, or when a rule
    excluded more rows than ``quality.max_excluded_share`` and they were not accepted.

    Returns the exclusion table (:func:`~csi_lib.quality.exclusions.exclusion_table`).
    ``period`` None checks the exclusions only.
    """
    if period is not None:
        require_period_in_data(tables.tickets, params, period, str(params.sources.tickets.path))
    return require_exclusions_within_limit(tables, params, accept=accept_exclusions)
