"""Helpers shared by the LINK test modules (not a test module: nothing here is collected).

Link-level cases build 14908-1 frames around a protected OSGP request (``Session.request_frame`` with a chosen
TID, or ``osgp.lon`` for other services and addresses), send them with ``Session.send_frames`` and judge every
frame heard while listening for the tester's whole transaction time (PIXIT lon_timers, ASM-LNK-03).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from osgp import lon
from osgp.app import FullRead, Response, bt, decode_request, decode_response, et, unwrap_apdu
from osgp.errors import DecodeError, SecurityError
from osgp.security import AUTH_FAILURE, SentRequest
from osgp.session import ResponseNotAuthentic
from osgp.tables import Dimensions, schema
from osgp.transaction import decode_tx_timer

MOD = 1 << 32
PROBE = FullRead(bt(1))  # BT01: mandatory, short and static
COUNTER_TABLE = et(23)  # ET23.0: explicit messages received (MEP-DG; ASM-TBL-02), counts deliveries


def crc16(data: bytes) -> int:
    """CRC-16/GENIBUS written out bit by bit, independent of osgp.lon's table-driven one (one codec, two
    roles: a shared bug would hide). Poly 0x1021, init 0xFFFF, MSB first, output inverted."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc ^ 0xFFFF


if crc16(b"123456789") != 0xD64E:  # the catalogue check value of CRC-16/GENIBUS
    raise RuntimeError("lnk_support.crc16 does not give the CRC-16/GENIBUS check value 0xD64E")


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 2 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")


@contextlib.contextmanager
def step(tc, n: int) -> Iterator[object]:
    """``tc.step(n)`` where an OSGP answer that does not authenticate or decode is the DUT's FAIL, with the reason
    spelled out (the framework would FAIL it too, with a generic reason)."""
    with tc.step(n) as record:
        try:
            yield record
        except ResponseNotAuthentic as e:
            tc.fail(f"the answer the session matched to its request does not authenticate against it: {e} "
                    "(REQ-SEC-003 / REQ-SEC-025; a late answer to an earlier request with the same transaction id "
                    "has the same effect)")
        except DecodeError as e:
            tc.fail(f"the DUT's answer is malformed: {e}")


def sync(tc, session) -> int:
    """Learn the DUT's current sequence number through the session; INCONC if no request gets through."""
    r = session.request(PROBE)
    tc.require(r.ok, f"precondition: a valid read of BT01 is answered {r.describe()}")
    return session.seq


def listen_time(session) -> float:
    """How long the tester's own transaction lasts: every try's transmit timer (ASM-LNK-03)."""
    return session.config.exchange_bound()


def try_time(session) -> float:
    """One try of the tester's transaction (its transmit timer, ASM-LNK-03): copies sent this far apart stay
    well inside the DUT's receive timer."""
    return decode_tx_timer(session.config.tx_timer_code)


def protect(session, seq: int | None = None, request=PROBE) -> SentRequest:
    """A protected request; ``seq`` None takes (and uses up) the session's next number."""
    return session.protect(request, None if seq is None else seq % MOD)


def retid(frame: bytes, tid: int) -> bytes:
    """The same frame with another transaction id (and its CRC)."""
    lpdu = lon.decode(frame)
    return lon.encode(dataclasses.replace(lpdu, pdu=dataclasses.replace(lpdu.pdu, tid=tid)))


def reencode(frame: bytes, **changes) -> bytes:
    """The same frame with some Lpdu fields changed (address, domain, pdu…), CRC recomputed."""
    return lon.encode(dataclasses.replace(lon.decode(frame), **changes))


@dataclass(frozen=True)
class Heard:
    """One frame heard from the DUT: raw bytes, and the decoded LPDU when its CRC and layout allow."""

    raw: bytes
    lpdu: lon.Lpdu | None
    error: str = ""

    @property
    def is_response(self) -> bool:
        return self.lpdu is not None and isinstance(self.lpdu.pdu, lon.Spdu) and \
            self.lpdu.pdu.type == lon.SpduType.RESPONSE

    @property
    def is_ack(self) -> bool:
        return self.lpdu is not None and isinstance(self.lpdu.pdu, lon.Tpdu) and self.lpdu.pdu.type == lon.TpduType.ACK

    @property
    def tid(self) -> int | None:
        return self.lpdu.pdu.tid if self.lpdu is not None and self.lpdu.pdu is not None else None

    def describe(self) -> str:
        return self.lpdu.summary() if self.lpdu is not None else f"{self.raw.hex(' ')} ({self.error})"


def hear(frames: Iterable[bytes]) -> list[Heard]:
    out = []
    for f in frames:
        try:
            out.append(Heard(bytes(f), lon.decode(f)))
        except DecodeError as e:
            out.append(Heard(bytes(f), None, str(e)))
    return out


def send(session, frames: Iterable[bytes], listen: float | None = None) -> list[Heard]:
    return hear(session.send_frames(list(frames), listen_time(session) if listen is None else listen))


def open_answer(session, sent: SentRequest, heard: Heard) -> Response | None:
    """The OSGP response in ``heard`` if it authenticates against ``sent``, else None."""
    try:
        plain = session.config.profile.open_response(sent, unwrap_apdu(heard.lpdu.apdu, session.config.apdu_prefix))
        try:
            req = decode_request(sent.message)
        except DecodeError:
            return Response(plain[0], plain[1:])
        return decode_response(plain, req)
    except (SecurityError, DecodeError):
        return None


def authentic_any_tid(session, sent: SentRequest, heard: list[Heard]) -> list[Heard]:
    """RESPONSEs with any transaction id that authenticate against ``sent``."""
    return [h for h in heard if h.is_response and open_answer(session, sent, h) is not None]


def answers_to(session, sent: SentRequest, tid: int, heard: list[Heard]) -> list[tuple[Heard, Response | None]]:
    """The RESPONSEs with ``tid`` that answer ``sent``: they authenticate against it, or are a clear 0x0B
    (a late answer to some earlier request of the campaign is not counted)."""
    out = []
    for h in heard:
        if not (h.is_response and h.tid == tid):
            continue
        r = open_answer(session, sent, h)
        pdu = h.lpdu.apdu[len(session.config.apdu_prefix):]
        if r is not None or pdu[:1] == bytes([AUTH_FAILURE]):
            out.append((h, r))
    return out


def delivered_count(tc, session, plan) -> int:
    """ET23.0 (explicit messages received, UINT32): the DUT's count of delivered messages. This read is itself
    one delivered message, counted before the table is read (ASM-TBL-02; counting deliveries is inferred)."""
    layout = schema(COUNTER_TABLE)
    dims = Dimensions.from_tables({})
    offset, count = layout.request_span("lontalk_msgs_received", dims)
    if plan.pics.get("PICS_PARTIAL_READ"):
        r = session.read_partial(COUNTER_TABLE, offset, count)
        data = r.data
    else:
        r = session.read(COUNTER_TABLE)
        data = r.data[offset:offset + count]
    tc.require(r.ok and len(data) == count, f"precondition: ET23 (message counters) read answered {r.describe()}")
    return layout.decode_partial(data, dims).lontalk_msgs_received
