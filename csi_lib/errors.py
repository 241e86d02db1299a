"""The kit's exceptions: one small tree, each message says what, where and the fix."""

from __future__ import annotations

import signal

__all__ = [
    "ClusterError",
    "ClusterLost",
    "ClusterSetupError",
    "CsiError",
    "DataError",
    "Interrupted",
    "NotebookError",
    "ParamsError",
    "PublishError",
    "RenderError",
]


class CsiError(Exception):
    """Base class of every error the kit raises on purpose."""


class ParamsError(CsiError):
    """A params file is missing, malformed or names something that does not exist."""


class DataError(CsiError):
    """An export cannot be read or fails validation so badly that no report can trust it."""


class NotebookError(CsiError):
    """A notebook does not declare what the runner needs (parameters tag, parameter names)."""


class RenderError(CsiError):
    """An executed notebook could not be turned into HTML or PDF."""


class PublishError(CsiError):
    """Outputs could not be moved into place without damaging a published period."""


class ClusterError(CsiError):
    """A Dask cluster could not run the jobs."""


class ClusterSetupError(ClusterError):
    """No scheduler at the address, no workers, or workers whose environment differs."""


class ClusterLost(ClusterError):
    """The scheduler went away, or the cluster made no progress, in the middle of a run."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (SIGINT) or SIGTERM; what finished is recorded."""

    def __init__(self, signum: int = signal.SIGINT, done: int | None = None,
                 not_run: int | None = None) -> None:
        super().__init__(signum)
        self.signum, self.done, self.not_run = int(signum), done, not_run

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for TERM)."""
        return 128 + self.signum

    def line(self) -> str:
        """What the user sees: one line, no traceback."""
        if self.done is None:
            return "interrupted before any report ran; run the same command to start again"
        return (f"interrupted: {self.done} done, {self.not_run} not run; "
                "run the same command to resume")
