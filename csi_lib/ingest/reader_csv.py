"""CSV exports as text: encoding (byte-order marks, a named codec), delimiter, header row.

A CSV does not say how it is written. Windows tools export cp1252, Excel's
"Unicode text" is UTF-16, and a European Excel separates fields with
semicolons. The kit reads UTF-8 unless a byte-order mark or ``encoding:``
says otherwise, sniffs the delimiter from the first lines unless
``delimiter:`` names it, and when the bytes do not decode it says where and
what to set instead of failing with a codec error.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa

from csi_lib.errors import DataError
from csi_lib.params import ExportFile

__all__ = ["csv_header_rows", "read_csv_text"]

SAMPLE_BYTES = 1 << 16
DELIMITERS = ",;\t|"
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
ENCODING_FIX = ("set `encoding:` beside this file's `path:` in the params file: cp1252 for "
                "most Windows exports (latin-1 for older tools), utf-16 for Excel's "
                "\"Unicode text\"")


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")


def _head(path: Path) -> bytes:
    try:
        with _open(path) as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read {path}: {exc}. Export the file again.") from None


def encoding(spec: ExportFile, head: bytes | None = None) -> str:
    """The codec to read ``spec``'s file with: the params', a byte-order mark's, or UTF-8."""
    if spec.encoding is not None:
        return spec.encoding
    head = _head(spec.path) if head is None else head
    return next((name for bom, name in BOMS if head.startswith(bom)), "utf-8")


def _not_decodable(spec: ExportFile, enc: str) -> DataError:
    """The error for a file that is not ``enc`` text, naming the first bad byte's line."""
    with _open(spec.path) as fh:
        data = fh.read()
    try:
        data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        nul = b"\x00" in data[:SAMPLE_BYTES]
        hint = ("its bytes look like UTF-16 without a byte-order mark: set `encoding: utf-16-le` "
                "beside this file's `path:` in the params file") if nul else ENCODING_FIX
        return DataError(f"{spec.path} is not {enc} text: byte 0x{data[exc.start]:02x} on line "
                          f"{line} cannot be read; {hint}.")
    return DataError(f"{spec.path} cannot be read as {enc} text: {ENCODING_FIX}.")


def _sample_text(spec: ExportFile) -> tuple[str, str]:
    """(the first lines of the file as text, its encoding)."""
    head = _head(spec.path)
    enc = encoding(spec, head)
    if b"\x00" in head and not enc.lower().replace("-", "").startswith(("utf16", "utf32")):
        raise DataError(f"{spec.path} holds NUL bytes, as UTF-16 text does: set `encoding: "
                        "utf-16` (or utf-16-le) beside this file's `path:` in the params file.")
    text = head.decode(enc, errors="ignore" if len(head) == SAMPLE_BYTES else "strict")
    if len(head) == SAMPLE_BYTES:  # the last line may be cut
        text = text[:text.rfind("\n") + 1] or text
    return text, enc


def delimiter(spec: ExportFile, sample: str) -> str:
    """The params' delimiter, or the one sniffed from the lines from the header on."""
    if spec.delimiter is not None:
        return spec.delimiter
    lines = sample.splitlines()[spec.header_row - 1:spec.header_row + 19]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or too few lines to tell
        return ","


def csv_header_rows(spec: ExportFile, n: int) -> list[list[str]]:
    """The first ``n`` rows of the file as cells (no header interpretation)."""
    try:
        sample, _ = _sample_text(spec)
    except UnicodeDecodeError:
        raise _not_decodable(spec, encoding(spec)) from None
    sep = delimiter(spec, sample)
    rows = []
    for row in csv.reader(io.StringIO(sample), delimiter=sep):
        rows.append(row)
        if len(rows) == n:
            break
    return rows


def read_csv_text(spec: ExportFile, usecols: list[str] | None) -> pd.DataFrame:
    """The file's data rows as text columns (empty cells as "")."""
    try:
        sample, enc = _sample_text(spec)
    except UnicodeDecodeError:
        raise _not_decodable(spec, encoding(spec)) from None
    kwargs = {"dtype": str, "keep_default_na": False, "na_values": [], "encoding": enc,
              "usecols": usecols, "sep": delimiter(spec, sample),
              "skiprows": spec.header_row - 1}
    try:
        try:
            # Arrow's reader is multi-threaded, about 2.5x faster on a million rows.
            return pd.read_csv(spec.path, engine="pyarrow", **kwargs)
        except (ValueError, KeyError, pa.ArrowException):
            # The C reader copes with more irregular files and names the bad line.
            return pd.read_csv(spec.path, **kwargs)
    except UnicodeDecodeError:
        raise _not_decodable(spec, enc) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {spec.path}: {exc}. Export the file again.") from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"cannot read {spec.path} as CSV separated by {kwargs['sep']!r}: {exc}. Check "
            "that every row has as many fields as the header (a title row above it needs "
            "`header_row:`; another separator needs `delimiter:` beside the file's `path:` "
            "in the params file)."
        ) from None
