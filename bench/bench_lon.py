"""Cost of the 14908-1 layer per frame and per exchange (prints figures; asserts nothing).

Run: .venv/bin/python bench/bench_lon.py
Compare with the power-line airtime of a frame: 30-260 ms at A-band (lower-layers §5.1).
"""

from __future__ import annotations

import time

from osgp.lon import Lpdu, Spdu, SpduType, SubnetNodeAddress, crc16, decode, encode
from osgp.transaction import Delivery, Requester, Responder, ToNode


def per_call(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> None:
    frame = Lpdu(False, False, 1, 0, SubnetNodeAddress(1, 5, 1, 0x7F), b"\x01",
                 Spdu(False, SpduType.REQUEST, 3), bytes(60))
    raw = encode(frame)
    n = 20_000
    print(f"frame of {len(raw)} bytes (60-byte APDU, 2a, 1-byte domain, with CRC)")
    print(f"  crc16   {per_call(lambda: crc16(raw[:-2]), n) * 1e6:8.2f} µs")
    print(f"  encode  {per_call(lambda: encode(frame), n) * 1e6:8.2f} µs")
    print(f"  decode  {per_call(lambda: decode(raw), n) * 1e6:8.2f} µs")

    req = Requester(1, 5, b"\x01")
    dev = Responder(1, 0x7F, b"\x01")
    now = 0.0

    def exchange() -> None:
        nonlocal now
        now += 10.0  # past the receive timer, so every request is new
        (out,) = req.start(ToNode(1, 0x7F), bytes(20), now=now)
        got = dev.on_frame(decode(encode(out)), now)
        assert isinstance(got, Delivery)
        resp = dev.respond(got, bytes(60), now)
        assert req.on_frame(decode(encode(resp)), now) is not None

    m = 5_000
    print(f"request/response exchange through bytes, both roles: {per_call(exchange, m) * 1e6:8.2f} µs")


if __name__ == "__main__":
    main()
