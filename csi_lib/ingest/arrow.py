"""Arrow's kernels on pandas text columns, where pandas' own take a detour.

pandas keeps export text in Arrow arrays, but some of its methods convert them
to Python objects first (``isin`` with another column lists every value). These
helpers call the Arrow kernel directly and give the same answer; for a column
that is not Arrow text they call pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_text", "isin_column", "may_need_trim"]


def arrow_text(values: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow strings behind a text column, or None for a column of Python objects."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa.chunked_array(pa.array(values.array))
    return None


def isin_column(values: pd.Series, candidates: pd.Series) -> np.ndarray:
    """``values.isin(candidates)`` as a boolean array (a missing value matches a missing one)."""
    arr, among = arrow_text(values), arrow_text(candidates)
    if arr is None or among is None or arr.type != among.type:
        return values.isin(candidates).to_numpy(dtype=bool)
    among = among.combine_chunks() if among.num_chunks else pa.array([], among.type)
    hit = pc.is_in(arr, value_set=among, skip_nulls=False)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def _chunk_may_need_trim(chunk: pa.Array) -> bool:
    offsets_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    _, offsets_buf, data_buf = chunk.buffers()
    if data_buf is None or len(chunk) == 0:
        return False
    offsets = np.frombuffer(offsets_buf, dtype=offsets_type, count=len(chunk) + 1,
                            offset=chunk.offset * np.dtype(offsets_type).itemsize)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    edges = np.concatenate([data[starts[filled]], data[ends[filled] - 1]])
    # Whitespace is an ASCII byte up to the space, or a character beyond ASCII (bytes >= 0x80).
    return bool(((edges <= 0x20) | (edges >= 0x7F)).any())


def may_need_trim(arr: pa.ChunkedArray) -> bool:
    """False when no string of ``arr`` can start or end with whitespace (so trimming is a no-op).

    Looks at the first and last byte of each string only; a byte that could belong to
    whitespace (ASCII control or space, or any non-ASCII byte) answers True.
    """
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return True
    return any(_chunk_may_need_trim(chunk) for chunk in arr.chunks)
