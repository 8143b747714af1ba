"""CN/IP (ISO/IEC 14908-4, ANSI/CEA-852) data packets over UDP or TCP.

Header (lower-layers digest §3.1, READ from Wireshark packet-cnip.c and Echelon LtIpPackets.h):
20 bytes, big-endian: length (whole packet, header included), version 1, packet type (0x01 =
data), extended-header size in 32-bit words, protocol flags (low 5 bits: protocol 0 = 14908-1;
0x20 = MD5 security), vendor code, session id, sequence number, timestamp (ms).
Payload of a data packet: one LPDU from the L2Hdr byte; with its CRC by default, as Echelon's
IP-852 code sends it (digest §3.4); ``crc=0`` for peers that omit it (the Wireshark sample).
On TCP the length field alone delimits packets (digest §7(c)).
"""

from __future__ import annotations

import itertools
import random
import select
import socket
import struct
from dataclasses import dataclass
from typing import Any

from osgp.clock import Clock
from osgp.errors import ConfigError, DecodeError, TransportError

from .base import Driver, UrlOptions, check_crc, split_host_port, with_crc

HEADER = struct.Struct(">HBBBBHIII")
HEADER_SIZE = HEADER.size  # 20
VERSION = 1
TYPE_DATA = 0x01
PROTOCOL_14908_1 = 0
FLAG_SECURITY = 0x20
DEFAULT_PORT = 1628  # IANA lontalk-norm (digest §3.3)
MAX_PACKET = 0xFFFF

PACKET_TYPES = {  # digest §3.2
    0x01: "data", 0x03: "device registration", 0x63: "device configuration request",
    0x71: "device configuration", 0x64: "channel membership request", 0x04: "channel membership",
    0x66: "send list request", 0x06: "send list", 0x68: "channel routing request",
    0x08: "channel routing", 0x07: "acknowledge", 0x7F: "segment", 0x60: "status request",
    0x70: "status response",
}


@dataclass(frozen=True)
class CnipHeader:
    length: int
    version: int = VERSION
    type: int = TYPE_DATA
    ext_words: int = 0
    flags: int = PROTOCOL_14908_1
    vendor: int = 0
    session: int = 0
    sequence: int = 0
    timestamp: int = 0

    def encode(self) -> bytes:
        return HEADER.pack(self.length, self.version, self.type, self.ext_words, self.flags, self.vendor,
                           self.session, self.sequence, self.timestamp)


def encode_data_packet(payload: bytes, session: int, sequence: int, timestamp_ms: int) -> bytes:
    length = HEADER_SIZE + len(payload)
    if length > MAX_PACKET:
        raise TransportError(f"CN/IP: a {len(payload)}-byte LPDU does not fit a CN/IP packet")
    return CnipHeader(length, session=session & 0xFFFFFFFF, sequence=sequence & 0xFFFFFFFF,
                      timestamp=timestamp_ms & 0xFFFFFFFF).encode() + payload


def decode_packet(data: bytes) -> tuple[CnipHeader, bytes]:
    """Header and the bytes after it (extended header skipped). Raises DecodeError."""
    if len(data) < HEADER_SIZE:
        raise DecodeError("cnip", "header", 0, f"{len(data)} bytes, shorter than the 20-byte header")
    h = CnipHeader(*HEADER.unpack_from(data))
    if h.length != len(data):
        raise DecodeError("cnip", "length", 0, f"length field says {h.length}, packet has {len(data)} bytes")
    start = HEADER_SIZE + 4 * h.ext_words
    if start > len(data):
        raise DecodeError("cnip", "ext_header", 4, f"extended header of {h.ext_words} words overruns")
    return h, data[start:]


def type_name(t: int) -> str:
    return PACKET_TYPES.get(t, "unknown")


def open_data_packet(data: bytes) -> tuple[CnipHeader, bytes]:
    """Header and LPDU of a CN/IP data packet for protocol 14908-1. Raises DecodeError otherwise."""
    h, payload = decode_packet(data)
    if h.type != TYPE_DATA:
        raise DecodeError("cnip", "type", 3, f"packet type 0x{h.type:02X} ({type_name(h.type)}) is not data")
    if h.flags & 0x1F != PROTOCOL_14908_1 or h.flags & FLAG_SECURITY:
        raise DecodeError("cnip", "protocol_flags", 5, f"flags 0x{h.flags:02X}: only protocol 0 (14908-1) "
                          "without MD5 security is supported")
    return h, payload


