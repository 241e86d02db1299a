"""The kit's code version: a hash of its sources and templates."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from csi_lib.resources import kit_dir

__all__ = ["code_version"]


@cache
def code_version() -> str:
    """Hash of the csi_lib sources and templates: a code change invalidates earlier results."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    files = sorted(root.rglob("*.py"))
    templates = kit_dir("templates")
    for p in files:
        digest.update(str(p.relative_to(root.parent)).encode())
        digest.update(p.read_bytes())
    for p in sorted(p for p in templates.rglob("*") if p.is_file()):
        digest.update(str(p.relative_to(templates.parent)).encode())
        digest.update(p.read_bytes())
    return digest.hexdigest()[:16]


