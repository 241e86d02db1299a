"""A worker's tie to the runner: when the runner goes, its workers and kernels go too.

``kill -9`` of ``csi run`` gives the runner no chance to stop anything, so each
worker watches for itself. On Linux the kernel sends the worker SIGTERM when its
parent, the fork server, dies (``prctl(PR_SET_PDEATHSIG)``), and on every
platform a thread polls for the runner's end (a zombie counts as ended: the
runner's own parent may not reap it at once). Either way the worker kills its kernels' process groups and exits
at once. A kernel also watches its worker (ipykernel's parent poller, which
jupyter_client arms through ``JPY_PARENT_PID``), so none outlives its worker by
more than a second.

Ctrl-C belongs to the runner, as in nox and pytest-xdist: workers ignore SIGINT,
and the runner, once it has recorded what finished, stops them with SIGTERM.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import NoReturn

__all__ = ["follow_runner", "forget_kernel", "on_end", "stop_workers", "track_kernel"]

POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_kernels: set[int] = set()  # process group ids of this worker's kernels
_cleanups: list[Callable[[], object]] = []


def track_kernel(pid: int | None) -> None:
    """Kill this kernel (a process group leader) if the worker has to end suddenly."""
    if pid:
        _kernels.add(pid)


def forget_kernel(pid: int | None) -> None:
    """The kernel was shut down the ordinary way."""
    _kernels.discard(pid or 0)


def on_end(cleanup: Callable[[], object]) -> None:
    """Run ``cleanup`` (after the kernels are killed) when the worker ends suddenly."""
    _cleanups.append(cleanup)


def follow_runner(runner: int) -> None:
    """Pool initializer: tie this worker's life to the runner process ``runner``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_signal)
    parent = os.getppid()
    _parent_death_signal(signal.SIGTERM)
    threading.Thread(target=_watch, args=(runner, parent), name="csi-follow-runner",
                     daemon=True).start()


def _parent_death_signal(signum: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a dead process its parent has not reaped yet (a zombie,
    which still answers ``kill(pid, 0)``) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(pid, 0) is all there is
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _watch(runner: int, parent: int) -> None:
    # The runner itself, not only the parent: the fork server, our parent, lives
    # on while any worker holds its "alive" pipe, and every worker does.
    while True:
        if os.getppid() != parent or not _alive(runner):
            _end(1)
        time.sleep(POLL_SECONDS)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    _end(128 + signum)


def _end(code: int) -> NoReturn:
    for pid in list(_kernels):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    for cleanup in _cleanups:
        with contextlib.suppress(Exception):
            cleanup()
    os._exit(code)


def stop_workers(executor: cf.Executor, futures: Iterable[cf.Future], grace: float = 5.0) -> None:
    """The runner's side: cancel queued ``futures`` and end a process pool's workers
    now (SIGTERM, so each kills its kernel first; SIGKILL after ``grace`` seconds)."""
    for future in futures:
        future.cancel()
    # A process pool offers no public way to stop a running job; its process table
    # is the only handle on the workers. Other executors (Dask) cancel their futures.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    with contextlib.suppress(Exception):
        executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1)