class SequenceTracker:
    """Follows a peer's sequence numbers; says what looks lost, duplicated or reordered."""

    def __init__(self) -> None:
        self._session: int | None = None
        self._next = 0

    def check(self, h: CnipHeader) -> str | None:
        note = None
        if self._session is not None and self._session != h.session:
            note = f"CN/IP peer session changed 0x{self._session:08X} -> 0x{h.session:08X}"
        elif self._session is not None and h.sequence != self._next:
            gap = (h.sequence - self._next) & 0xFFFFFFFF
            if gap < 0x80000000:
                note = (f"CN/IP sequence gap: expected {self._next}, got {h.sequence} "
                        f"({gap} packet(s) missing)")
            else:
                note = (f"CN/IP sequence went back: expected {self._next}, got {h.sequence} "
                        "(duplicate or reordered packet)")
        self._session, self._next = h.session, (h.sequence + 1) & 0xFFFFFFFF
        return note


class _CnipDriver(Driver):
    """What UDP and TCP share: header building, sequence tracking, CRC edge, observations."""

    transport = ""

    def __init__(self, host: str, port: int, *, crc: bool = True, timeout: float = 3.0,
                 clock: Clock | None = None, url: str = "") -> None:
        super().__init__(clock)
        self.host, self.port, self.crc, self.timeout = host, port, crc, timeout
        self.url = url or f"{self.scheme}://{host}:{port}"
        self.session = random.getrandbits(32)  # random per run (digest §7(c))
        self._seq = itertools.count()
        self._t0 = 0.0
        self._sequence = SequenceTracker()
        self.sock: socket.socket | None = None

    @classmethod
    def from_url(cls, url: str, **context: Any) -> _CnipDriver:
        scheme, _, rest = url.partition("://")
        if not rest:
            raise ConfigError(f"{url}: expected {scheme}://HOST:PORT")
        where, _, query = rest.partition("?")
        host, port = split_host_port(url, where.rstrip("/"), DEFAULT_PORT)
        opts = UrlOptions(url, query)
        crc = opts.flag("crc", True)
        timeout = opts.number("timeout", 3.0, lo=0.001)
        opts.finish()
        return cls(host, port, crc=crc, timeout=timeout, clock=context.get("clock"), url=url)

    def _connect_socket(self, kind: int) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=kind)
        except OSError as e:
            raise TransportError(f"{self.url}: cannot resolve {self.host}: {e}") from e
        last: OSError | None = None
        for family, type_, proto, _, addr in infos:
            sock = socket.socket(family, type_, proto)
            try:
                sock.settimeout(self.timeout)
                sock.connect(addr)
                return sock  # stays in timeout mode: reads wait in select(), writes are bounded
            except OSError as e:
                sock.close()
                last = e
        raise TransportError(f"{self.url}: cannot connect: {last}") from last

    def _do_open(self) -> None:
        self._t0 = self.clock.now()

    def _do_close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _packet(self, frame: bytes) -> bytes:
        payload = frame if self.crc else frame[:-2]  # crc=0: the peer wants no CRC on the wire
        stamp = int((self.clock.now() - self._t0) * 1000)
        return encode_data_packet(payload, self.session, next(self._seq), stamp)

    def _accept(self, data: bytes) -> bytes | None:
        """A frame from one received packet, or None (with an observation) when it carries none."""
        try:
            h, payload = open_data_packet(data)
        except DecodeError as e:
            self.observe(f"dropped CN/IP packet ({e.detail}): {data[:40].hex(' ')}")
            return None
        if h.version != VERSION:
            self.observe(f"CN/IP version {h.version} (expected {VERSION}); packet accepted")
        note = self._sequence.check(h)
        if note:
            self.observe(note)
        if self.crc:
            if len(payload) < 3:
                self.observe(f"dropped CN/IP data packet with a {len(payload)}-byte LPDU")
                return None
            return payload
        return with_crc(payload)

    def _deliver(self, frame: bytes) -> bytes:
        note = ""
        if not check_crc(frame):
            note = "bad CRC"
            self.observe(f"received LPDU with a wrong CRC: {frame.hex(' ')}")
        self._emit("rx", frame, note)
        return frame

    def send(self, frame: bytes) -> None:
        self._require_open()
        frame = bytes(frame)
        packet = self._packet(frame)
        self._emit("tx", frame)
        self._write(packet)

    def _write(self, packet: bytes) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, str]:
        return {"driver": self.scheme, "target": self.url, "peer": f"{self.host}:{self.port}",
                "lpdu_crc": "included" if self.crc else "omitted on the wire",
                "session_id": f"0x{self.session:08X}", "observations": str(len(self.observations))}


