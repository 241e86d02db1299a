"""The ``csi`` command: run a client's quarterly reports and manage its inputs."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from csi_lib.errors import ClusterLost, CsiError, Interrupted, ParamsError
from csi_lib.resources import kit_dir

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _common(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    who = p.add_mutually_exclusive_group(required=required)
    who.add_argument("--client",
                     help="client id: the name of its params file, e.g. 'demo' for "
                          "params/demo.yaml")
    who.add_argument("--params", type=Path, dest="params_file", metavar="FILE",
                     help="the client's params file, wherever it lives (instead of --client)")
    p.add_argument("--params-dir", type=Path, default=Path("params"),
                   help="folder holding <client>.yaml (default: %(default)s)")
    p.add_argument("--outputs", type=Path, default=Path("outputs"),
                   help="where reports are published, as <client>/<period>/ (default: %(default)s)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csi",
        description="Turn a client's ITSM exports into its quarterly CSI reports "
                    "(HTML and PDF per service, with an index page).",
        epilog="Exit status: 0 all reports published (or unchanged), 1 a report failed "
               "(that client's period is not published; its work folder keeps the executed "
               "notebooks), the cluster was lost mid-run, or verify found differences; "
               "2 bad parameters, data or notebooks, or no usable cluster; 130 / 143 "
               "interrupted by Ctrl-C / SIGTERM (run the same command to resume).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run every report of one or more clients for a period and publish it",
        description="Plan (validate every params file and notebook), ingest each client's "
                    "exports once, execute the notebooks on a pool of workers, render HTML "
                    "and PDF, and publish outputs/<client>/<period>/ atomically. Reports "
                    "whose inputs are unchanged since a successful run are reused.")
    who = run.add_mutually_exclusive_group(required=True)
    who.add_argument("--client", action="append", dest="clients", metavar="ID",
                     help="client id: the name of its params file, e.g. 'demo' for "
                          "params/demo.yaml (repeatable)")
    who.add_argument("--all", action="store_true",
                     help="every client with a params file in --params-dir")
    who.add_argument("--params", type=Path, action="append", dest="params_files",
                     metavar="FILE", help="a params file, wherever it lives (repeatable)")
    run.add_argument("--params-dir", type=Path, default=Path("params"),
                     help="folder holding <client>.yaml (default: %(default)s)")
    run.add_argument("--outputs", type=Path, default=Path("outputs"),
                     help="where reports are published, as <client>/<period>/ "
                          "(default: %(default)s)")
    run.add_argument("--period", help="quarter as YYYYQn, e.g. 2026Q3 "
                                      "(default: reporting.period in each params file)")
    run.add_argument("--service", action="append", dest="services", metavar="ID",
                     help="run only this service (repeatable; default: every service)")
    run.add_argument("--notebook", action="append", dest="notebooks", metavar="NAME",
                     help="run only this notebook (repeatable; default: all)")
    run.add_argument("--notebooks-dir", type=Path, default=None,
                     help="folder of the report notebooks (default: the kit's own)")
    run.add_argument("--jobs", "-j", type=int, metavar="N",
                     help="worker processes (default: the number of cores)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the jobs on a Dask distributed cluster at ADDRESS "
                          "(e.g. tcp://10.0.0.5:8786) instead of local processes")
    run.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="how long to wait for the scheduler and its first worker "
                          "(default: %(default)s)")
    run.add_argument("--stall-timeout", type=float, default=300.0, metavar="SECONDS",
                     help="stop a cluster run when no job has run or finished for this long "
                          "(default: %(default)s)")
    run.add_argument("--timeout", type=int, default=600, metavar="SECONDS",
                     help="longest a single notebook cell may run (default: %(default)s)")
    run.add_argument("--notebook-timeout", type=int, default=1800, metavar="SECONDS",
                     help="longest a whole notebook may run; its kernel is then killed "
                          "(default: %(default)s)")
    run.add_argument("--force", action="store_true",
                     help="run every report even if its inputs are unchanged")
    run.add_argument("--retry-failed", action="store_true",
                     help="rerun only the reports that failed in the last run")
    run.add_argument("--supersede", action="store_true",
                     help="replace an already published period instead of publishing the "
                          "next revision (e.g. 2026Q3-r2)")
    run.add_argument("--fresh-kernels", action="store_true",
                     help="start a new kernel for every notebook instead of one warm kernel "
                          "per worker (slower; for diagnosing state leaks)")
    run.add_argument("--accept-exclusions", action="store_true",
                     help="report even when an ingest rule excludes more than "
                          "quality.max_excluded_share of a service's rows (the reports "
                          "then say so on their first page)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the plan (what would run and what is unchanged) and stop")

    check = sub.add_parser("check", help="validate a client's params and exports without "
                                         "running any report",
                           description="Validate the params file, read every export, and "
                                       "read the improvement register, maturity model and "
                                       "questionnaires the reports would read.")
    _common(check)
    check.add_argument("--period", help="quarter the data must cover and whose "
                                        "questionnaires to read, as YYYYQn "
                                        "(default: reporting.period in the params file)")
    check.add_argument("--accept-exclusions", action="store_true",
                       help="pass even when an ingest rule excludes more than "
                            "quality.max_excluded_share of a service's rows")

    verify = sub.add_parser("verify", help="check a published period against its manifest",
                            description="Recompute every output's hash and compare it with "
                                        "manifest.json: modified, missing and unexpected files.")
    verify.add_argument("folder", type=Path, help="e.g. outputs/demo/2026Q3")

    rend = sub.add_parser("render", help="render an executed notebook to HTML and/or PDF",
                          description="Turn a notebook executed by hand (e.g. in JupyterLab) "
                                      "into the same HTML and PDF reports the runner writes.")
    rend.add_argument("notebook", type=Path, help="an executed .ipynb")
    rend.add_argument("--html", type=Path, help="HTML file to write")
    rend.add_argument("--pdf", type=Path, help="PDF file to write")
    rend.add_argument("--title", default="Report", help="report title (default: %(default)s)")
    rend.add_argument("--client-name", default="", help="client shown in the title block")
    rend.add_argument("--service-name", default=None, help="service shown in the title block")
    rend.add_argument("--period", default="", help="period shown in the title block")
    rend.add_argument("--as-of", default="", help="as-of date shown in the title block")

    mq = sub.add_parser("maturity-questionnaire",
                        help="write a client's blank maturity questionnaire for a quarter",
                        description="Write <maturity.questionnaires>/<quarter>.xlsx from the "
                                    "client's maturity model, with respondents carried over "
                                    "from the latest earlier quarter.")
    _common(mq)
    mq.add_argument("--period", required=True, help="quarter as YYYYQn")
    mq.add_argument("--out", type=Path, help="write here instead of the questionnaires folder")
    mq.add_argument("--force", action="store_true", help="overwrite an existing file")

    rt = sub.add_parser("register-template",
                        help="write a client's blank improvement register (Excel)",
                        description="Write a blank improvement register with the client's "
                                    "services in its drop-downs and an instructions sheet.")
    _common(rt)
    rt.add_argument("--out", type=Path,
                    help="file to write (default: prioritisation.register_file in the params)")

    demo = sub.add_parser("demo-data", help="(re)write the demo client's exports from its seed",
                          description="Write the generated exports of params/demo.yaml (or "
                                      "of --client, a client with a `demo` section).")
    _common(demo, required=False)
    demo.set_defaults(client="demo")
    return parser


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ParamsError(f"params file {path} does not exist: check the path given to --params")
    return path


def _params_file(args: argparse.Namespace) -> Path:
    """The params file named by --params, or the client's file in --params-dir."""
    from csi_lib.params import params_path

    if args.params_file is not None:
        return _existing(args.params_file)
    return params_path(args.client, args.params_dir)


