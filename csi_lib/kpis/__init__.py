"""KPI computation: every catalogue KPI per service, per month and per quarter.

The result is one long table (service, freq, period, period_start, kpi, value,
n, ci_low, ci_high) so that reports, charts and the gap analysis read the same
numbers. All work is vectorised over tickets: records are placed in
(service, period) cells by binary search and aggregated with bincounts and a
sort of each cell's values per measured duration (:mod:`.table`); intervals are Wilson for rates and
a bootstrap drawn per cell for quantiles (:mod:`.stats`); the backlog and its
aging come from difference arrays over period ends (:mod:`.backlog`). Monthly
series are read with XmR control charts (:mod:`.spc`) and least-squares trend
lines (:mod:`.trend`).

As-of rule: a report for a quarter sees the data as it stood at the quarter's
end. Tickets opened later are ignored and resolutions after it count as open,
so a rerun next year gives the same figures for the same quarter.
"""

from csi_lib.kpis.backlog import AGING_COLUMNS, backlog_aging
from csi_lib.kpis.coverage import (
    NO_TICKETS,
    active_in_table,
    active_tickets,
    data_range,
    no_tickets_text,
    require_period_in_data,
)
from csi_lib.kpis.grid import as_of_view, period_bounds
from csi_lib.kpis.measures import ticket_measures
from csi_lib.kpis.table import CI_COLUMNS, KPI_COLUMNS, TABLE_COLUMNS, kpi_table

__all__ = [
    "AGING_COLUMNS",
    "CI_COLUMNS",
    "KPI_COLUMNS",
    "NO_TICKETS",
    "TABLE_COLUMNS",
    "active_in_table",
    "active_tickets",
    "as_of_view",
    "backlog_aging",
    "data_range",
    "kpi_table",
    "no_tickets_text",
    "period_bounds",
    "require_period_in_data",
    "ticket_measures",
]
