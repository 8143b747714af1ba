"""Serve a sans-IO device core on a real transport: CN/IP over UDP or TCP, or a serial port (NI side).

``serve(url, core)`` loops until the ``stop`` event is set or Ctrl-C. It logs one line per
exchange; malformed input is logged and dropped, a client that disconnects is forgotten, and a
device core that raises is logged, so nothing a peer sends can stop the server. Replies leave at
the time the core asks for (its ``on_frame`` returns ``[(t, frame)]``).
"""

from __future__ import annotations

import heapq
import itertools
import random
import select
import socket
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from osgp.clock import Clock, MonotonicClock
from osgp.errors import ConfigError, DecodeError, TransportError

from .base import UrlOptions, check_crc, scheme_of, split_host_port, with_crc
from .cnip import (
    DEFAULT_PORT,
    MAX_PACKET,
    VERSION,
    SequenceTracker,
    encode_data_packet,
    open_data_packet,
    split_stream,
)
from .serial import POLL, PORT_ERRORS, SerialSettings, open_port

Log = Callable[[str], None]
TICK = 0.1  # s: how often the loops look at the stop event when idle


def _summary(frame: bytes) -> str:
    try:
        from osgp.lon import decode

        return decode(frame).summary()
    except Exception:  # undecodable frames are exactly what a server must survive
        return frame.hex(" ")


class _Responder:
    """Feeds frames to the core and keeps its replies until they are due."""

    def __init__(self, core: Any, clock: Clock, log: Log) -> None:
        if not callable(getattr(core, "on_frame", None)):
            raise ConfigError(f"serve: {type(core).__name__} has no on_frame(frame, now) method")
        self.core, self.clock, self.log = core, clock, log
        self._pending: list[tuple[float, int, Hashable, bytes]] = []
        self._order = itertools.count()

    def handle(self, frame: bytes, peer: Hashable, where: str, note: str = "") -> None:
        now = self.clock.now()
        try:
            replies = list(self.core.on_frame(frame, now))
        except Exception as e:
            self.log(f"{where} <- {_summary(frame)}: the device core raised {type(e).__name__}: {e}; dropped")
            return
        out = "; ".join(f"{reply.hex(' ')}" + (f" at +{t - now:.3f}s" if t > now + 1e-4 else "")
                        for t, reply in replies)
        self.log(f"{where} <- {_summary(frame)}{f' [{note}]' if note else ''} -> "
                 f"{len(replies)} frame(s){': ' + out if out else ''}")
        for t, reply in replies:
            heapq.heappush(self._pending, (max(t, now), next(self._order), peer, bytes(reply)))

    def due(self) -> list[tuple[Hashable, bytes]]:
        now = self.clock.now()
        out = []
        while self._pending and self._pending[0][0] <= now:
            _, _, peer, frame = heapq.heappop(self._pending)
            out.append((peer, frame))
        return out

    def wait_time(self) -> float:
        if not self._pending:
            return TICK
        return min(TICK, max(0.0, self._pending[0][0] - self.clock.now()))


def serve(url: str, core: Any, *, clock: Clock | None = None, log: Log = print,
          stop: threading.Event | None = None, on_ready: Callable[[str], None] | None = None) -> None:
    """Expose `core` on `url` until `stop` is set or KeyboardInterrupt.

    `on_ready` is called with the URL actually listened on (useful with port 0).
    """
    clock = clock if clock is not None else MonotonicClock()
    stop = stop if stop is not None else threading.Event()
    responder = _Responder(core, clock, log)
    scheme = scheme_of(url)
    runners = {"cnip+udp": _serve_udp, "cnip+tcp": _serve_tcp, "serial": _serve_serial}
    if scheme not in runners:
        raise ConfigError(f"cannot serve on {url!r}; serve accepts cnip+udp://HOST:PORT, "
                          "cnip+tcp://HOST:PORT and serial://DEVICE?framing=u61|slta")
    try:
        runners[scheme](url, responder, log, stop, on_ready or (lambda u: None))
    except KeyboardInterrupt:
        log(f"{url}: interrupted; stopped")


