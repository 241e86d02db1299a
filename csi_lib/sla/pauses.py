"""Pauses: business time a ticket's clock stood still (for instance "awaiting user")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi_lib.errors import DataError
from csi_lib.sla.tickets import NAT, Tickets, instants

__all__ = ["PAUSE_COLUMNS", "pause_ns"]

PAUSE_COLUMNS = ("ticket_id", "pause_start", "pause_end")


def pause_ns(t: Tickets, keys: pd.Index, pauses: pd.DataFrame) -> np.ndarray:
    """Business nanoseconds paused per ticket: clipped to [start, end], overlaps merged."""
    missing = [c for c in PAUSE_COLUMNS if c not in pauses.columns]
    if missing:
        raise DataError(
            f"pauses table lacks column(s) {missing}; it needs {list(PAUSE_COLUMNS)} "
            f"(got {list(pauses.columns)})"
        )
    if not keys.is_unique:
        dupes = keys[keys.duplicated()].unique()[:5].tolist()
        raise DataError(f"ticket keys must be unique to match pauses; repeated: {dupes}")
    total = np.zeros(len(t.start), dtype=np.int64)
    pos = keys.get_indexer(pauses["ticket_id"])
    ps = instants(pauses["pause_start"], "pause_start")
    pe = instants(pauses["pause_end"], "pause_end")
    # Pauses of unknown or unmeasurable tickets, or without a start, measure nothing.
    keep = (pos >= 0) & (ps != NAT)
    keep[keep] = t.ok[pos[keep]]
    pos, ps, pe = pos[keep], ps[keep], pe[keep]
    # Clip to the ticket; a pause still open (no end) runs to the ticket's stop.
    ps = np.maximum(ps, t.start[pos])
    pe = np.where(pe == NAT, t.end[pos], np.minimum(pe, t.end[pos]))
    keep = ps < pe
    pos, ps, pe = pos[keep], ps[keep], pe[keep]
    if not pos.size:
        return total
    order = np.lexsort((ps, pos))
    pos, ps, pe = pos[order], ps[order], pe[order]
    # Merge overlaps so no paused second is subtracted twice: a pause opens a new
    # block unless it starts before an earlier pause of the same ticket ends.
    reach = pd.Series(pe).groupby(pos).cummax().to_numpy()
    new_block = np.r_[True, (pos[1:] != pos[:-1]) | (ps[1:] > reach[:-1])]
    firsts = np.flatnonzero(new_block)
    business = t.clock(np.maximum.reduceat(pe, firsts)) - t.clock(ps[firsts])
    sums = pd.Series(business).groupby(pos[firsts]).sum()
    total[sums.index.to_numpy()] = sums.to_numpy()
    return total
