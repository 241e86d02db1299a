"""Load a client's canonical tables once, from a parquet cache keyed by input hashes.

The runner ingests each client once per run; every notebook then reads the
cache. The key covers the export files' bytes, the params' source and service
sections and the adapter version, so a changed export is never served stale.

A cluster worker gets the ingested tables, never the exports: its private
outputs folder holds the shipped cache and a ``pinned`` file naming its key, and
the tables are read under that key without looking for the exports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from csi_lib.errors import DataError
from csi_lib.ingest import ADAPTER_VERSION, Ingested, ingest
from csi_lib.params import Params
from csi_lib.version import code_version

__all__ = [
    "cache_key",
    "client_wide",
    "data_key",
    "ensure_demo_exports",
    "file_sha256",
    "kpis_path",
    "load_kpis",
    "load_tables",
    "pin_tables",
    "pseudonym_key",
    "tables_dir",
    "tables_token",
]

TABLES = ("tickets", "changes", "surveys", "issues", "excluded")
KEY_ENV = "CSI_PSEUDONYM_KEY"
PINNED = "pinned"
# What reading a damaged cache raises: a truncated or overwritten parquet file
# (ArrowInvalid is also a ValueError), an unreadable file, a damaged "done" record.
UNREADABLE = (pa.ArrowException, OSError, ValueError, KeyError, TypeError)
log = logging.getLogger(__name__)


def _discard(path: Path, exc: BaseException | None) -> None:
    """Remove a cache entry (file or folder); say why when it was damaged."""
    if exc is not None:
        reason = (str(exc).splitlines() or [""])[0]
        log.warning("cache %s could not be read (%s: %s): discarded and rebuilt from the "
                    "exports", path, type(exc).__name__, reason)
    # Rename first, so a reader never sees a half-deleted folder under the key.
    trash = path.with_name(f".discard-{path.name}-{secrets.token_hex(4)}")
    try:
        path.rename(trash)
    except FileNotFoundError:
        return
    if trash.is_dir():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Hashes of the exports for the cache keys, by what the file system says of each
# file: the same inode, size, modification and change times (the change time moves
# on any write and cannot be set back) mean the same bytes. Every report of a client
# works out its cache keys from the client's exports; a large export is read once
# per process. Publishing and `csi verify` always read the bytes (file_sha256).
_HASHED: dict[tuple[str, int, int, int, int], str] = {}


def _export_sha256(path: Path) -> str:
    st = Path(path).stat()
    seen = (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if seen not in _HASHED:
        if len(_HASHED) > 256:
            _HASHED.clear()
        _HASHED[seen] = file_sha256(path)
    return _HASHED[seen]


def _sources(params: Params) -> list:
    s = params.sources
    return [x for x in (s.tickets, s.changes, s.surveys) if x is not None]


def ensure_demo_exports(params: Params) -> None:
    """Write the demo client's exports if params ask for generated data and they are absent,
    or were written by another version of the generator or with other demo settings."""
    if params.demo is None:
        return
    # only the demo client needs the generator
    from csi_lib.demo import demo_exports_current, write_demo_exports

    paths = [src.path for src in _sources(params)]
    folders = {p.parent for p in paths}
    if len(folders) != 1:
        raise DataError("demo exports must share one folder: check sources paths in the params")
    folder = folders.pop()
    settings = {"seed": params.demo.seed, "first_month": params.demo.first_month,
                "last_month": params.demo.last_month, "timezone": params.reporting.timezone}
    if all(p.is_file() for p in paths) and demo_exports_current(folder, **settings):
        return
    written = write_demo_exports(folder, **settings)
    missing = [p for p in paths if p not in {Path(w).resolve() for w in written.values()}]
    if missing:
        raise DataError(f"the demo generator did not write {missing}: fix the demo params paths")


def pseudonym_key(params: Params, outputs: Path) -> bytes:
    """The client's secret for pseudonymising personal fields.

    ``CSI_PSEUDONYM_KEY`` wins; otherwise a random key is created once per client
    in its outputs folder (git-ignored), so names map to the same token every run.
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    path = Path(outputs) / params.client.id / ".pseudonym-key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _require_exports(params: Params) -> None:
    """Write the demo's exports if it needs them; refuse an export that is not there."""
    ensure_demo_exports(params)
    for src in _sources(params):
        for path in src.files:
            if not path.is_file():
                raise DataError(
                    f"export {path} does not exist: put the client's export there or fix "
                    f"its path in {params.source_file}"
                )


