"""Generate every demo table and write the exports atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from csi_lib.demo.changes import change_frame
from csi_lib.demo.clock import parse_month, timeline
from csi_lib.demo.tickets import ticket_frame
from csi_lib.errors import ParamsError


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically: a temp file in the same directory, then ``os.replace``."""
    data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates 0600; exports are ordinary shared files.
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)  # os.replace: atomic within one directory
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(
    seed: int, first_month: str, last_month: str, timezone: str
) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """All three tables and the numbers of the tickets broken on purpose."""
    first = parse_month(first_month, "first_month")
    last = parse_month(last_month, "last_month")
    if last < first:
        raise ParamsError(f"last_month {last_month} is before first_month {first_month}")
    tl = timeline(first, last, timezone)
    rng = np.random.default_rng(seed)
    tickets, surveys, bad = ticket_frame(rng, tl, timezone)
    changes = change_frame(rng, tl, timezone)
    return {"tickets": tickets, "changes": changes, "surveys": surveys}, bad


def write_demo_exports(
    out_dir: Path, *, seed: int, first_month: str, last_month: str, timezone: str = "Europe/London"
) -> dict[str, Path]:
    """Write tickets.csv, changes.csv, surveys.csv for the demo client into out_dir.

    Returns ``{"tickets": path, "changes": path, "surveys": path}``. ``first_month``/``last_month`` are ``YYYY-MM``; the export is dated
    ``EXPORT_LAG_DAYS`` after the end of ``last_month``, so a few rows fall after
    the last reporting month, as in a real export. Same arguments, same bytes.
    """
    out = Path(out_dir)
    tables, _ = generate(seed, first_month, last_month, timezone)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables.items():
        paths[name] = out / f"{name}.csv"
        write_csv(frame, paths[name])
    # Written last: present only once every export is.
    _stamp(out).write_text(_stamp_text(seed, first_month, last_month, timezone),
                           encoding="utf-8")
    return paths


# Bump when the generator writes other exports for the same arguments (a new column,
# another draw), so exports an older kit wrote are written again.
GENERATOR_VERSION = "demo-2"


def _stamp(out: Path) -> Path:
    return out / ".generator"


def _stamp_text(seed: int, first_month: str, last_month: str, timezone: str) -> str:
    return json.dumps({"version": GENERATOR_VERSION, "seed": seed, "first_month": first_month,
                       "last_month": last_month, "timezone": timezone}, sort_keys=True)


def demo_exports_current(out_dir: Path, *, seed: int, first_month: str, last_month: str,
                         timezone: str = "Europe/London") -> bool:
    """Whether ``out_dir`` holds exports this generator wrote with these arguments."""
    stamp = _stamp(Path(out_dir))
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == _stamp_text(
        seed, first_month, last_month, timezone)