def _run(args: argparse.Namespace) -> int:
    from csi_lib.params import params_path
    from csi_lib.runner import NOTEBOOKS, Progress, RunOptions, plan_clients, run_clients

    if args.all:
        files = sorted(args.params_dir.glob("*.yaml"))
        if not files:
            print(f"csi: error: no params files in {args.params_dir}", file=sys.stderr)
            return EXIT_USAGE
    elif args.params_files:
        files = [_existing(f) for f in args.params_files]
    else:
        files = [params_path(c, args.params_dir) for c in args.clients]
    options = RunOptions(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                         force=args.force, retry_failed=args.retry_failed,
                         supersede=args.supersede, warm=not args.fresh_kernels)
    # Plan everything before running anything: a bad params file or notebook stops
    # the run before the first kernel starts.
    plans = plan_clients(files, args.period, outputs=args.outputs,
                         notebooks_dir=args.notebooks_dir or kit_dir("notebooks"),
                         notebooks=args.notebooks, services=args.services, options=options,
                         lock=not args.dry_run)
    for cp in plans:
        print(f"plan {cp.client} {cp.label}: {len(cp.to_run)} to run, "
              f"{len(cp.jobs) - len(cp.to_run)} unchanged")
        for job in cp.jobs:
            print(f"  {'run      ' if job.key not in cp.reuse else 'unchanged'} {job.name}")
        for spec in NOTEBOOKS.values():
            reason = spec.skip_reason(cp.params)
            if reason and (not args.notebooks or spec.name in args.notebooks):
                print(f"  skipped   {cp.client}/{spec.name}: {reason}")
    if args.dry_run:
        return EXIT_OK
    _require_reportable(plans, args.outputs, accept_exclusions=args.accept_exclusions)
    if args.scheduler:
        try:
            import distributed  # noqa: F401 - only to say how to install it
        except ImportError:
            print("csi: error: --scheduler needs Dask: pip install 'csi-kit[dask]'",
                  file=sys.stderr)
            return EXIT_USAGE
        from csi_lib.runner.cluster import ClusterExecutor

        try:
            executor = ClusterExecutor.connect(args.scheduler, timeout=args.scheduler_timeout,
                                               stall_timeout=args.stall_timeout)
        except BaseException:
            for cp in plans:
                cp.release()
            raise
        with executor:
            summaries = run_clients(plans, options=options, executor=executor,
                                    progress=Progress(0))
        for summary in summaries:
            traffic = [r.traffic for r in summary.results if r.traffic]
            if traffic:
                print(f"{summary.client}: {len(traffic)} job(s) on the cluster sent "
                      f"{sum(t['sent'] for t in traffic) / 1e6:.1f} MB and received "
                      f"{sum(t['received'] for t in traffic) / 1e6:.1f} MB, besides "
                      f"{executor.tables_sent / 1e6:.1f} MB of tables")
    else:
        summaries = run_clients(plans, options=options, jobs=args.jobs, progress=Progress(0))
    for summary in summaries:
        print(summary.text())
    return EXIT_OK if all(s.ok for s in summaries) else EXIT_FAILED