def cache_key(params: Params) -> str:
    """Hash of everything ingest depends on (the exports present, see above)."""
    _require_exports(params)
    parts = {
        "adapter": ADAPTER_VERSION,
        "sources": params.sources.model_dump(mode="json"),
        "services": [s.model_dump(mode="json") for s in params.services],
        "sla": params.sla.model_dump(mode="json"),
        "tz": params.reporting.timezone,
        "files": {str(f): _export_sha256(f) for src in _sources(params) for f in src.files},
        "key_env": bool(os.environ.get(KEY_ENV)),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


# A kernel kept between reports runs the reports of one client one after another,
# and each reads the same cached tables: they are read from disk once per kernel.
# Each caller gets its own shallow copies: pandas copies on write, so a report
# that changes a table changes its own copy only.
_LOADED: dict[str, Ingested] = {}
_TOKENS: dict[int, str] = {}


def _read_cached(folder: Path) -> Ingested:
    done = folder / "done"
    token = f"{folder.resolve()}@{done.stat().st_mtime_ns}"
    if token not in _LOADED:
        frames = {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}
        rows_read = json.loads(done.read_text())
        if not isinstance(rows_read, dict):
            raise TypeError("the done record holds no row counts")
        _LOADED.clear()           # one client's tables at a time: memory stays bounded
        _LOADED[token] = Ingested(**frames, rows_read=rows_read)
    base = _LOADED[token]
    tables = Ingested(**{t: getattr(base, t).copy(deep=False) for t in TABLES},
                      rows_read=dict(base.rows_read))
    _TOKENS[id(tables)] = token
    weakref.finalize(tables, _TOKENS.pop, id(tables), None)
    return tables


def tables_token(tables: Ingested) -> str | None:
    """What identifies ``tables`` read from the ingest cache (its folder and the time it
    was written), None for tables from elsewhere."""
    return _TOKENS.get(id(tables))


_SHARED: dict[tuple[str, ...], pd.DataFrame] = {}


def client_wide(tables: Ingested, key: tuple[str, ...],
                compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()``, a client-wide table every report of the client shows, computed
    once per kernel for tables read from the ingest cache (``key`` names the result
    and whatever else it depends on); each caller gets its own copy."""
    token = tables_token(tables)
    if token is None:
        return compute()
    full = (token, *key)
    if full not in _SHARED:
        if any(k[0] != token for k in _SHARED):
            _SHARED.clear()       # other tables now: their results will not be asked for
        _SHARED[full] = compute()
    return _SHARED[full].copy(deep=False)


def _pinned(params: Params, outputs: Path) -> str | None:
    path = Path(outputs) / params.client.id / ".cache" / PINNED
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def pin_tables(outputs: Path | str, client: str, key: str) -> Path:
    """Make ``key`` the client's tables in ``outputs``, whatever its exports (a worker's)."""
    path = Path(outputs) / client / ".cache" / PINNED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key, encoding="utf-8")
    return path


def data_key(params: Params, outputs: Path | str) -> str:
    """The key of the client's tables: the pinned one, else the hash of the inputs."""
    return _pinned(params, Path(outputs)) or cache_key(params)


def tables_dir(params: Params, outputs: Path | str) -> Path:
    """The folder of the client's cached tables (present once :func:`load_tables` ran)."""
    return Path(outputs) / params.client.id / ".cache" / data_key(params, outputs)


def load_tables(params: Params, outputs: Path | str, *, rebuild: bool = False) -> Ingested:
    """The client's canonical tables, from cache when the inputs are unchanged.

    A cache that cannot be read (a damaged parquet file) is discarded and rebuilt,
    with a warning on the ``csi_lib.data`` logger; ``rebuild`` (``csi run --force``)
    rebuilds it in any case. Pinned tables (a worker's) are never rebuilt.
    """
    outputs = Path(outputs)
    pinned = _pinned(params, outputs)
    if pinned is not None:
        folder = outputs / params.client.id / ".cache" / pinned
        try:
            return _read_cached(folder)
        except (*UNREADABLE, FileNotFoundError) as exc:
            raise DataError(f"the tables pinned in {folder.parent / PINNED} cannot be read from "
                            f"{folder} ({type(exc).__name__}): the run that shipped them must "
                            "ship the whole cache folder") from None
    folder = outputs / params.client.id / ".cache" / cache_key(params)
    if rebuild:
        _discard(folder, None)
    if (folder / "done").is_file():
        try:
            return _read_cached(folder)
        except UNREADABLE as exc:
            _discard(folder, exc)
    result = ingest(params, key=pseudonym_key(params, outputs))
    # Write beside the final folder, then rename: a crashed run leaves no half cache.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    try:
        for t in TABLES:
            getattr(result, t).to_parquet(tmp / f"{t}.parquet", index=False)
        (tmp / "done").write_text(json.dumps(result.rows_read))
        try:
            tmp.rename(folder)
        except OSError:  # another process published the same key first: same content
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def kpis_path(params: Params, period: pd.Period, outputs: Path | str) -> Path:
    """Where :func:`load_kpis` caches the KPI table of ``period``."""
    key = hashlib.sha256(json.dumps({
        "data": data_key(params, outputs), "period": str(period), "freq": period.freqstr,
        "reporting": params.reporting.model_dump(mode="json", exclude={"period"}),
        "services": [s.id for s in params.services], "code": code_version(),
    }, sort_keys=True).encode()).hexdigest()[:16]
    return Path(outputs) / params.client.id / ".cache" / "kpis" / f"{key}.parquet"


def load_kpis(params: Params, period: pd.Period, outputs: Path | str,
              tables: Ingested | None = None, *, rebuild: bool = False) -> pd.DataFrame:
    """The KPI table of ``period`` (see :func:`csi_lib.kpis.kpi_table`), cached beside the
    ingest cache so the notebooks of one client compute it once between them.

    A damaged cache file is discarded and rebuilt; ``rebuild`` rebuilds it in any case.
    """
    from csi_lib.kpis import kpi_table, require_period_in_data

    path = kpis_path(params, period, outputs)
    if rebuild:
        _discard(path, None)
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except UNREADABLE as exc:
            _discard(path, exc)
    tables = tables or load_tables(params, outputs)
    require_period_in_data(tables.tickets, params, period, str(params.sources.tickets.path))
    table = kpi_table(tables.tickets, tables.changes, tables.surveys, params, period)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table.to_parquet(tmp, index=False)
    tmp.replace(path)
    return table
