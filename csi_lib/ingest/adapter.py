"""What every source adapter returns, and the steps the column-map adapters share.

An adapter turns one export into canonical rows: text columns named as in
``CANONICAL_COLUMNS`` (times it derives itself may already be UTC timestamps),
plus ``source_row``, the export line each record comes from. It reports what it
folded, skipped or flagged on the way; typing, value maps, services and the
exclusion rules are then the same for every adapter (:mod:`.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csi_lib.errors import DataError
from csi_lib.ingest.arrow import arrow_text, may_need_trim
from csi_lib.ingest.reader import header, read_file, require_columns, title_row_hint
from csi_lib.ingest.rules import issue
from csi_lib.params import CANONICAL_COLUMNS, Source

__all__ = ["Adapted", "clean", "map_columns", "read_mapped", "value_maps"]


@dataclass(frozen=True)
class Adapted:
    """One export as canonical rows, and what the adapter did to get there."""

    frame: pd.DataFrame
    file: Path
    origins: dict[str, str]  # canonical column -> the export column (or rule) it came from
    export_rows: int  # data rows read from the export (every file, for a two-file source)
    issues: list[dict[str, object]] = field(default_factory=list)


def value_maps(source: Source) -> dict[str, dict[str, str]]:
    """The params' value maps (canonical column -> export label -> canonical value).

    An adapter's own labels (ServiceNow's "1 - Critical", Jira's "Highest") apply
    only to columns the params do not map, so a consultant's map always wins.
    """
    return source.values  # noqa: PD011 (a params field, not DataFrame.values)


def map_columns(table: str, source: Source, present: list[str],
                defaults: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Canonical column -> export column: the params map first, then the first default
    name the export has. A required column found in neither fails with the names tried."""
    mapping = dict(source.columns)
    require_columns(mapping.values(), present, source, f"sources.{table}.columns")
    for canon, names in defaults.items():
        if canon not in mapping:
            found = next((n for n in names if n in present), None)
            if found is not None:
                mapping[canon] = found
    missing = [c for c, req in CANONICAL_COLUMNS[table].items() if req and c not in mapping]
    if missing:
        tried = "; ".join(f"{c}: {' or '.join(map(repr, defaults.get(c, ()))) or 'no default'}"
                          for c in missing)
        raise DataError(
            f"{source.path} ({source.adapter} export) has no column for {missing}: looked "
            f"for {tried}. Its columns are: {', '.join(map(repr, present))}. Map them under "
            f"sources.{table}.columns in the params file."
            + title_row_hint(source, [defaults[c] for c in missing if defaults.get(c)])
        )
    return mapping


def _trimmed(values: pd.Series, marks: set[str]) -> tuple[pd.Series, np.ndarray | None]:
    """(the cells trimmed, empty and placeholder cells missing, as "string"; the placeholder
    mask, None without placeholders): Arrow's kernels where the column is Arrow text,
    pandas' otherwise, with the same result."""
    arr = arrow_text(values)
    if arr is None:
        text = values.str.strip()
        placeholder = text.isin(marks).to_numpy(dtype=bool) if marks else None
        if placeholder is not None and placeholder.any():
            text = text.mask(placeholder, "")
        return text.replace("", pd.NA).astype("string"), placeholder
    # Most columns have no cell to trim and no empty cell: each pass is then skipped.
    text = pc.utf8_trim_whitespace(arr) if may_need_trim(arr) else arr
    blank = pc.equal(pc.binary_length(text), 0)
    placeholder = None
    if marks:
        hit = pc.is_in(text, value_set=pa.array(sorted(marks), type=text.type))
        placeholder = hit.to_numpy(zero_copy_only=False)
        blank = pc.or_(blank, hit)
    out = pc.if_else(blank, pa.scalar(None, text.type), text) if pc.any(blank).as_py() else text
    return pd.Series(pd.arrays.ArrowStringArray(out), index=values.index, dtype="string"), \
        placeholder


def clean(raw: pd.DataFrame, mapping: dict[str, str], placeholders: tuple[str, ...],
          table: str, file: Path) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Canonical text columns: trimmed, with empty cells and placeholders as missing.

    Placeholders (ServiceNow's ``?``, Excel's ``#N/B``) are counted per column, so
    the report says how many cells were read as missing and why.
    """
    out, issues = {}, []
    marks = set(placeholders)
    for canon, src in mapping.items():
        out[canon], placeholder = _trimmed(raw[src], marks)
        if placeholder is not None and placeholder.any():
            found = sorted(set(raw[src][placeholder].str.strip().unique()))
            issues.append(issue(
                table, file, src, f"placeholder {', '.join(map(repr, found))} read as missing",
                "flagged", raw.loc[placeholder, "source_row"],
                "none needed; list placeholders under `missing` in the params file"))
    return pd.DataFrame(out, index=raw.index).assign(source_row=raw["source_row"]), issues


def read_mapped(table: str, source: Source, defaults: dict[str, tuple[str, ...]],
                placeholders: tuple[str, ...], *, extra: tuple[str, ...] = (),
                present: list[str] | None = None) -> tuple[pd.DataFrame, Adapted]:
    """Read the mapped columns (and those of ``extra`` the export has) of a column-map export.

    Returns the raw text frame (for adapter-specific columns such as version
    counters) and the cleaned canonical frame.
    """
    present = header(source) if present is None else present
    mapping = map_columns(table, source, present, defaults)
    extra = tuple(c for c in extra if c in present)
    raw = read_file(source, usecols=[*mapping.values(), *extra])
    frame, issues = clean(raw, mapping, (*placeholders, *source.missing), table, source.path)
    return raw, Adapted(frame=frame, file=source.path, origins=mapping,
                        export_rows=len(raw), issues=issues)
