"""Executing one job inside a worker process.

Each worker keeps one warm kernel and reuses it for the notebooks it runs: a
kernel start and the import of pandas, seaborn and csi_lib cost about a second,
paid once per worker instead of once per notebook. Before each notebook the
kernel's state is reset to what a fresh kernel has (names, matplotlib settings,
warning filters, working folder, execution counter), and tests check that a
report from a warm kernel equals one from a fresh kernel.

A cell error is the notebook's fault and is never retried; a kernel that fails
to start is retried at most twice. A notebook that runs past its wall-clock
limit has its kernel killed with its whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import multiprocessing.util
import os
import shutil
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from csi_lib.data import file_sha256
from csi_lib.reports import INPUTS_PARAMETER
from csi_lib.runner.jobs import Job, JobResult
from csi_lib.runner.lifeline import forget_kernel, on_end, track_kernel

__all__ = ["KernelStartError", "reset_code", "run_job", "start_kernel", "stop_kernel"]

KERNEL_START_ATTEMPTS = 3  # the first try and at most two retries

# Run in the warm kernel before each notebook, outside the history, so the
# notebook sees what a fresh kernel would show it. The folder changes first: the
# previous one may be gone (a cluster worker's private folder), and a reset asks for it.
# The names go as `%reset -f` drops them, without its full garbage collection (a
# sixth of a second with the libraries loaded): unreachable cycles, such as the
# previous notebook's figures, go at Python's next automatic collection.
_RESET = """\
import os as _csi_os
_csi_os.chdir({cwd!r})
get_ipython().reset(new_session=False)
import os as _csi_os, warnings as _csi_warnings
import matplotlib as _csi_mpl
_csi_mpl.rcdefaults()
import matplotlib.pyplot as _csi_plt
_csi_plt.close("all")
_csi_warnings.resetwarnings()
_csi_os.chdir({cwd!r})
get_ipython().execution_count = 1
del _csi_os, _csi_warnings, _csi_mpl, _csi_plt
"""

# Run once in a new kernel: the libraries the reports import, then every object
# alive moves out of the garbage collector's sight (gc.freeze). Each collection
# afterwards, during a notebook and at each reset, walks only what notebooks made,
# not the libraries' hundreds of thousands of objects.
_PRIME = """\
import gc as _csi_gc, importlib as _csi_il
for _csi_m in {modules!r}:
    try:
        _csi_il.import_module(_csi_m)
    except Exception:
        pass
_csi_gc.collect()
_csi_gc.freeze()
del _csi_gc, _csi_il, _csi_m
"""
_PRIMED = ("pandas", "matplotlib.pyplot", "seaborn", "csi_lib.plots", "csi_lib.baseline",
           "csi_lib.gaps", "csi_lib.opportunities", "csi_lib.quality", "csi_lib.prioritise",
           "csi_lib.maturity", "csi_lib.benefits", "csi_lib.pack")

_state: dict[str, Any] = {}


class KernelStartError(RuntimeError):
    """The kernel did not start after every allowed attempt."""


def reset_code(cwd: str) -> str:
    """The code that returns a used kernel to a fresh kernel's state."""
    return _RESET.format(cwd=cwd)


