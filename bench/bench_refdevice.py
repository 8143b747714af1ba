"""Reference device throughput: read exchanges through the sans-IO core, and over CN/IP UDP on loopback.

    .venv/bin/python bench/bench_refdevice.py [--n 1000]

1. core: `device.on_frame` alone (device cost per request) and the whole exchange through the
   in-process tester (tester encode/protect + device + tester verify/decode), per security mode;
2. cnip+udp: `drivers.server.serve(build())` in a thread on 127.0.0.1, driven by `osgp.session.Session`
   over the cnip+udp driver, N partial reads of BT23. Target: N = 1000 in < 5 s.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from osgp.app import PartialRead, bt  # noqa: E402
from osgpct.refdevice import build  # noqa: E402
from osgpct.refdevice.testing import Tester  # noqa: E402

READ = PartialRead(bt(23), 0, 44)


def core(mode: str, n: int) -> tuple[float, float]:
    """(device-only seconds per request, whole-exchange seconds per request)."""
    device = build(**{"security.mode": mode})
    t = Tester(device)
    for _ in range(100):
        t.exchange(READ)
    device_time, t0 = 0.0, time.perf_counter()
    on_frame = device.on_frame
    for _ in range(n):
        t.seq += 1
        frame = t.frame(t.profile.protect_request(b"\x3f\x00\x17\x00\x00\x00\x00\x2c", t.seq).pdu)
        d0 = time.perf_counter()
        out = on_frame(frame, t.now)
        device_time += time.perf_counter() - d0
        assert out
    total = time.perf_counter() - t0
    for _ in range(n // 10):  # the tester's full path, checked answer included
        assert t.exchange(READ).response.code == 0
    return device_time / n, total / n


def over_udp(n: int) -> tuple[float, list[float]]:
    from osgp.security import Rc4Profile
    from osgp.session import Session, SessionConfig
    from osgp.transaction import ToNode
    from osgpct.drivers import open_driver
    from osgpct.drivers.server import serve

    device = build()
    c = device.config
    stop, ready = threading.Event(), queue.Queue()
    server = threading.Thread(target=serve, args=("cnip+udp://127.0.0.1:0", device), daemon=True,
                              kwargs={"log": lambda line: None, "stop": stop, "on_ready": ready.put})
    server.start()
    try:
        url = ready.get(timeout=5)
        keys = [c.security.keys["full"], c.security.keys["read"]]
        config = SessionConfig(domain=bytes.fromhex(c.address.domain), tester_subnet=c.address.subnet,
                               tester_node=127, dut=ToNode(c.address.subnet, c.address.node),
                               profile=Rc4Profile(keys))
        with open_driver(url) as driver:
            session = Session(driver, config)
            session.read_partial(bt(23), 0, 44)  # learns the sequence number (0x0C, then retry)
            samples = []
            t0 = time.perf_counter()
            for _ in range(n):
                s0 = time.perf_counter()
                resp = session.read_partial(bt(23), 0, 44)
                samples.append(time.perf_counter() - s0)
                assert resp.code == 0 and len(resp.data) == 44, resp
            return time.perf_counter() - t0, samples
    finally:
        stop.set()
        server.join(5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="read exchanges per measurement (default 1000)")
    n = ap.parse_args().n
    print(f"reference device, {n} partial reads of BT23 (44 bytes) per line")
    for mode in ("digest", "rc4", "aes128"):
        dev, whole = core(mode, n)
        print(f"  core {mode:7}  device on_frame {dev * 1e6:7.1f} µs/request   "
              f"frame in+out incl. tester encode {whole * 1e6:7.1f} µs/request   total {whole * n:6.3f} s")
    try:
        total, samples = over_udp(n)
    except ImportError as exc:
        print(f"  cnip+udp: skipped ({exc})")
        return 0
    samples.sort()
    verdict = "OK" if total < 5.0 else "OVER TARGET"
    print(f"  cnip+udp 127.0.0.1 via Session: {n} reads in {total:.3f} s (target < 5 s: {verdict}); "
          f"median {statistics.median(samples) * 1e3:.3f} ms, p95 {samples[int(0.95 * (n - 1))] * 1e3:.3f} ms")
    return 0 if total < 5.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
