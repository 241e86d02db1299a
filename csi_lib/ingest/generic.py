"""The generic adapter: any one-row-per-record export, through the params column map."""

from __future__ import annotations

from csi_lib.ingest.adapter import Adapted, read_mapped
from csi_lib.params import Source

__all__ = ["adapt"]


def adapt(source: Source, table: str, tz: str) -> Adapted:  # noqa: ARG001 (one signature)
    """Rename the mapped columns to their canonical names; nothing is assumed."""
    _, adapted = read_mapped(table, source, {}, ())
    return adapted
