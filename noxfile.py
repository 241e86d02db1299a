"""Sessions: tests, demo, reports, bench, lab, lint, lock. Run `nox -l` to list them.

Every session installs the locked versions from requirements/*.lock (hash-checked),
then the kit itself without dependencies, so a quarter regenerated next year runs
on the same pandas as this one. `nox -s lock` regenerates the locks.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

LOCKS = Path("requirements")
# lock file -> the extras of pyproject.toml it pins (besides the dependencies)
LOCKED_EXTRAS = {"run": ["dask"], "test": ["dask", "test"], "lab": ["lab"]}


def _install(session: nox.Session, lock: str) -> None:
    """Install the locked dependencies, then the kit (editable) without resolving again."""
    session.install("--require-hashes", "--no-deps", "-r", str(LOCKS / f"{lock}.lock"))
    session.install("--no-deps", "-e", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite, notebooks included (pass pytest options after --)."""
    _install(session, "test")
    session.run("pytest", *(session.posargs or ["--nbval-lax", "tests", "notebooks"]))


@nox.session
def demo(session: nox.Session) -> None:
    """Run every report of the demo client and publish it under outputs/demo/."""
    _install(session, "run")
    session.run("csi", "run", "--client", "demo", *session.posargs)


@nox.session
def reports(session: nox.Session) -> None:
    """Regenerate every client's reports for a period: nox -s reports -- --period 2026Q3."""
    _install(session, "run")
    session.run("csi", "run", "--all", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Time `csi run` against a hand-written papermill/nbconvert loop (20 services)."""
    _install(session, "run")
    session.run("python", "benchmarks/runner_bench.py", *session.posargs)


@nox.session
def lab(session: nox.Session) -> None:
    """Open JupyterLab on the notebooks, in its own environment with the kit installed."""
    _install(session, "lab")
    session.run("jupyter", "lab", "--notebook-dir=notebooks", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint with ruff, check notebooks carry no outputs, and check the import layers."""
    session.install("--require-hashes", "--no-deps", "-r", str(LOCKS / "lint.lock"))
    session.run("ruff", "check", ".")
    notebooks = sorted(str(p) for p in Path("notebooks").glob("*.ipynb"))
    session.run("nbstripout", "--verify", *notebooks)
    # The contracts live in pyproject.toml; grimp reads the sources, nothing is imported.
    session.run("lint-imports", env={"PYTHONPATH": str(Path.cwd())})


@nox.session(venv_backend="venv")
def lock(session: nox.Session) -> None:
    """Regenerate requirements/*.lock from pyproject.toml (newest versions allowed by it)."""
    session.install("uv")
    common = ["--generate-hashes", "--universal", "--python-version", "3.11", "--no-header"]
    for name, extras in LOCKED_EXTRAS.items():
        flags = [f"--extra={e}" for e in extras]
        session.run("uv", "pip", "compile", "pyproject.toml", *flags, *common,
                    "-o", str(LOCKS / f"{name}.lock"), *session.posargs)
    session.run("uv", "pip", "compile", str(LOCKS / "lint.in"), *common,
                "-o", str(LOCKS / "lint.lock"), *session.posargs)