class CnipUdpDriver(_CnipDriver):
    scheme = "cnip+udp"

    def _do_open(self) -> None:
        super()._do_open()
        # A connected UDP socket turns an ICMP port-unreachable into ConnectionRefusedError.
        self.sock = self._connect_socket(socket.SOCK_DGRAM)

    def _write(self, packet: bytes) -> None:
        assert self.sock is not None
        try:
            self.sock.send(packet)
        except ConnectionRefusedError as e:
            raise self._refused() from e
        except OSError as e:
            raise TransportError(f"{self.url}: send failed: {e}") from e

    def _refused(self) -> TransportError:
        return TransportError(f"{self.url}: connection refused (ICMP port unreachable): nothing listens "
                              f"on UDP {self.host}:{self.port}")

    def receive(self, deadline: float) -> bytes | None:
        self._require_open()
        assert self.sock is not None
        while True:
            remaining = max(0.0, deadline - self.clock.now())
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                return None  # select waited out the deadline
            try:
                data = self.sock.recv(MAX_PACKET + 1)
            except TimeoutError:
                continue
            except ConnectionRefusedError as e:
                raise self._refused() from e
            except OSError as e:
                raise TransportError(f"{self.url}: receive failed: {e}") from e
            frame = self._accept(data)
            if frame is not None:
                return self._deliver(frame)
            if self.clock.now() >= deadline:
                return None


class CnipTcpDriver(_CnipDriver):
    scheme = "cnip+tcp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buf = bytearray()
        self._eof = False

    def _do_open(self) -> None:
        super()._do_open()
        self.sock = self._connect_socket(socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf.clear()
        self._eof = False

    def _write(self, packet: bytes) -> None:
        assert self.sock is not None
        try:
            self.sock.sendall(packet)
        except OSError as e:
            raise TransportError(f"{self.url}: send failed (connection lost?): {e}") from e

    def receive(self, deadline: float) -> bytes | None:
        self._require_open()
        assert self.sock is not None
        while True:
            frame = self._next_from_buffer()
            if frame is not None:
                return self._deliver(frame)
            if self._eof:
                raise TransportError(f"{self.url}: the peer closed the TCP connection"
                                     + (f" ({len(self._buf)} bytes of a partial packet discarded)"
                                        if self._buf else ""))
            remaining = max(0.0, deadline - self.clock.now())
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                return None
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as e:
                raise TransportError(f"{self.url}: receive failed (connection lost?): {e}") from e
            if not chunk:
                self._eof = True
            self._buf += chunk

    def _next_from_buffer(self) -> bytes | None:
        while True:
            packet = split_stream(self._buf, self.observe)
            if packet is None:
                return None
            frame = self._accept(packet)
            if frame is not None:
                return frame


def split_stream(buf: bytearray, observe: Any) -> bytes | None:
    """Cut one CN/IP packet off the front of a TCP byte stream, or None if incomplete.

    A length below the header size cannot be resynchronised on a stream: the buffered bytes are
    dropped with an observation, and framing restarts with the next bytes.
    """
    if len(buf) < 2:
        return None
    length = int.from_bytes(buf[:2], "big")
    if length < HEADER_SIZE:
        observe(f"CN/IP stream: impossible length {length}; {len(buf)} buffered bytes discarded")
        buf.clear()
        return None
    if len(buf) < length:
        return None
    packet = bytes(buf[:length])
    del buf[:length]
    return packet
