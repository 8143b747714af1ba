"""CN/IP over UDP and TCP: driver against raw sockets and against drivers.server.serve."""

from __future__ import annotations

import queue
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from osgp.errors import ConfigError, TransportError
from osgp.lon import crc16
from osgpct.drivers import open_driver
from osgpct.drivers.base import with_crc
from osgpct.drivers.cnip import CnipTcpDriver, CnipUdpDriver
from osgpct.drivers.server import serve
from osgpct.drivers.testing import EchoCore

# Hand-built LPDUs with their CRCs (digest §1.8 vectors).
REQ = bytes.fromhex("01 19 01 C9 01 98 01 0B 73 07 30 04")  # SPDU REQUEST tid 11, NM NV_FETCH
ACKD = bytes.fromhex("01 09 01 AA 01 A9 01 03 81 0D 00 CA 09 9E")


def header(length: int, seq: int = 0, type_: int = 1, session: int = 0x6B8B4567, flags: int = 0) -> bytes:
    return struct.pack(">HBBBBHIII", length, 1, type_, 0, flags, 0, session, seq, 0)


def packet(payload: bytes, seq: int = 0, **kw) -> bytes:
    return header(20 + len(payload), seq, **kw) + payload


@contextmanager
def serving(url: str, core) -> Iterator[tuple[str, list[str]]]:
    stop, ready, lines = threading.Event(), queue.Queue(), []

    def run() -> None:
        try:
            serve(url, core, log=lines.append, stop=stop, on_ready=ready.put)
        except Exception as e:  # hand it to the test instead of a thread warning
            ready.put(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    bound = ready.get(timeout=5)
    if isinstance(bound, Exception):
        raise bound
    try:
        yield bound, lines
    finally:
        stop.set()
        t.join(5)
        assert not t.is_alive(), "server did not stop"


@pytest.fixture
def udp_peer() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2.0)
    yield s
    s.close()


def _udp(peer: socket.socket, query: str = "") -> CnipUdpDriver:
    d = open_driver(f"cnip+udp://127.0.0.1:{peer.getsockname()[1]}{query}")
    assert isinstance(d, CnipUdpDriver)
    d.open()
    return d


def test_udp_packets_on_the_wire_follow_14908_4(udp_peer):
    d = _udp(udp_peer)
    d.send(REQ)
    d.send(ACKD)
    first, addr = udp_peer.recvfrom(2048)
    second, _ = udp_peer.recvfrom(2048)
    length, ver, typ, exth, flags, vendor, session, seq, _stamp = struct.unpack(">HBBBBHIII", first[:20])
    assert (length, ver, typ, exth, flags, vendor, seq) == (20 + len(REQ), 1, 1, 0, 0, 0, 0)
    assert first[20:] == REQ  # CRC included by default
    assert session == d.session and struct.unpack(">I", second[12:16])[0] == 1
    assert struct.unpack(">I", second[8:12])[0] == session
    # The answer comes back through the same connected socket.
    udp_peer.sendto(packet(ACKD, seq=0), addr)
    assert d.receive(time.monotonic() + 2) == ACKD
    d.close()


def test_udp_crc_0_strips_on_send_and_appends_on_receive(udp_peer):
    d = _udp(udp_peer, "?crc=0")
    d.send(REQ)
    data, addr = udp_peer.recvfrom(2048)
    assert data[20:] == REQ[:-2] and struct.unpack(">H", data[:2])[0] == 20 + len(REQ) - 2
    udp_peer.sendto(packet(ACKD[:-2]), addr)
    assert d.receive(time.monotonic() + 2) == ACKD
    assert d.describe()["lpdu_crc"] == "omitted on the wire"


def test_udp_silent_peer_gives_none_at_the_deadline(udp_peer):
    d = _udp(udp_peer)
    d.send(REQ)
    t0 = time.monotonic()
    assert d.receive(t0 + 0.2) is None
    assert 0.19 <= time.monotonic() - t0 < 1.0


def test_udp_malformed_packets_are_observations_not_crashes(udp_peer):
    d = _udp(udp_peer)
    d.send(REQ)
    _, addr = udp_peer.recvfrom(2048)
    bad = [
        b"\x00\x20\x01",  # truncated header
        header(99) + ACKD,  # length field disagrees with the datagram
        packet(b"", type_=0x63),  # device configuration request, not data
        packet(ACKD, flags=0x20),  # MD5-secured: unsupported
        packet(b"\x01"),  # LPDU too short to hold a CRC
    ]
    for b in bad:
        udp_peer.sendto(b, addr)
    udp_peer.sendto(packet(ACKD, seq=1), addr)
    assert d.receive(time.monotonic() + 2) == ACKD
    text = "\n".join(d.observations)
    for expected in ("shorter than the 20-byte header", "length field says 99", "0x63 (device configuration",
                     "flags 0x20", "1-byte LPDU"):
        assert expected in text


