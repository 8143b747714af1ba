"""Serial framings (MIP/U61, SLTA-10), the serial driver and the NI simulator behind a pty."""

from __future__ import annotations

import os
import queue
import select
import threading
import time
import tty
from collections.abc import Iterator

import pytest

from osgp.errors import TransportError
from osgpct.drivers import open_driver
from osgpct.drivers.framing import NACK, LinkControl, NiMessage, SltaCodec, U61Codec
from osgpct.drivers.serial import SerialDriver
from osgpct.drivers.server import serve
from osgpct.drivers.testing import EchoCore, FdPort

# Hand-built: frame (1) of the Wireshark sample, its CRC, and its L2 downlinks (digest §4.1/§4.2 examples).
BODY = bytes.fromhex("01 09 01 AA 01 A9 01 03 81 0D 00 CA")
FRAME = BODY + bytes.fromhex("09 9E")
U61_DOWN = bytes.fromhex("7E 00 0D 12 01 09 01 AA 01 A9 01 03 81 0D 00 CA")
SLTA_DOWN = bytes.fromhex("0D F2 12 01 09 01 AA 01 A9 01 03 81 0D 00 CA 33")
U61_UP_1C = bytes.fromhex("7E 00 12 1C 00") + FRAME + bytes.fromhex("00 00")  # zero-crossing, frame, 2 regs
U61_RESET_L2 = bytes.fromhex("7E 00 03 50 01 0F")
U61_RESET_L5 = bytes.fromhex("7E 00 03 50 00 0F")
U61_LMODE_L2 = bytes.fromhex("7E 00 02 E5 01")
U61_PHASE_2 = bytes.fromhex("7E 00 01 42")


# -- codecs ----------------------------------------------------------------------------------------


def test_u61_encodes_the_digest_example_and_escapes_the_payload_only():
    c = U61Codec()
    assert c.encode(0x12, BODY) == U61_DOWN
    assert c.encode(0x12, b"\x7e\x01") == bytes.fromhex("7E 00 03 12 7E 7E 01")
    long_ = c.encode(0x12, bytes(0x7D))  # LEN = 0x7E travels raw
    assert long_[:4] == bytes.fromhex("7E 00 7E 12")
    assert c.feed(long_, 0.0) == [NiMessage(0x12, bytes(0x7D))]
    big = bytes(range(256)) + bytes(44)
    enc = c.encode(0x1A, big)
    assert enc[:5] == bytes.fromhex("7E 00 FF 01 2D")  # extended length form for > 240
    assert c.feed(enc, 0.0) == [NiMessage(0x1A, big)]


def test_u61_decodes_byte_by_byte_and_resynchronises():
    c = U61Codec()
    frames = U61_UP_1C + c.encode(0x1A, b"\x7e\x7e\x00")
    got = [m for b in frames for m in c.feed(bytes([b]), 0.0)]
    assert got == [NiMessage(0x1C, U61_UP_1C[4:]), NiMessage(0x1A, b"\x7e\x7e\x00")]
    assert c.drain() == []
    # 7E 00 inside a frame restarts framing; 7E + other byte is a frame error; junk is skipped.
    stream = (bytes.fromhex("7E 00 05 1A 01 02") + bytes.fromhex("7E 00 03 1A AA BB")
              + bytes.fromhex("7E 00 04 1A 01 7E 41 02") + b"\x11\x22" + bytes.fromhex("7E 00 02 1A 7E 7E"))
    assert c.feed(stream, 0.0) == [NiMessage(0x1A, b"\xaa\xbb"), NiMessage(0x1A, b"\x7e")]
    notes = "\n".join(c.drain())
    assert "resync (7E 00) inside a frame" in notes
    assert "garbled escape 7E 41" in notes
    assert "skipped" in notes


def test_u61_half_frame_is_discarded_after_the_timeout():
    c = U61Codec(timeout=1.0)
    assert c.feed(bytes.fromhex("7E 00 05 1A 01"), 0.0) == []
    c.expire(0.5)
    assert c.busy and c.drain() == []
    c.expire(1.5)
    assert not c.busy
    assert "incomplete frame discarded after 1 s (1 of 4 payload bytes" in c.drain()[0]


