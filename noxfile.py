"""Sessions: tests, demo, reports, lab, lint. Run `nox -l` to list them."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]


def _install(session: nox.Session, *extras: str) -> None:
    """Install the kit (editable) with the given extras into the session."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite, notebooks included (pass pytest options after --)."""
    _install(session, "test")
    session.run("pytest", *(session.posargs or ["--nbval-lax", "tests", "notebooks"]))


@nox.session
def demo(session: nox.Session) -> None:
    """Run every report of the demo client and publish it under outputs/demo/."""
    _install(session)
    session.run("csi", "run", "--client", "demo", *session.posargs)


@nox.session
def reports(session: nox.Session) -> None:
    """Regenerate every client's reports for a period: nox -s reports -- --period 2026Q3."""
    _install(session)
    session.run("csi", "run", "--all", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Time `csi run` against a hand-written papermill/nbconvert loop (20 services)."""
    _install(session)
    session.run("python", "benchmarks/runner_bench.py", *session.posargs)


@nox.session
def lab(session: nox.Session) -> None:
    """Open JupyterLab on the notebooks, in its own environment with the kit installed."""
    _install(session, "lab")
    session.run("jupyter", "lab", "--notebook-dir=notebooks", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint with ruff and check that notebooks carry no outputs."""
    session.install("ruff", "nbstripout")
    session.run("ruff", "check", ".")
    notebooks = sorted(str(p) for p in Path("notebooks").glob("*.ipynb"))
    session.run("nbstripout", "--verify", *notebooks)
