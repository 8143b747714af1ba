"""The wall-clock bound of one test body (pixit.test_timeout_s / --osgp-timeout)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from osgpct.testcase import CaseRun


@contextlib.contextmanager
def alarm(run: CaseRun, seconds: float | None, busy: Any = lambda: False) -> Iterator[bool]:
    """Interrupt the test body after `seconds` of wall-clock time (SIGALRM, main thread, POSIX only).

    No thread is killed: the signal raises CaseTimeout inside the body wherever it is (also inside a
    blocking receive), the body unwinds through its `finally` blocks, and the campaign goes on. While
    `busy()` (evidence being filed) the alarm waits 10 ms, so a frame is never half recorded. Where
    SIGALRM is unavailable, the bound is still checked at every tc call and every DUT exchange, and
    after the body returns. Yields whether the alarm is armed.
    """
    usable = bool(seconds) and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield False
        return

    def expire(signum: int, frame: Any) -> None:
        if busy():
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        run.expire()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
