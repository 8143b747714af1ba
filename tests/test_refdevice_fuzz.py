"""Robustness: 10,000 seeded random and mutated frames never make an exception escape, never hit an
internal error inside the device, and leave it answering a valid read."""

from __future__ import annotations

import random

from osgp import lon
from osgp.app import FullRead
from osgpct.refdevice import build
from osgpct.refdevice.testing import Tester

N_FRAMES = 10_000
TABLES = [0, 1, 3, 4, 5, 7, 8, 20, 21, 22, 23, 50, 52, 53, 54, 55, 60, 61, 62, 63, 64, 70, 71, 74,
          2051, 2052, 2059, 2071, 2077, 2102, 2148, 2149, 4101, 4149, 4150, 6147, 2, 99, 0xFFFF]


def _random_message(rng: random.Random) -> bytes:
    """A request that is well-formed, malformed or nonsense, to go inside a valid envelope."""
    tid = rng.choice(TABLES).to_bytes(2, "big")
    kind = rng.randrange(7)
    if kind == 0:
        return b"\x30" + tid
    if kind == 1:
        return b"\x3f" + tid + rng.randrange(1 << 24 if rng.random() < 0.1 else 600).to_bytes(3, "big") + \
            rng.randrange(300).to_bytes(2, "big")
    data = rng.randbytes(rng.randrange(40))
    if kind == 2:
        return b"\x40" + tid + rng.randrange(60).to_bytes(2, "big") + data
    if kind == 3:
        return b"\x4f" + tid + rng.randrange(200).to_bytes(3, "big") + rng.randrange(60).to_bytes(2, "big") + data
    if kind == 4:  # procedure with random number and parameters
        number = rng.choice([3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15, 2050, 2051, 2064, 2128, 2129, 2130, 2131,
                             rng.randrange(4096)])
        params = rng.randbytes(rng.randrange(20))
        image = (number | rng.randrange(4) << 12).to_bytes(2, "little") + bytes([rng.randrange(256)]) + params
        return b"\x40\x00\x07" + len(image).to_bytes(2, "big") + image
    if kind == 5:
        return rng.randbytes(rng.randrange(1, 12))
    return b"\x3f" + tid  # truncated header


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    b = bytearray(frame)
    op = rng.randrange(5)
    if op == 0 and b:
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:
        b = b[: rng.randrange(len(b) + 1)]
    elif op == 2:
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = rng.randbytes(rng.randrange(1, 20))
    elif op == 3 and b:
        del b[rng.randrange(len(b))]
    else:
        b = bytearray(rng.randbytes(rng.randrange(0, 64)))
    body = bytes(b[:-2]) if len(b) > 2 else bytes(b)
    if rng.random() < 0.7 and len(b) > 2:  # mostly give it a valid CRC so the deeper layers see it
        return body + lon.crc16(body).to_bytes(2, "big")
    return bytes(b)


def test_fuzzed_frames_never_break_the_device():
    rng = random.Random(20240301)
    d = build(**{"metering.relay_min_spacing_s": 0.0})
    t = Tester(d)
    answered = 0
    for i in range(N_FRAMES):
        t.advance(rng.choice((0.0, 0.05, 1.0, 60.0, 3600.0)) if i % 7 else 0.0)
        # mostly the next sequence number (so requests get executed), sometimes any number
        seq = (d.security.seq + 1) % (1 << 32) if rng.random() < 0.9 else rng.randrange(1 << 32)
        pdu = t.profile.protect_request(_random_message(rng), seq, encrypt=rng.random() < 0.5).pdu
        authentic = rng.random() < 0.5  # authenticated nonsense exercises the services, not only the envelope
        frame = t.frame(pdu) if authentic else _mutate(rng, t.frame(pdu))
        out = d.on_frame(frame, t.now)  # must not raise
        answered += bool(out)
        for when, reply in out:
            assert when >= t.now
            lon.decode(reply)  # every answer is a well-formed frame with a good CRC
    internal = [line for line in d.log if "internal error" in line]
    assert not internal, internal[:5]
    assert answered > N_FRAMES // 3
    assert d.messages_validated > N_FRAMES // 3  # most authentic frames got through to the services
    t.seq = d.security.seq
    assert t.exchange(FullRead(1)).response.data[:4] == b"OSGP"


def test_fuzz_across_security_modes_and_power_cycles():
    rng = random.Random(7)
    for mode in ("digest", "aes128"):
        d = build(**{"security.mode": mode})
        t = Tester(d)
        for i in range(500):
            pdu = t.profile.protect_request(_random_message(rng), (d.security.seq + 1) % (1 << 32)).pdu
            frame = t.frame(pdu) if i % 2 else _mutate(rng, t.frame(pdu))
            d.on_frame(frame, t.now)
            if i % 100 == 99:
                d.power_cycle(t.now, outage_s=rng.random() * 10)
        assert not [line for line in d.log if "internal error" in line]
        t.seq = d.security.seq
        assert t.read(1).code == 0