# -- CN/IP -----------------------------------------------------------------------------------------


@dataclass
class _CnipPeer:
    where: str
    sequence: SequenceTracker = field(default_factory=SequenceTracker)
    next_seq: itertools.count = field(default_factory=itertools.count)


def _cnip_options(url: str) -> tuple[str, int, bool]:
    _, _, rest = url.partition("://")
    where, _, query = rest.partition("?")
    host, port = split_host_port(url, where.rstrip("/") or "0.0.0.0", DEFAULT_PORT, listen=True)
    opts = UrlOptions(url, query)
    crc = opts.flag("crc", True)
    opts.finish()
    return host, port, crc


class _CnipCodec:
    """The server's half of CN/IP: unwrap requests, wrap replies, log what is odd."""

    def __init__(self, crc: bool, clock: Clock, log: Log) -> None:
        self.crc, self.clock, self.log = crc, clock, log
        self.session = random.getrandbits(32)
        self.t0 = clock.now()

    def unwrap(self, data: bytes, peer: _CnipPeer) -> tuple[bytes, str] | None:
        try:
            h, payload = open_data_packet(data)
        except DecodeError as e:
            self.log(f"{peer.where}: dropped CN/IP packet ({e.detail}): {data[:40].hex(' ')}")
            return None
        if h.version != VERSION:
            self.log(f"{peer.where}: CN/IP version {h.version}, accepted")
        gap = peer.sequence.check(h)
        if gap:
            self.log(f"{peer.where}: {gap}")
        frame = payload if self.crc else with_crc(payload)
        if len(frame) < 3:
            self.log(f"{peer.where}: dropped CN/IP data packet with a {len(payload)}-byte LPDU")
            return None
        return frame, ("" if check_crc(frame) else "bad CRC")

    def wrap(self, frame: bytes, peer: _CnipPeer) -> bytes:
        stamp = int((self.clock.now() - self.t0) * 1000)
        return encode_data_packet(frame if self.crc else frame[:-2], self.session, next(peer.next_seq), stamp)


