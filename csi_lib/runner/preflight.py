"""Checks before a run starts: things that would otherwise fail halfway, or worse,
succeed in the wrong place."""

from __future__ import annotations

import os
import pwd
from collections.abc import Sequence
from pathlib import Path

from csi_lib.errors import ParamsError, PublishError
from csi_lib.params import load_params

__all__ = ["check_unique_clients", "check_writable"]


def check_unique_clients(params_files: Sequence[Path]) -> list[Path]:
    """The params files, each once, refusing two with the same ``client.id``: both
    would publish into one client's folder, under the first one's name."""
    files = list(dict.fromkeys(Path(f).resolve() for f in params_files))
    seen: dict[str, Path] = {}
    for path in files:
        client = load_params(path).client.id
        if client in seen:
            raise ParamsError(
                f"{seen[client]} and {path} both have client.id {client!r}: each client needs "
                f"its own id, which names its folder outputs/{client}/. Give one of them "
                "another id, or drop the copy")
        seen[client] = path
    return files


def check_writable(client_dir: Path) -> None:
    """Refuse an outputs folder the run could not write, naming it and the missing
    permission, before anything runs (instead of a ``PermissionError`` mid-run).

    A run writes in the client's folder, its ``_work`` folder and the outputs folder
    (the portfolio page); where one does not exist yet, it is created in the nearest
    folder above that does.
    """
    client_dir = Path(client_dir).absolute()
    outputs = client_dir.parent
    written = [p for p in (client_dir / "_work", client_dir, outputs) if p.exists()]
    if not outputs.exists():
        written.append(next(p for p in outputs.parents if p.exists()))
    for path in written:
        if not path.is_dir():
            raise PublishError(f"outputs folder {path} is not a folder: remove the file or "
                               "choose another --outputs")
        missing = [what for flag, what in ((os.W_OK, "write"), (os.X_OK, "search (x)"))
                   if not os.access(path, flag)]
        if missing:
            raise PublishError(
                f"cannot write to the outputs folder {path}: {' and '.join(missing)} "
                f"permission missing for user {_user()} (uid {os.getuid()}). Fix with "
                f"`chmod u+wx {path}` (or as its owner), or choose another --outputs")


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return "?"