def test_slta_encodes_the_digest_example_and_checks_everything():
    c = SltaCodec()
    assert c.encode(0x12, BODY) == SLTA_DOWN
    assert c.feed(SLTA_DOWN, 0.0) == [NiMessage(0x12, BODY)]
    bad = SLTA_DOWN[:-1] + b"\x34"
    assert c.feed(bad + b"\x99" + SLTA_DOWN, 0.0) == [LinkControl(-1), NiMessage(0x12, BODY)]
    notes = "\n".join(c.drain())
    assert "bad checksum" in notes and "mismatch" in notes
    assert c.feed(SLTA_DOWN[:5], 0.0) == [] and c.busy
    c.expire(0.2)
    assert not c.busy and "byte timeout" in c.drain()[0]


def test_slta_reliable_mode_carries_a_sequence_byte_and_link_controls():
    c = SltaCodec(reliable=True)
    framed = c.encode(0x1A, FRAME, seq=7)
    assert framed[0] == 7 and framed[1:] == SltaCodec().encode(0x1A, FRAME)
    assert c.feed(b"\x06" + framed + b"\x15", 0.0) == [LinkControl(0x06), NiMessage(0x1A, FRAME, 7),
                                                        LinkControl(0x15)]


# -- driver on pyserial loop:// --------------------------------------------------------------------


def _loop(query: str = "") -> SerialDriver:
    d = open_driver(f"serial://loop://?framing=u61&l2init=0{query}")
    assert isinstance(d, SerialDriver)
    d.open()
    return d


def test_loop_uplinks_are_unwrapped():
    d = _loop("&phase=none")
    d.port.write(U61_UP_1C + U61Codec().encode(0x1A, FRAME))
    assert d.receive(time.monotonic() + 1) == FRAME
    assert d.receive(time.monotonic() + 1) == FRAME
    assert d.observations == []
    d.close()


def test_loop_faults_are_observations():
    d = _loop()
    c = U61Codec()
    bad_crc = FRAME[:-1] + b"\x00"
    d.port.write(bytes.fromhex("7E 00 06 1C 00 01 7E 41 02")  # garbled escape
                 + c.encode(0x1C, b"\x00\x01\x02")  # too short for a mode-2 uplink
                 + c.encode(0x31)  # NI reports a CRC error
                 + c.encode(0x1C, b"\x00" + bad_crc + b"\x00\x00"))
    notes: list[str] = []
    d.add_tap(lambda e: notes.append(e.note))
    assert d.receive(time.monotonic() + 1) == bad_crc
    assert notes == ["bad CRC"]
    text = "\n".join(d.observations)
    for expected in ("garbled escape 7E 41", "0x1C too short", "CRC error (0x31)", "wrong CRC"):
        assert expected in text


def test_loop_silent_port_gives_none_at_the_deadline():
    d = _loop()
    t0 = time.monotonic()
    assert d.receive(t0 + 0.15) is None
    assert 0.14 <= time.monotonic() - t0 < 0.5


def test_loop_port_closed_mid_run_is_a_transport_error():
    d = _loop()
    d.port.close()
    with pytest.raises(TransportError, match="serial port loop:// failed"):
        d.receive(time.monotonic() + 1)
    with pytest.raises(TransportError):
        d.send(FRAME)


def test_missing_device_is_a_transport_error():
    with pytest.raises(TransportError, match="cannot open serial port /dev/nonexistent-tty"):
        open_driver("serial:///dev/nonexistent-tty?framing=u61").open()


# -- driver on a pty, the test playing the NI ------------------------------------------------------


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, int]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def read_exactly(fd: int, n: int, timeout: float = 2.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < n:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"only {out.hex(' ')} of {n} bytes arrived")
        out += os.read(fd, n - len(out))
    return out


def test_u61_layer2_start_up_reset_handling_and_downlinks(pty_pair):
    master, ni = pty_pair
    os.write(ni, U61_RESET_L2)  # the NI's answer to niLMODE, already waiting in the pty
    d = open_driver("serial://pty?framing=u61&init_timeout=2", port=FdPort(master))
    with d:
        assert read_exactly(ni, 5 + 4) == U61_LMODE_L2 + U61_PHASE_2
        assert d.describe()["layer2_mode"] == "confirmed"
        d.send(FRAME)
        assert read_exactly(ni, len(U61_DOWN)) == U61_DOWN  # CRC stripped: the NI appends it
        d.send(bytes([0x81]) + FRAME[1:])  # priority frame → priority queue 0x13
        assert read_exactly(ni, len(U61_DOWN))[3] == 0x13
        os.write(ni, U61_RESET_L5)  # the NI reset and fell back to layer 5
        assert d.receive(time.monotonic() + 0.1) is None
        assert read_exactly(ni, 5) == U61_LMODE_L2
        os.write(ni, U61_RESET_L2 + U61_UP_1C)
        assert d.receive(time.monotonic() + 1) == FRAME
        assert read_exactly(ni, 4) == U61_PHASE_2
        assert any("re-entering layer-2 mode" in o for o in d.observations)