def _bind(host: str, port: int, kind: int, url: str) -> socket.socket:
    try:
        family, type_, proto, _, addr = socket.getaddrinfo(host, port, type=kind, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, type_, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError as e:
        raise TransportError(f"{url}: cannot listen on {host}:{port}: {e}") from e
    return sock


def _endpoint(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serve_udp(url: str, responder: _Responder, log: Log, stop: threading.Event,
               on_ready: Callable[[str], None]) -> None:
    host, port, crc = _cnip_options(url)
    codec = _CnipCodec(crc, responder.clock, log)
    peers: dict[Any, _CnipPeer] = {}
    with _bind(host, port, socket.SOCK_DGRAM, url) as sock:
        bound = f"cnip+udp://{_endpoint(sock)}"
        log(f"listening on {bound} (CN/IP data packets, LPDU CRC {'on' if crc else 'off'})")
        on_ready(bound)
        while not stop.is_set():
            ready, _, _ = select.select([sock], [], [], responder.wait_time())
            if ready:
                try:
                    data, addr = sock.recvfrom(MAX_PACKET + 1)
                except OSError as e:  # e.g. an ICMP error from an earlier reply to a vanished client
                    log(f"udp: receive error ignored: {e}")
                    data = b""
                if data:
                    peer = peers.setdefault(addr, _CnipPeer(f"udp {addr[0]}:{addr[1]}"))
                    unwrapped = codec.unwrap(data, peer)
                    if unwrapped is not None:
                        responder.handle(unwrapped[0], addr, peer.where, unwrapped[1])
            for addr, frame in responder.due():
                try:
                    sock.sendto(codec.wrap(frame, peers[addr]), addr)
                except OSError as e:
                    log(f"{peers[addr].where}: reply not sent: {e}")
    log(f"{bound}: stopped")


def _serve_tcp(url: str, responder: _Responder, log: Log, stop: threading.Event,
               on_ready: Callable[[str], None]) -> None:
    host, port, crc = _cnip_options(url)
    codec = _CnipCodec(crc, responder.clock, log)
    clients: dict[socket.socket, tuple[_CnipPeer, bytearray]] = {}

    def drop(conn: socket.socket, why: str) -> None:
        peer, buf = clients.pop(conn)
        log(f"{peer.where}: {why}" + (f"; {len(buf)} bytes of a partial packet discarded" if buf else ""))
        conn.close()

    with _bind(host, port, socket.SOCK_STREAM, url) as listener:
        listener.listen(4)
        bound = f"cnip+tcp://{_endpoint(listener)}"
        log(f"listening on {bound} (CN/IP data packets, LPDU CRC {'on' if crc else 'off'})")
        on_ready(bound)
        try:
            while not stop.is_set():
                ready, _, _ = select.select([listener, *clients], [], [], responder.wait_time())
                for s in ready:
                    if s is listener:
                        conn, addr = listener.accept()
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        conn.settimeout(3.0)  # a peer that stops reading cannot block us for long
                        clients[conn] = (_CnipPeer(f"tcp {addr[0]}:{addr[1]}"), bytearray())
                        log(f"tcp {addr[0]}:{addr[1]}: connected")
                        continue
                    peer, buf = clients[s]
                    try:
                        chunk = s.recv(65536)
                    except OSError as e:
                        drop(s, f"connection error: {e}")
                        continue
                    if not chunk:
                        drop(s, "disconnected")
                        continue
                    buf += chunk
                    while (packet := split_stream(buf, lambda m, w=peer.where: log(f"{w}: {m}"))) is not None:
                        unwrapped = codec.unwrap(packet, peer)
                        if unwrapped is not None:
                            responder.handle(unwrapped[0], s, peer.where, unwrapped[1])
                for conn, frame in responder.due():
                    if conn not in clients:
                        log(f"reply {frame.hex(' ')} dropped: its client has gone")
                        continue
                    assert isinstance(conn, socket.socket)
                    try:
                        conn.sendall(codec.wrap(frame, clients[conn][0]))
                    except OSError as e:
                        drop(conn, f"reply not sent: {e}")
        finally:
            for conn in list(clients):
                conn.close()
    log(f"{bound}: stopped")


# -- serial (NI side) ------------------------------------------------------------------------------


def _serve_serial(url: str, responder: _Responder, log: Log, stop: threading.Event,
                  on_ready: Callable[[str], None]) -> None:
    from .ni_sim import NiSide

    settings = SerialSettings.from_url(url)
    ni = NiSide(settings)
    port = open_port(settings)
    where = f"serial {settings.device}"

    def write(data: bytes) -> None:
        if data:
            port.write(data)
            port.flush()

    try:
        log(f"NI simulator ({settings.framing}) on {settings.device}, uplink 0x{settings.uplink:02X}")
        write(ni.startup())
        on_ready(url)
        while not stop.is_set():
            waiting = port.in_waiting
            data = port.read(max(1, waiting)) if waiting or responder.wait_time() >= POLL else b""
            frames, reply = ni.feed(data, responder.clock.now())
            write(reply)
            for note in ni.notes:
                log(f"{where}: {note}")
            ni.notes.clear()
            for frame in frames:
                responder.handle(frame, "ni", where)
            for _, frame in responder.due():
                write(ni.uplink(frame))
    except PORT_ERRORS as e:
        log(f"{where}: port failed (unplugged?): {e}")
        raise TransportError(f"{url}: serial port {settings.device} failed: {e}") from e
    finally:
        try:
            port.close()
        except PORT_ERRORS:
            pass
    log(f"{url}: stopped")
