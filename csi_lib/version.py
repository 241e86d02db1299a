"""The kit's code version (a hash of its sources and templates) and its environment."""

from __future__ import annotations

import hashlib
import platform
from functools import cache
from importlib import metadata
from pathlib import Path

from csi_lib.resources import kit_dir

__all__ = ["PACKAGES", "code_version", "environment", "package_version"]

# The packages whose versions can change a report's numbers or its look.
PACKAGES = ("csi-kit", "pandas", "numpy", "papermill", "nbconvert", "matplotlib", "seaborn",
            "typst", "pypandoc-binary", "pyarrow", "pydantic")


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


def package_version(name: str) -> str:
    """The installed version of ``name``, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@cache
def environment() -> dict[str, str]:
    """What must match between machines that run one client's reports: the kit's code,
    Python's minor version and the key packages' versions."""
    return {"code": code_version(), "python": ".".join(platform.python_version_tuple()[:2]),
            **{name: package_version(name) for name in PACKAGES}}
