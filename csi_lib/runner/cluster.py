"""Run the runner's jobs on a Dask distributed cluster that shares nothing but the scheduler.

:class:`ClusterExecutor` is a :class:`concurrent.futures.Executor` for
:func:`~csi_lib.runner.worker.run_job`: each job is shipped as data
(:mod:`csi_lib.runner.shipping`), run in a private folder on a worker, and its
outputs are written into the work folder by the thread that reads the result,
so nothing writes there once the run has stopped reading.

Faults end the run with one line instead of a traceback or a hang: no scheduler
at the address, no workers, a worker whose environment differs (its kit, code or
key packages), the scheduler lost mid-run, or no progress for ``stall_timeout``
seconds. A worker lost mid-job is Dask's to handle: the scheduler runs the job
again on another worker, and the job's result says so.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from csi_lib.errors import ClusterError, ClusterLost, ClusterSetupError
from csi_lib.params import Params, load_params
from csi_lib.reports import JobResult
from csi_lib.runner.shipping import (
    Shipped,
    environment_difference,
    pack_job,
    pack_tables,
    release_kernel,
    run_payload,
    unpack,
)
from csi_lib.runner.worker import run_job
from csi_lib.version import environment

__all__ = ["ClusterExecutor"]

# Key prefix of the task holding a client's tables on the cluster.
_TABLES = "csi-tables-"

Log = Callable[[str], None]


class _JobFuture(cf.Future):
    """A job's future whose result is unpacked (written into the work folder) by the
    thread that asks for it, once."""

    def __init__(self, unpack_result: Callable[[Shipped], JobResult]) -> None:
        super().__init__()
        self._unpack = unpack_result
        self._unpacked: JobResult | None = None
        self.note = ""

    def result(self, timeout: float | None = None) -> JobResult:
        shipped = super().result(timeout)
        if self._unpacked is None:
            result = self._unpack(shipped)
            if self.note:
                import dataclasses

                result = dataclasses.replace(result, note=self.note)
            self._unpacked = result
        return self._unpacked


def _reach(address: str, timeout: float) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        why = str(exc).split("\n")[0] or type(exc).__name__
        raise ClusterSetupError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({why}): "
            "check the address and that `dask scheduler` runs there, or raise "
            "--scheduler-timeout") from None


class ClusterExecutor(cf.Executor):
    """Runs the runner's jobs on a Dask cluster; see the module's docstring."""

    def __init__(self, client: Any, address: str, *, stall_timeout: float = 300.0,
                 poll: float = 1.0, retries: int = 1, log: Log = print) -> None:
        self._client = client
        self.address = address
        self.stall_timeout = stall_timeout
        self.retries = retries
        self._poll = poll
        self._log = log
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[Any, _JobFuture]] = {}   # dask key -> futures
        self._where: dict[str, str] = {}                         # dask key -> worker
        self._params: dict[str, Params] = {}
        self._tables: dict[tuple[str, str], Any] = {}
        self._closing = False
        self._failed: ClusterError | None = None
        self._progress = time.monotonic()
        self.tables_sent = 0
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="csi-cluster-monitor",
                                         daemon=True)
        self._monitor.start()

    @classmethod
    def connect(cls, address: str, timeout: float = 10.0, **kwargs: Any) -> ClusterExecutor:
        """Connect to the scheduler at ``address``, wait for a worker and check every
        worker's environment against this machine's, each within ``timeout`` seconds."""
        client = _reach(address, timeout)
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, OSError):
                raise ClusterSetupError(
                    f"the Dask scheduler at {address} has no workers after {timeout:g} s: "
                    f"start them with `dask worker {address}`") from None
            check_workers(client, timeout)
        except BaseException:
            client.close(timeout=timeout)
            raise
        return cls(client, address, **kwargs)

    # -- submitting ----------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Ship ``run_job(job, work, cell_timeout, notebook_timeout, warm)`` to the cluster."""
        if fn is not run_job:
            raise TypeError("ClusterExecutor runs the runner's jobs (run_job) only")
        if self._closing:
            raise RuntimeError("cannot submit after shutdown")
        job, work, *rest = args
        names = ("cell_timeout", "notebook_timeout", "warm")
        options = dict(zip(names, rest, strict=False)) | kwargs
        params = self._params_of(job.parameters["params_file"])
        outputs = Path(job.parameters["outputs"])
        tables = self._scattered(params, outputs, job.period)
        payload = pack_job(job, work, params, **options)
        key = f"csi-{job.name.replace('/', '-')}-{uuid.uuid4().hex[:8]}"
        mine = _JobFuture(partial(unpack, work=work))
        future = self._client.submit(run_payload, payload, tables, key=key, pure=False,
                                     retries=self.retries)
        with self._lock:
            self._pending[key] = (future, mine)
            if len(self._pending) == 1:
                self._progress = time.monotonic()
        future.add_done_callback(self._done)
        return mine

    def _params_of(self, params_file: str) -> Params:
        if params_file not in self._params:
            self._params[params_file] = load_params(params_file)
        return self._params[params_file]

    def _scattered(self, params: Params, outputs: Path, period: str) -> Any:
        """The client's tables on every worker, sent once per client, data and period."""
        ident = (params.client.id, f"{params.source_file}:{period}:{outputs}")
        if ident not in self._tables:
            tables = pack_tables(params, outputs, period)
            # A task that returns the tables, rather than scattered data: the scheduler
            # keeps the task, so tables lost with a worker are sent again, not lost.
            # Each worker fetches them once, from the first that has them.
            self._tables[ident] = self._client.submit(
                _hold, tables, pure=False,
                key=f"{_TABLES}{params.client.id}-{tables.digest[:12]}")
            # The tables reaching the cluster is progress: jobs wait for them.
            self._tables[ident].add_done_callback(self._moved)
            self.tables_sent += tables.size
            self._log(f"{params.client.id}: {tables.size / 1e6:.1f} MB of pseudonymised tables "
                      "for the workers, sent once to each")
        return self._tables[ident]

    # -- results -------------------------------------------------------------------

    def _moved(self, _future: Any) -> None:
        with self._lock:
            self._progress = time.monotonic()

    def _done(self, future: Any) -> None:
        """Dask's callback thread: hand the outcome to the job's future."""
        with self._lock:
            entry = self._pending.pop(future.key, None)
            self._progress = time.monotonic()
        if entry is None:
            return
        mine = entry[1]
        if future.status == "finished":
            try:
                outcome: Any = future.result()
            except Exception as exc:  # noqa: BLE001 - fetching the result can fail too
                outcome = exc
        elif future.status == "cancelled":
            outcome = None
        else:
            outcome = future.exception()
        with self._lock:
            if mine.done():
                return
            if isinstance(outcome, Shipped):
                mine.set_result(outcome)
            elif outcome is None and self._closing:
                mine.cancel()
                mine.set_running_or_notify_cancel()
            elif outcome is None and self._client.status != "running":
                mine.set_exception(self._lost(f"lost the Dask scheduler at {self.address}"))
            elif outcome is None:
                mine.set_exception(RuntimeError(f"the cluster dropped this job ({future.status})"))
            elif isinstance(outcome, ClusterError):
                mine.set_exception(outcome)
            else:
                mine.set_exception(_worker_failure(outcome))

    def _lost(self, what: str) -> ClusterLost:
        if self._failed is None:
            self._failed = ClusterLost(
                f"{what}: the run stopped and cancelled its queued and running jobs; the "
                "jobs that finished are recorded, so running the same command again "
                "resumes from them")
        return self._failed  # type: ignore[return-value]

    # -- watching the cluster --------------------------------------------------------

    def _watch(self) -> None:
        """Mark running jobs, note jobs whose worker was lost, and stop a stalled run."""
        workers: set[str] = set()
        while not self._stop.wait(self._poll):
            with self._lock:
                pending = dict(self._pending)
            if not pending:
                self._progress = time.monotonic()
                continue
            processing = self._processing()
            now = time.monotonic()
            if processing is not None:
                self._seen(processing, pending, workers)
                workers = set(processing)
            if now - self._progress > self.stall_timeout:
                if processing is None:
                    what = (f"the Dask scheduler at {self.address} does not answer, and no "
                            f"job has run or finished for {self.stall_timeout:g} s "
                            "(--stall-timeout)")
                else:
                    what = (f"no worker of the Dask scheduler at {self.address} has run a job "
                            f"for {self.stall_timeout:g} s (--stall-timeout)")
                self._fail_all(self._lost(what))

    def _processing(self) -> dict[str, list[str]] | None:
        try:
            return self._client.sync(self._client.scheduler.processing, workers=None,
                                     callback_timeout=max(2 * self._poll, 5.0))
        except Exception:  # noqa: BLE001 - an unanswered poll counts towards a stall
            return None

    def _seen(self, processing: dict[str, list[str]], pending: dict[str, tuple[Any, _JobFuture]],
              workers: set[str]) -> None:
        running = {key: w for w, keys in processing.items() for key in keys if key in pending}
        # A worker taking the tables (which the jobs wait for) is progress too.
        if running or any(key.startswith(_TABLES) for keys in processing.values()
                          for key in keys):
            self._progress = time.monotonic()
        for key, (_, mine) in pending.items():
            previous = self._where.get(key)
            if previous and previous in workers and previous not in processing:
                now_on = running.get(key)
                mine.note = (f"worker {previous} was lost while running this job; Dask "
                             "ran it again" + (f" on {now_on}" if now_on else ""))
            if key in running:
                self._where[key] = running[key]
                with self._lock:
                    if not mine.done() and not mine.running():
                        mine.set_running_or_notify_cancel()

    def _fail_all(self, error: ClusterError) -> None:
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
            for _, mine in pending:
                if not mine.done():
                    mine.set_exception(error)
        self._cancel([f for f, _ in pending])

    def _cancel(self, futures: list[Any]) -> None:
        """Let go of ``futures`` without waiting for the scheduler's answer (a frozen
        scheduler never gives one): the scheduler cancels the jobs no one holds."""
        for future in futures:
            with contextlib.suppress(Exception):  # a lost scheduler has cancelled them
                future.release()

    # -- shutting down ---------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop watching, cancel what is left (with ``cancel_futures``) and disconnect.

        With ``wait``, first waits for the submitted jobs (unless cancelled)."""
        if not cancel_futures and wait and self._failed is None:
            with self._lock:
                waiting = [mine for _, mine in self._pending.values()]
            cf.wait(waiting)
        self._closing = True
        self._stop.set()
        with self._lock:
            pending = list(self._pending.values())
            for _, mine in pending:
                mine.cancel()
        self._cancel([f for f, _ in pending])
        if self._failed is None and self._client.status == "running":
            with contextlib.suppress(Exception):  # best effort: they die with the worker
                _bounded(self._release_kernels, 15)
        with contextlib.suppress(Exception):  # a client whose scheduler is gone or frozen
            _bounded(partial(self._client.close, timeout=5), 10)
        self._monitor.join(timeout=5)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        self.shutdown(wait=exc_type is None, cancel_futures=exc_type is not None)
        return False

    def _release_kernels(self) -> None:
        """Stop the workers' warm kernels that no job is using, so none outlives the run
        with stale code (a worker process keeps them between runs otherwise)."""
        from distributed import wait

        workers = list(self._client.scheduler_info().get("workers", {}))
        futures = [self._client.submit(release_kernel, key=f"csi-release-{uuid.uuid4().hex}",
                                       workers=[w], allow_other_workers=False, pure=False)
                   for w in workers]
        wait(futures, timeout=10)


def _hold(tables: Any) -> Any:
    """The client's tables, as a task's result that workers fetch from one another."""
    return tables


def _bounded(call: Callable[[], Any], timeout: float) -> Any:
    """``call()``, given up on after ``timeout`` seconds (a frozen scheduler never
    answers, and Dask's blocking calls have no timeout of their own)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="csi-cluster-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def check_workers(client: Any, timeout: float = 10.0) -> None:
    """Refuse workers whose environment (kit code, Python, key packages) differs from ours."""
    here = environment()
    try:
        theirs = _bounded(partial(client.run, environment), timeout)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot answer cannot be trusted
        why = "no answer" if isinstance(exc, TimeoutError) else str(exc)
        raise ClusterSetupError(f"could not read the workers' environment within "
                                f"{timeout:g} s: {why}") from None
    for address, there in sorted(theirs.items()):
        diff = environment_difference(here, there)
        if diff:
            raise ClusterSetupError(
                f"worker {address} runs a different environment: {diff}; install the same "
                "csi-kit version and locked dependencies there and restart the worker")


def _worker_failure(exc: BaseException) -> Exception:
    """A job's failure on the cluster, for its result (not the run's)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return RuntimeError(f"the workers running this job died each time it ran ({exc})")
    return exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