def test_u61_unconfirmed_layer2_is_an_observation_after_a_bounded_wait(pty_pair):
    master, ni = pty_pair
    t0 = time.monotonic()
    with open_driver("serial://pty?framing=u61&init_timeout=0.1", port=FdPort(master)) as d:
        assert time.monotonic() - t0 < 1.0
        assert any("did not confirm layer-2 mode" in o for o in d.observations)


def test_slta_reliable_resends_on_nack_and_gives_up_without_ack(pty_pair):
    master, ni = pty_pair
    d = open_driver("serial://pty?framing=slta&ack=1&ack_timeout=0.1&retries=3&l2init=0", port=FdPort(master))
    with d:
        os.write(ni, b"\x15\x06")  # NACK the first copy, ACK the second
        d.send(FRAME)
        framed = bytes([1]) + SLTA_DOWN
        assert read_exactly(ni, 2 * len(framed)) == framed * 2
        assert any("NACK for seq 1 (attempt 1 of 3)" in o for o in d.observations)
        t0 = time.monotonic()
        with pytest.raises(TransportError, match="did not acknowledge a frame after 3 attempts"):
            d.send(FRAME)
        assert time.monotonic() - t0 < 1.0


def test_slta_reliable_receiver_nacks_bad_checksums_and_acks_good_frames(pty_pair):
    master, ni = pty_pair
    c = SltaCodec(reliable=True)
    good = c.encode(0x1A, FRAME, seq=3)
    with open_driver("serial://pty?framing=slta&ack=1&l2init=0", port=FdPort(master)) as d:
        os.write(ni, good[:-1] + bytes([good[-1] ^ 1]) + good + good)  # damaged, good, duplicate
        assert d.receive(time.monotonic() + 1) == FRAME
        assert d.receive(time.monotonic() + 0.1) is None  # the duplicate is not delivered twice
        assert read_exactly(ni, 3) == bytes([NACK, 0x06, 0x06])
        assert any("bad checksum" in o for o in d.observations)
        assert any("duplicate frame seq 3" in o for o in d.observations)


def test_vanished_pty_is_a_transport_error(pty_pair):
    master, slave = pty_pair
    path = os.ttyname(slave)
    with open_driver(f"serial://{path}?framing=u61&l2init=0") as d:
        os.close(master)
        with pytest.raises(TransportError, match=f"serial port {path} failed"):
            d.receive(time.monotonic() + 1)


# -- the NI simulator served on a pty --------------------------------------------------------------


@pytest.mark.parametrize("query", ["framing=u61", "framing=slta", "framing=slta&ack=1&uplink=1c"])
def test_served_device_behind_a_simulated_ni(pty_pair, query):
    master, slave = pty_pair
    stop, ready, lines = threading.Event(), queue.Queue(), []

    def run() -> None:
        try:
            serve(f"serial://{os.ttyname(slave)}?{query}", EchoCore(), log=lines.append, stop=stop,
                  on_ready=ready.put)
        except Exception as e:
            ready.put(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert not isinstance(ready.get(timeout=5), Exception)
    try:
        with open_driver(f"serial://pty?{query.replace('&uplink=1c', '')}&init_timeout=2",
                         port=FdPort(master)) as d:
            assert d.describe()["layer2_mode"] == "confirmed"
            for _ in range(3):
                d.send(FRAME)
                assert d.receive(time.monotonic() + 2) == FRAME
            assert not any("wrong CRC" in o or "unexpected" in o for o in d.observations), d.observations
    finally:
        stop.set()
        t.join(5)
    assert not t.is_alive()
    assert sum("<-" in line for line in lines) == 3
    assert any("layer mode set to L2" in line for line in lines)
