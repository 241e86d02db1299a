"""The ``csi`` command: run a client's quarterly reports and manage its inputs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from csi_lib.errors import CsiError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--client", required=True,
                   help="client id: the name of its params file, e.g. 'demo' for params/demo.yaml")
    p.add_argument("--params-dir", type=Path, default=Path("params"),
                   help="folder holding <client>.yaml (default: %(default)s)")
    p.add_argument("--outputs", type=Path, default=Path("outputs"),
                   help="where reports are published, as <client>/<period>/ (default: %(default)s)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csi",
        description="Turn a client's ITSM exports into its quarterly CSI reports "
                    "(HTML and PDF per service, with an index page).",
        epilog="Exit status: 0 all reports published, 1 a report failed (nothing published; "
               "the executed notebooks are kept), 2 bad parameters, data or notebooks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run every report of a client for a period and publish it",
                         description="Validate the params, ingest the exports once, execute "
                                     "each notebook per service, render HTML and PDF and "
                                     "publish outputs/<client>/<period>/ atomically.")
    _common(run)
    run.add_argument("--period", help="quarter as YYYYQn, e.g. 2026Q3 "
                                      "(default: reporting.period in the params file)")
    run.add_argument("--service", action="append", dest="services", metavar="ID",
                     help="run only this service (repeatable; default: every service)")
    run.add_argument("--notebooks-dir", type=Path, default=Path("notebooks"),
                     help="folder of the report notebooks (default: %(default)s)")
    run.add_argument("--timeout", type=int, default=600, metavar="SECONDS",
                     help="longest a single notebook cell may run (default: %(default)s)")
    run.add_argument("--supersede", action="store_true",
                     help="replace an already published period instead of publishing the "
                          "next revision (e.g. 2026Q3-r2)")

    check = sub.add_parser("check", help="validate a client's params and exports without "
                                         "running any report")
    _common(check)

    demo = sub.add_parser("demo-data", help="(re)write the demo client's exports from its seed")
    _common(demo)
    demo.set_defaults(client="demo")
    return parser


def _run(args: argparse.Namespace) -> int:
    from csi_lib.params import params_path
    from csi_lib.runner import run_client

    summary = run_client(params_path(args.client, args.params_dir), args.period,
                         outputs=args.outputs, notebooks_dir=args.notebooks_dir,
                         services=args.services, cell_timeout=args.timeout,
                         supersede=args.supersede)
    print(summary.text())
    return EXIT_FAILED if summary.failed else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from csi_lib.data import load_tables
    from csi_lib.params import load_params, params_path

    params = load_params(params_path(args.client, args.params_dir))
    tables = load_tables(params, args.outputs)
    print(f"{params.client.id}: params valid; {len(tables.tickets):,} tickets, "
          f"{len(tables.changes):,} changes, {len(tables.surveys):,} survey answers kept; "
          f"{len(tables.excluded):,} rows excluded")
    if not tables.issues.empty:
        print(tables.issues[["table", "column", "rule", "action", "rows", "examples"]]
              .to_string(index=False))
    return EXIT_OK


def _demo_data(args: argparse.Namespace) -> int:
    from csi_lib.demo import write_demo_exports
    from csi_lib.params import load_params, params_path

    params = load_params(params_path(args.client, args.params_dir))
    if params.demo is None:
        print(f"{params.source_file} has no `demo` section: it is not a generated client",
              file=sys.stderr)
        return EXIT_USAGE
    folder = params.sources.tickets.path.parent
    written = write_demo_exports(folder, seed=params.demo.seed,
                                 first_month=params.demo.first_month,
                                 last_month=params.demo.last_month,
                                 timezone=params.reporting.timezone)
    for name, path in written.items():
        print(f"wrote {name}: {path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``csi`` console script."""
    args = _parser().parse_args(argv)
    handler = {"run": _run, "check": _check, "demo-data": _demo_data}[args.command]
    try:
        return handler(args)
    except CsiError as exc:
        print(f"csi: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
