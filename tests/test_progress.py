from __future__ import annotations

import io

from csi_lib.runner.progress import Progress


def test_line_counts_done_failed_remaining_and_running_jobs() -> None:
    p = Progress(5, stream=io.StringIO(), live=True)
    p.finished(True, reused=True)
    p.finished(True)
    p.finished(False)
    line = p.line(["demo/network/baseline", "demo/erp/baseline", "demo/a/b", "demo/c/d"])
    assert line.startswith("[3/5 done, 1 failed, 2 to go]")
    assert "left" in line  # an estimate once a job has run
    assert "demo/network/baseline, demo/erp/baseline, demo/a/b +1" in line


def test_no_estimate_before_any_job_ran() -> None:
    p = Progress(3, stream=io.StringIO(), live=True)
    p.finished(True, reused=True)
    assert "left" not in p.line([])


def test_quiet_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    p = Progress(2, stream=stream)  # StringIO is not a tty
    p.show(["demo/x/baseline"])
    p.close()
    assert stream.getvalue() == ""


def test_live_display_rewrites_one_line_and_clears_it() -> None:
    stream = io.StringIO()
    p = Progress(2, stream=stream, live=True)
    p.show(["demo/x/baseline"])
    p.finished(True)
    p.show([])
    p.close()
    out = stream.getvalue()
    assert out.count("\r") >= 3 and "\n" not in out
    assert out.endswith("\r")