def _engine() -> str:
    """Register (once) the papermill engine that runs notebooks in a kernel we keep."""
    if _state.get("engine"):
        return _state["engine"]
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class WarmClient(PapermillNotebookClient):
        """Closes its channels after the notebook, leaving the kernel running."""

        def execute(self, **kwargs: Any) -> Any:
            try:
                return super().execute(**kwargs)
            finally:
                if self.kc is not None and not self.owns_km:
                    self.kc.stop_channels()
                    self.kc = None

    class WarmEngine(NBClientEngine):
        """papermill's nbclient engine with a client that releases a kept kernel cleanly."""

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     stdout_file: Any = None, stderr_file: Any = None,
                                     start_timeout: int = 60, execution_timeout: Any = None,
                                     **kwargs: Any) -> Any:
            kwargs = remove_args(["input_path"], **kwargs)
            safe = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(safe, timeout=execution_timeout or kwargs.get("timeout"),
                                 startup_timeout=start_timeout, kernel_name=kernel_name,
                                 log=logger, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            return WarmClient(nb_man, **final).execute()

    papermill_engines.register("csi-warm", WarmEngine)
    _state["engine"] = "csi-warm"
    return "csi-warm"


def _init_worker() -> None:
    """Once per worker process: a private Jupyter runtime folder and clean-up at exit."""
    if _state.get("ready"):
        return
    runtime = tempfile.mkdtemp(prefix="csi-jupyter-")
    os.environ["JUPYTER_RUNTIME_DIR"] = runtime
    _state.update(ready=True, runtime=runtime, km=None)
    on_end(lambda: shutil.rmtree(runtime, ignore_errors=True))
    # Pool workers leave through os._exit, which skips atexit; multiprocessing's
    # own finalisers still run, so the kernel is shut down either way.
    multiprocessing.util.Finalize(None, _shutdown, exitpriority=10)
    import atexit

    atexit.register(_shutdown)


def _shutdown() -> None:
    km = _state.get("km")
    if km is not None:
        _kill(km)
        _state["km"] = None
    runtime = _state.pop("runtime", None)
    if runtime:
        shutil.rmtree(runtime, ignore_errors=True)
    _state["ready"] = False


def stop_kernel() -> None:
    """Shut down this process's warm kernel (a long-lived worker, between runs)."""
    _shutdown()


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _sync(value: Any) -> Any:
    """The value of a kernel manager call, awaited in a loop of its own if needed."""
    if not inspect.isawaitable(value):
        return value
    return asyncio.run(_maybe(value))


def _kernel_pid(km: Any) -> int | None:
    return getattr(getattr(km, "provisioner", None), "pid", None)


def _kill(km: Any) -> None:
    # SIGKILL to the kernel's process group; a kernel already dead is fine.
    pid = _kernel_pid(km)
    with contextlib.suppress(Exception):
        _sync(km.shutdown_kernel(now=True))
    forget_kernel(pid)


def start_kernel(cwd: str, factory: Callable[[], Any] | None = None,
                 attempts: int = KERNEL_START_ATTEMPTS) -> Any:
    """A started, ready kernel manager; retried on failure, at most ``attempts`` tries."""
    if factory is None:
        # The async manager: with the blocking one, nbclient never enforces the
        # cell timeout (its wait for the reply does not return while a cell runs).
        from jupyter_client.manager import AsyncKernelManager

        def factory() -> Any:
            # IPC sockets in the private runtime folder: no TCP ports to collide on
            # between workers, and nothing listening on the network.
            km = AsyncKernelManager(kernel_name="python3", transport="ipc")
            # IPC socket paths are relative to the process that opens them and the
            # kernel runs in the notebooks' folder: give them an absolute home.
            km.ip = str(Path(os.environ["JUPYTER_RUNTIME_DIR"]) / f"kernel-{uuid.uuid4().hex}")
            return km

    errors = []
    for _ in range(attempts):
        km = factory()
        try:
            _sync(_start(km, cwd))
            track_kernel(_kernel_pid(km))
            return km
        except Exception as exc:  # noqa: BLE001 - retried, then reported
            errors.append(f"{type(exc).__name__}: {exc}")
            _kill(km)
    raise KernelStartError(f"kernel failed to start {attempts} times: {'; '.join(errors)}")


async def _start(km: Any, cwd: str) -> None:
    # The kernel's own chatter (e.g. ipykernel's transport notice) is not the report's.
    with Path(os.devnull).open("w") as devnull:  # noqa: ASYNC230 - opening /dev/null
        # History in memory, as nbclient gives its own kernels: a shared history file
        # would clash with the execution counter reset before each notebook.
        await _maybe(km.start_kernel(cwd=cwd, stderr=devnull,
                                     extra_arguments=["--HistoryManager.hist_file=:memory:"]))
    kc = km.client()
    kc.start_channels()
    try:
        await _maybe(kc.wait_for_ready(timeout=60))
    finally:
        kc.stop_channels()


def _warm_kernel(cwd: str) -> tuple[Any, float]:
    km = _state.get("km")
    if km is not None and _sync(km.is_alive()):
        return km, 0.0
    if km is not None:
        _kill(km)
    start = time.perf_counter()
    km = start_kernel(cwd)
    _state["km"] = km
    # Only an optimisation: a kernel that cannot import a library fails in the notebook,
    # with the notebook's own message.
    with contextlib.suppress(Exception):
        _run_quietly(km, _PRIME.format(modules=_PRIMED), timeout=300)
    return km, time.perf_counter() - start


def _run_quietly(km: Any, code: str, timeout: int) -> dict:
    async def run() -> dict:
        kc = km.client()
        kc.start_channels()
        try:
            await _maybe(kc.wait_for_ready(timeout=30))
            return await _maybe(kc.execute_interactive(
                code, store_history=False, timeout=timeout, output_hook=lambda _msg: None))
        finally:
            kc.stop_channels()

    return _sync(run())


def _reset(km: Any, cwd: str) -> None:
    reply = _run_quietly(km, reset_code(cwd), timeout=30)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel reset failed: {reply['content'].get('evalue')}")


def _unmirror(executed: Path, private_root: str) -> None:
    """Take a private folder's prefix out of an executed notebook, so it shows the paths
    of the machine that planned the job (a cluster worker mirrors them under a prefix)."""
    if private_root and executed.is_file():
        text = executed.read_text(encoding="utf-8")
        if private_root in text:
            executed.write_text(text.replace(private_root, ""), encoding="utf-8")


def run_job(job: Job, work: str, cell_timeout: int = 600, notebook_timeout: int = 1800,
            warm: bool = True, private_root: str = "") -> JobResult:
    """Execute ``job`` with papermill into ``work``/<service>/, then render HTML and PDF.

    Never raises for a job's own failure: the result says what went wrong and
    where the executed notebook (with its traceback) was kept. With
    ``private_root``, the job's paths are the planning machine's paths under that
    prefix, which the executed notebook and its renderings do not show.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from csi_lib import render

    _init_worker()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out_dir = Path(work) / job.folder
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{job.notebook}.ipynb"
    parameters = dict(job.parameters)
    if job.depends_on:
        # The files of job.inputs lie under this folder: the work folder when workers
        # share the disk with the runner.
        parameters[INPUTS_PARAMETER] = str(Path(work).resolve())
    # Extra files (workbooks) go to a folder of the job's own, moved beside its
    # report on success, so jobs sharing a folder never see each other's files.
    extra_dir = Path(work) / ".extra" / job.record.removesuffix(".json")
    if job.wants_report_dir:
        shutil.rmtree(extra_dir, ignore_errors=True)
        extra_dir.mkdir(parents=True)
        parameters["report_dir"] = str(extra_dir.resolve())

    def failed(message: str, files: tuple[str, ...] = ()) -> JobResult:
        return JobResult(job, False, time.perf_counter() - started, message, files,
                         timings=timings)

    km = None
    try:
        if warm:
            km, timings["kernel"] = _warm_kernel(job.cwd)
            _reset(km, job.cwd)
    except Exception as exc:  # noqa: BLE001 - reported as the job's failure
        return failed(f"{type(exc).__name__}: {exc}")

    # The wall-clock limit: a hung notebook has its kernel killed, which ends
    # papermill's wait with an error instead of blocking the worker forever.
    timed_out = threading.Event()

    def _expire() -> None:
        timed_out.set()
        if km is not None:
            _kill(km)

    watchdog = threading.Timer(notebook_timeout, _expire)
    watchdog.daemon = True
    t0 = time.perf_counter()
    extra = {"km": km, "engine_name": _engine()} if km is not None else {"cwd": job.cwd}
    try:
        watchdog.start()
        nb = papermill.execute_notebook(
            job.source, str(executed), parameters=parameters, kernel_name="python3",
            progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=cell_timeout, **extra)
    except PapermillExecutionError as exc:
        _unmirror(executed, private_root)
        return failed(f"{exc.ename}: {exc.evalue} (cell {exc.exec_count}); traceback in "
                      f"{executed}", (executed.name,))
    except Exception as exc:  # noqa: BLE001 - kernel died, cell timeout, ...
        if km is not None:  # the kernel may be mid-cell or dead: never reuse it
            _kill(km)
            _state["km"] = None
        what = (f"notebook ran past its {notebook_timeout} s limit; kernel killed"
                if timed_out.is_set() else
                "".join(traceback.format_exception_only(exc)).strip())
        kept = (executed.name,) if executed.exists() else ()
        _unmirror(executed, private_root)
        return failed(f"{what}; notebook (as far as it ran) in {executed}", kept)
    finally:
        watchdog.cancel()
    timings["execute"] = time.perf_counter() - t0
    if private_root:
        _unmirror(executed, private_root)
        nb = nbformat.read(executed, as_version=4)

    meta = render.ReportMeta(title=job.title, client=job.client_name,
                             service=job.service_name, period=job.period, as_of=job.as_of)
    try:
        t0 = time.perf_counter()
        html = render.to_html(nb, meta)
        timings["html"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pdf = render.to_pdf(nb, meta)
        timings["pdf"] = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 - a render failure fails this job only
        return failed(f"{type(exc).__name__}: {exc}", (executed.name,))
    (out_dir / f"{job.notebook}.html").write_text(html, encoding="utf-8")
    (out_dir / f"{job.notebook}.pdf").write_bytes(pdf)
    files = [f"{job.notebook}.{ext}" for ext in ("ipynb", "html", "pdf")]
    if job.wants_report_dir:
        for extra_file in sorted(extra_dir.iterdir()):
            extra_file.replace(out_dir / extra_file.name)
            files.append(extra_file.name)
        shutil.rmtree(extra_dir, ignore_errors=True)
    # The hashes travel with the result: publishing checks the files against them.
    hashes = {name: file_sha256(out_dir / name) for name in files}
    return JobResult(job, True, time.perf_counter() - started, files=tuple(files),
                     timings=timings, hashes=hashes)