def _require_reportable(plans: Sequence, outputs: Path, *, accept_exclusions: bool) -> None:
    """Stop before any report runs when a client's data cannot be reported (exit 2)."""
    from csi_lib.data import load_tables
    from csi_lib.quality import require_reportable

    try:
        for cp in plans:
            if not cp.up_to_date:
                require_reportable(load_tables(cp.params, outputs), cp.params,
                                   cp.params.period(cp.label),
                                   accept_exclusions=accept_exclusions)
    except CsiError:
        for cp in plans:
            cp.release()
        raise


def _verify(args: argparse.Namespace) -> int:
    from csi_lib.publish import verify

    problems = verify(args.folder)
    for line in problems:
        print(line)
    if problems:
        print(f"{args.folder}: {len(problems)} difference(s) from its manifest", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.folder}: every output matches its manifest")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from csi_lib.data import load_tables
    from csi_lib.params import check_file_name, load_params
    from csi_lib.quality import excluded_rows, over_limit, require_reportable
    from csi_lib.quality.exclusions import ACCEPT_FLAG, OUT_OF_SCOPE
    from csi_lib.reports import NOTEBOOKS

    params = load_params(_params_file(args))
    check_file_name(params)
    tables = load_tables(params, args.outputs)
    quarter = (params.period(args.period) if args.period or params.reporting.period
               else None)
    exclusions = require_reportable(tables, params, quarter,
                                    accept_exclusions=args.accept_exclusions)
    lost, scope = excluded_rows(tables.excluded)
    print(f"{params.client.id}: params valid; {len(tables.tickets):,} tickets, "
          f"{len(tables.changes):,} changes, {len(tables.surveys):,} survey answers kept; "
          f"{lost:,} rows excluded, {scope:,} out of scope (matching no service)")
    for _, hit in tables.issues.iterrows():
        print(f"{hit['table']}, column {hit['column']}: {hit['rule']}: {hit['action']} "
              f"{hit['rows']:,} row(s) (e.g. lines {hit['examples']})\n    fix: "
              f"{hit['fix'] or 'none needed'}")
    for _, row in exclusions.loc[exclusions["scope"] == OUT_OF_SCOPE].iterrows():
        print(f"out of scope: {row['rows']:,} {row['table']} row(s) {row['rule']} "
              "(counted, not held against quality.max_excluded_share)")
    accepted = over_limit(exclusions)
    if not accepted.empty:
        print(f"accepted ({ACCEPT_FLAG}): {len(accepted)} exclusion(s) over "
              f"quality.max_excluded_share; the reports say so on their first page")
    period = args.period or params.reporting.period
    for spec in NOTEBOOKS.values():
        if spec.skip_reason(params) or not spec.check:
            continue
        if period is None and spec.name == "maturity":
            print("maturity: questionnaires not checked: no period (pass --period YYYYQn)")
            continue
        spec.input_files(params, period)  # the demo client's are generated on first use
        spec.check_inputs(params, period)
        print(f"{spec.name}: inputs readable")
    return EXIT_OK


