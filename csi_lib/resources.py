"""Where the kit's own files are: the report notebooks and the templates.

A checkout (or an editable install) has them beside the package; a regular install
(`pip install csi-kit`) puts them under ``<prefix>/share/csi-kit/``. Either way
`csi run` finds them from any folder. These are the kit's files, never client data.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Literal

from csi_lib.errors import CsiError

__all__ = ["kit_dir"]

_SHARE = Path("share") / "csi-kit"


@cache
def kit_dir(name: Literal["notebooks", "templates"]) -> Path:
    """The folder of the kit's ``notebooks`` or ``templates``."""
    candidates = [Path(__file__).resolve().parent.parent / name,
                  Path(sys.prefix) / _SHARE / name]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise CsiError(
        f"the kit's {name} folder is missing (looked in "
        f"{', '.join(str(c) for c in candidates)}): reinstall csi-kit")
