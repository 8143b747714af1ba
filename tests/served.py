"""The conforming reference device served on a real transport in a thread (for the self-tests)."""

from __future__ import annotations

import threading

from osgp.clock import MonotonicClock
from osgpct import killmatrix
from osgpct.connect import refdevice_factory
from osgpct.drivers.server import serve
from osgpct.plan import load_plan


class Served:
    """The conforming reference device (configured from the default plan) served in a thread."""

    def __init__(self, url: str) -> None:
        plan = load_plan(killmatrix.DEFAULT_PLAN)
        self.device = refdevice_factory(plan)(clock=MonotonicClock(), faults=())
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.url = url
        self.log: list[str] = []
        self.thread = threading.Thread(target=serve, args=(url, self.device), daemon=True,
                                       kwargs={"stop": self.stop, "on_ready": self._ready, "log": self.log.append})

    def _ready(self, url: str) -> None:
        self.url = url
        self.ready.set()

    def __enter__(self) -> Served:
        self.thread.start()
        assert self.ready.wait(10), "the server did not come up: " + " | ".join(self.log[-3:])
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
