"""Round-trip cost of the drivers themselves, with an echo device core.

    .venv/bin/python bench/bench_drivers.py [--n 2000]

Prints median and p95 per exchange (send + receive of one frame each way) for:
- loopback, no channel model (target < 50 µs);
- cnip+udp over 127.0.0.1 against drivers.server.serve in a thread (target < 1 ms);
- for information: cnip+tcp, and serial U61 through a pty to the NI simulator.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from osgpct.drivers import Driver, open_driver  # noqa: E402
from osgpct.drivers.server import serve  # noqa: E402
from osgpct.drivers.testing import EchoCore, FdPort  # noqa: E402

FRAME = bytes.fromhex("01 19 01 C9 01 98 01 0B 73 07 30 04")  # SPDU REQUEST, with CRC


def measure(d: Driver, n: int) -> list[float]:
    out = []
    clock = d.clock
    for _ in range(n):
        t0 = time.perf_counter()
        d.send(FRAME)
        reply = d.receive(clock.now() + 2.0)
        out.append(time.perf_counter() - t0)
        if reply != FRAME:
            raise SystemExit(f"{d.describe()['driver']}: wrong or missing reply {reply!r}")
    return out


def report(name: str, samples: list[float], target: float | None) -> bool:
    samples = sorted(samples)
    med = statistics.median(samples)
    p95 = samples[int(0.95 * (len(samples) - 1))]
    verdict = "" if target is None else ("  OK" if med < target else "  OVER TARGET")
    goal = f" (target median < {target * 1e6:.0f} µs)" if target else ""
    print(f"{name:34} n={len(samples):5}  median {med * 1e6:8.1f} µs  p95 {p95 * 1e6:8.1f} µs{goal}{verdict}")
    return target is None or med < target


def served(url: str, run: Callable[[str], list[float]]) -> list[float]:
    stop, ready = threading.Event(), queue.Queue()
    t = threading.Thread(target=serve, args=(url, EchoCore()), daemon=True,
                         kwargs={"log": lambda line: None, "stop": stop, "on_ready": ready.put})
    t.start()
    try:
        return run(ready.get(timeout=5))
    finally:
        stop.set()
        t.join(5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="exchanges per transport (default 2000)")
    n = ap.parse_args().n
    ok = True

    with open_driver("loopback:", device=EchoCore()) as d:
        measure(d, 200)  # warm-up
        ok &= report("loopback (virtual clock)", measure(d, n), 50e-6)

    def over(url: str) -> list[float]:
        with open_driver(url) as d:
            measure(d, 200)
            return measure(d, n)

    ok &= report("cnip+udp 127.0.0.1 vs serve()", served("cnip+udp://127.0.0.1:0", over), 1e-3)
    report("cnip+tcp 127.0.0.1 vs serve()", served("cnip+tcp://127.0.0.1:0", over), None)

    master, slave = os.openpty()
    tty.setraw(slave)
    pty_driver = open_driver("serial://pty?framing=u61", port=FdPort(master))

    def over_pty(url: str) -> list[float]:
        pty_driver.open()
        measure(pty_driver, 50)
        return measure(pty_driver, max(200, n // 4))

    try:
        report("serial u61 pty vs NI simulator", served(f"serial://{os.ttyname(slave)}?framing=u61", over_pty),
               None)
    finally:
        pty_driver.close()  # after the server stopped: closing the master first would be a vanished port
        os.close(slave)

    loop = open_driver("loopback:?channel=a-band", device=EchoCore())
    with loop:
        measure(loop, 100)
    print(f"modelled A-band exchange of a {len(FRAME)}-byte frame each way: "
          f"{loop.clock.now() / 100 * 1e3:.1f} ms of virtual time (airtime only, no MAC or device time)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
