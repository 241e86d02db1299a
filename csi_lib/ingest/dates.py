"""Day-first or month-first: the order of a column's slash dates, proved by its values.

``03/04/2026`` is 3 April in Europe and 4 March in the United States, and an
export does not say which. Reading it the wrong way does not fail: days up to
12 come out with day and month swapped. So a column of slash dates is read in
the order its own values prove (a first field above 12 can only be a day, a
second field above 12 only a day too), and a column that proves neither order,
or both, is refused with the fix rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from csi_lib.errors import DataError

__all__ = ["Where", "slash_order"]

# day/month/year or month/day/year, the year with 2 or 4 digits, then a time or nothing.
SLASH = r"^\s*(\d{1,2})/(\d{1,2})/(?:\d{4}|\d{2})(?:[\sT]|$)"
EXAMPLES = 3


@dataclass(frozen=True)
class Where:
    """Where a column of dates comes from, for messages: file, export column, params key."""

    file: str
    column: str
    key: str  # the params section that takes the fix, e.g. "sources.tickets"
    lines: pd.Series | None = None  # export line of each cell, aligned with the text


def _examples(text: pd.Series, mask: pd.Series, where: Where) -> str:
    shown = text[mask].head(EXAMPLES)
    if where.lines is None:
        return ", ".join(repr(v) for v in shown)
    lines = where.lines.reindex(shown.index)
    return ", ".join(f"{v!r} (line {n})" for v, n in zip(shown, lines, strict=True))


def slash_order(text: pd.Series, where: Where) -> bool | None:
    """True when the slash dates of ``text`` are day-first, False when month-first.

    None when the column holds no slash dates (the order then does not matter).
    Raises :class:`DataError`, naming the file, the column, example cells and the
    fix (``dayfirst:`` or ``date_format:``), when the values prove neither order
    or both (a column mixing the two).
    """
    candidates = text[text.str.contains("/", regex=False, na=False)]
    parts = candidates.str.extract(SLASH)
    slash = parts[0].notna()
    if not slash.any():
        return None
    first = pd.to_numeric(parts.loc[slash, 0])
    second = pd.to_numeric(parts.loc[slash, 1])
    day_first, month_first = first > 12, second > 12
    dated = candidates[slash]
    fix_options = (f"set `dayfirst: true` (day/month/year) or `dayfirst: false` "
                   f"(month/day/year), or a `date_format:` such as \"%d/%m/%Y %H:%M\", under "
                   f"{where.key} in the params file")
    if day_first.any() and month_first.any():
        raise DataError(
            f"{where.file}, column {where.column!r} mixes day-first dates "
            f"({_examples(dated, day_first, where)}) and month-first dates "
            f"({_examples(dated, month_first, where)}): the order of the other "
            f"{int((~day_first & ~month_first).sum())} slash dates cannot be known. Export the "
            f"column in one format, or {fix_options} (cells in the other order are then "
            "excluded as not a date)."
        )
    if day_first.any():
        return True
    if month_first.any():
        return False
    raise DataError(
        f"{where.file}, column {where.column!r}: its {len(dated)} slash dates, such as "
        f"{_examples(candidates, slash, where)}, could be day-first or month-first (no field above "
        f"12 proves either). The kit does not guess: {fix_options}."
    )