def test_udp_sequence_gaps_and_bad_crc_are_observed(udp_peer):
    d = _udp(udp_peer)
    notes: list[str] = []
    d.add_tap(lambda e: notes.append(e.note))
    d.send(REQ)
    _, addr = udp_peer.recvfrom(2048)
    bad_crc = ACKD[:-1] + bytes([ACKD[-1] ^ 0xFF])
    for seq, frame in ((5, ACKD), (8, ACKD), (7, bad_crc)):
        udp_peer.sendto(packet(frame, seq=seq), addr)
        assert d.receive(time.monotonic() + 2) == frame  # a wrong CRC is still delivered, for judging
    assert any("expected 6, got 8 (2 packet(s) missing)" in o for o in d.observations)
    assert any("went back: expected 9, got 7" in o for o in d.observations)
    assert any("wrong CRC" in o for o in d.observations)
    assert notes == ["", "", "", "bad CRC"]


def test_udp_refused_port_is_a_transport_error():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there any more: the kernel answers ICMP port unreachable
    d = open_driver(f"cnip+udp://127.0.0.1:{port}")
    with d, pytest.raises(TransportError, match="refused"):
        for _ in range(3):
            d.send(REQ)
            d.receive(time.monotonic() + 0.5)


def test_udp_against_the_server_with_a_derived_answer():
    core = EchoCore(transform=lambda f: with_crc(bytes([f[0] & 0x40]) + f[1:-2]))  # backlog bits cleared
    body = bytes.fromhex("00 19 01 C9 01 98 01 0B 73 07")
    answer = body + crc16(body).to_bytes(2, "big")
    with serving("cnip+udp://127.0.0.1:0", core) as (url, lines):
        with open_driver(url) as d:
            for _ in range(3):
                d.send(REQ)
                assert d.receive(time.monotonic() + 2) == answer
            assert d.observations == []  # no sequence gaps, good CRCs
        # garbage to the server: logged, not fatal
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        host, port = url.removeprefix("cnip+udp://").rsplit(":", 1)
        raw.sendto(b"garbage", (host, int(port)))
        raw.close()
        with open_driver(url) as d2:
            d2.send(ACKD)
            assert d2.receive(time.monotonic() + 2) is not None
    assert sum("<-" in line for line in lines) == 4
    assert any("dropped CN/IP packet" in line for line in lines)
    assert any("SPDU" in line or "73 07" in line for line in lines)


def test_server_survives_a_core_that_raises():
    def boom(frame: bytes) -> bytes:
        if frame == REQ:
            raise RuntimeError("device bug")
        return frame

    with serving("cnip+udp://127.0.0.1:0", EchoCore(transform=boom)) as (url, lines):
        with open_driver(url) as d:
            d.send(REQ)
            assert d.receive(time.monotonic() + 0.3) is None
            d.send(ACKD)
            assert d.receive(time.monotonic() + 2) == ACKD
    assert any("device bug" in line for line in lines)


# -- TCP -------------------------------------------------------------------------------------------


@pytest.fixture
def tcp_listener() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    s.settimeout(2.0)
    yield s
    s.close()


def test_tcp_length_field_delimits_packets_split_or_joined(tcp_listener):
    d = open_driver(f"cnip+tcp://127.0.0.1:{tcp_listener.getsockname()[1]}")
    assert isinstance(d, CnipTcpDriver)
    with d:
        conn, _ = tcp_listener.accept()
        conn.settimeout(2.0)
        d.send(REQ)
        got = conn.recv(2048)
        assert got[:2] == (20 + len(REQ)).to_bytes(2, "big") and got[20:] == REQ
        two = packet(ACKD, seq=0) + packet(REQ, seq=1)
        third = packet(ACKD, seq=2)
        conn.sendall(two + third[:7])
        assert d.receive(time.monotonic() + 2) == ACKD
        assert d.receive(time.monotonic() + 2) == REQ
        assert d.receive(time.monotonic() + 0.1) is None  # half a packet: wait for the rest
        conn.sendall(third[7:])
        assert d.receive(time.monotonic() + 2) == ACKD
        conn.sendall(header(5) + b"junk")  # impossible length: stream resynchronised, observation
        assert d.receive(time.monotonic() + 0.2) is None
        assert any("impossible length 5" in o for o in d.observations)
        conn.sendall(packet(REQ, seq=3)[:10])
        conn.close()
        with pytest.raises(TransportError, match="closed the TCP connection.*10 bytes"):
            d.receive(time.monotonic() + 2)


def test_tcp_refused_connection_is_a_transport_error():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(TransportError, match="cannot connect"):
        open_driver(f"cnip+tcp://127.0.0.1:{port}?timeout=1").open()


def test_tcp_server_serves_clients_one_after_another():
    with serving("cnip+tcp://127.0.0.1:0?crc=0", EchoCore(delay=0.05)) as (url, lines):
        for _ in range(3):
            with open_driver(url + "?crc=0") as d:
                d.send(REQ)
                assert d.receive(time.monotonic() + 2) == REQ
        # a client that leaves before its answer is due is not fatal either
        with open_driver(url + "?crc=0") as d:
            d.send(REQ)
        with open_driver(url + "?crc=0") as d:
            d.send(ACKD)
            assert d.receive(time.monotonic() + 2) == ACKD
    assert sum("disconnected" in line for line in lines) >= 4
    assert any("dropped: its client has gone" in line for line in lines)


def test_serve_rejects_unknown_schemes():
    with pytest.raises(ConfigError, match="cannot serve"):
        serve("loopback:", EchoCore())