def _render(args: argparse.Namespace) -> int:
    import nbformat

    from csi_lib import render

    if not (args.html or args.pdf):
        print("csi: error: give --html FILE and/or --pdf FILE", file=sys.stderr)
        return EXIT_USAGE
    nb = nbformat.read(args.notebook, as_version=4)
    meta = render.ReportMeta(title=args.title, client=args.client_name, period=args.period,
                             as_of=args.as_of, service=args.service_name)
    render.write_report(nb, meta, args.html, args.pdf)
    return EXIT_OK


def _maturity_questionnaire(args: argparse.Namespace) -> int:
    from csi_lib.maturity import write_client_questionnaire
    from csi_lib.params import load_params

    params = load_params(_params_file(args))
    path = write_client_questionnaire(params, args.period, args.out, overwrite=args.force)
    print(f"wrote {path}")
    return EXIT_OK


def _register_template(args: argparse.Namespace) -> int:
    from csi_lib.params import load_params
    from csi_lib.prioritise import write_register_template

    params = load_params(_params_file(args))
    path = args.out or params.prioritisation.register_file
    if path is None:
        print("csi: error: give --out FILE or set prioritisation.register_file in "
              f"{params.source_file}", file=sys.stderr)
        return EXIT_USAGE
    if Path(path).exists():
        print(f"csi: error: {path} exists; the register is the consultant's file and is "
              "never overwritten: give another --out", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {write_register_template(path, params.services)}")
    return EXIT_OK


def _demo_data(args: argparse.Namespace) -> int:
    from csi_lib.demo import write_demo_exports
    from csi_lib.params import load_params

    params = load_params(_params_file(args))
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
    handler = {"run": _run, "check": _check, "verify": _verify, "render": _render,
               "maturity-questionnaire": _maturity_questionnaire,
               "register-template": _register_template,
               "demo-data": _demo_data}[args.command]
    # SIGTERM stops a run the way Ctrl-C does: finished reports recorded, one line.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return handler(args)
    except KeyboardInterrupt as exc:
        stop = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
        print(stop.line(), file=sys.stderr)
        return stop.exit_code
    except ClusterLost as exc:  # mid-run: finished jobs are recorded, a rerun resumes
        print(f"csi: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except CsiError as exc:
        print(f"csi: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PermissionError as exc:
        print(f"csi: error: permission denied on {exc.filename}: give the user running csi "
              "access to it (read for inputs, write for outputs) or choose another path",
              file=sys.stderr)
        return EXIT_USAGE
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _terminate(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


if __name__ == "__main__":
    sys.exit(main())
