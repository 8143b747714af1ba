"""OSGP application layer: request/response codec, response codes, table ids, APDU envelope.

The OSGP services are the ANSI C12.18 table services (shared/spec/app-layer-and-security.md
section 2, tables-and-procedures.md section 4; source [MEP-DG] Tables 2.5-2.7):

====================  ======================================================================
request               wire form (header fields MSB first, table data as is)
====================  ======================================================================
full read             ``30 <table-id 2>``                           (assumption ASM-APP-04)
partial read          ``3F <table-id 2> <offset 3> <count 2>``
full write            ``40 <table-id 2> <count 2> <data>``
partial write         ``4F <table-id 2> <offset 3> <count 2> <data>``
====================  ======================================================================

Responses: ``00 <count 2> <data>`` to a read, ``00`` to a write, the code alone for an error,
``0C <sequence number 4>`` for "invalid sequence number". There is no C12.18 checksum byte: the
security digest takes its place ([MEP-DG] examples). The sequence number and digest that follow a
request on the wire belong to :mod:`osgp.security`, not to this module.

Encoders are permissive on purpose (negative tests need lying counts, unknown codes, stray
bytes); decoders are strict and raise :class:`AppDecodeError` naming the field and byte offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from osgp.errors import DecodeError, EncodeError

__all__ = [
    "AppDecodeError", "RequestCode", "ResponseCode", "describe",
    "bt", "et", "pending", "table_name", "parse_table_name",
    "FullRead", "PartialRead", "FullWrite", "PartialWrite", "RawRequest", "Request",
    "encode_request", "decode_request", "Response", "encode_response", "decode_response",
    "wrap_apdu", "unwrap_apdu", "DEFAULT_APDU_PREFIX", "DELIVERED", "delivered", "field_safe",
]

LAYER = "OSGP application"


class AppDecodeError(DecodeError):
    """A malformed OSGP request or response."""

    def __init__(self, field: str, offset: int, message: str) -> None:
        super().__init__(LAYER, field, offset, message)


# --------------------------------------------------------------------------------------------
# Codes

class RequestCode(IntEnum):
    FULL_READ = 0x30
    PARTIAL_READ = 0x3F
    FULL_WRITE = 0x40
    PARTIAL_WRITE = 0x4F


class ResponseCode(IntEnum):
    """C12.18 names (0x00-0x0A) plus the two OSGP security codes; aliases give the MEP-DG words."""

    OK = 0x00
    ERR = 0x01
    SNS = 0x02
    ISC = 0x03
    ONP = 0x04
    IAR = 0x05
    BSY = 0x06
    DNR = 0x07
    DLK = 0x08
    RNO = 0x09
    ISSS = 0x0A
    AUTH_FAILURE = 0x0B
    INVALID_SEQUENCE = 0x0C
    # OSGP/MEP-DG wording of the same codes
    UNRECOGNIZED = 0x01
    UNSUPPORTED = 0x02
    NO_PERMISSION = 0x03
    OPERATION_NOT_POSSIBLE = 0x04
    TABLE_OPERATION_NOT_POSSIBLE = 0x05


# Meanings: MEP-DG Table 2.5 for 0x01-0x05, 0x0B, 0x0C; ANSI C12.18 (termineter) for the rest.
_MEANINGS = {
    0x00: "ok",
    0x01: "unrecognized request",
    0x02: "unsupported request",
    0x03: "no permission (insufficient security clearance)",
    0x04: "operation not possible",
    0x05: "table operation not possible (inappropriate action requested)",
    0x06: "device busy",
    0x07: "data not ready",
    0x08: "data locked",
    0x09: "renegotiate request",
    0x0A: "invalid service sequence state",
    0x0B: "authentication failure",
    0x0C: "invalid sequence number",
}


def describe(code: int) -> str:
    """Human form of a response code: ``describe(4) == "0x04 operation not possible"``."""
    return f"0x{code:02X} {_MEANINGS.get(code, 'unknown response code')}"


# --------------------------------------------------------------------------------------------
# Table ids: C12.19 numbering ([OPT-PG], [MEP-DG]); bit 11 = manufacturer (ET), +4096 = pending.

ET_BASE = 2048
PENDING_BASE = 4096
_TABLE_NAME = re.compile(r"\s*(BT|ET)\s*(\d{1,4})\s*(\(\s*pending\s*\))?\s*", re.IGNORECASE)


def bt(n: int) -> int:
    """Id of basic (standard) table BTn."""
    if not 0 <= n < ET_BASE:
        raise EncodeError(f"BT{n}: basic table numbers are 0..{ET_BASE - 1}")
    return n


def et(n: int) -> int:
    """Id of extended (manufacturer) table ETn: 2048 + n."""
    if not 0 <= n < ET_BASE:
        raise EncodeError(f"ET{n}: extended table numbers are 0..{ET_BASE - 1}")
    return ET_BASE + n


def pending(table_id: int) -> int:
    """Id of the pending form of a table: table id + 4096 ([OPT-PG] p.9)."""
    if not 0 <= table_id < PENDING_BASE:
        raise EncodeError(f"table id {table_id} has no pending form (must be below {PENDING_BASE})")
    return table_id + PENDING_BASE


def table_name(table_id: int) -> str:
    """``"BT23"``, ``"ET04"``, ``"BT54 (pending)"``; ids outside the scheme print in hex."""
    if not 0 <= table_id < 2 * PENDING_BASE:
        return f"table 0x{table_id:04X}"
    base = table_id % PENDING_BASE
    name = f"ET{base - ET_BASE:02d}" if base >= ET_BASE else f"BT{base:02d}"
    return f"{name} (pending)" if table_id >= PENDING_BASE else name


def parse_table_name(name: str) -> int:
    """Inverse of :func:`table_name`: ``parse_table_name("ET04") == 2052``."""
    m = _TABLE_NAME.fullmatch(name)
    if not m:
        raise AppDecodeError("table name", 0, f"{name!r} is not a table name like BT23, ET04, BT54 (pending)")
    kind, n = m.group(1).upper(), int(m.group(2))
    try:
        tid = bt(n) if kind == "BT" else et(n)
        return pending(tid) if m.group(3) else tid
    except EncodeError as e:
        raise AppDecodeError("table name", 0, str(e)) from None


# --------------------------------------------------------------------------------------------
# Requests

def _check_range(what: str, value: int, n_bytes: int) -> None:
    if not 0 <= value < 1 << (8 * n_bytes):
        raise EncodeError(f"{what} {value} does not fit in {n_bytes} bytes")


@dataclass(frozen=True)
class FullRead:
    table_id: int
    code: ClassVar[RequestCode] = RequestCode.FULL_READ

    def __post_init__(self) -> None:
        _check_range("table id", self.table_id, 2)


@dataclass(frozen=True)
class PartialRead:
    table_id: int
    offset: int
    count: int
    code: ClassVar[RequestCode] = RequestCode.PARTIAL_READ

    def __post_init__(self) -> None:
        _check_range("table id", self.table_id, 2)
        _check_range("offset", self.offset, 3)
        _check_range("count", self.count, 2)


@dataclass(frozen=True)
class FullWrite:
    """``count`` None means len(data); a different count is sent as given (negative tests)."""

    table_id: int
    data: bytes
    count: int | None = None
    code: ClassVar[RequestCode] = RequestCode.FULL_WRITE

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", bytes(self.data))
        if self.count is None:
            object.__setattr__(self, "count", len(self.data))
        _check_range("table id", self.table_id, 2)
        _check_range("count", self.count, 2)


@dataclass(frozen=True)
class PartialWrite:
    """``count`` None means len(data); a different count is sent as given (negative tests)."""

    table_id: int
    offset: int
    data: bytes
    count: int | None = None
    code: ClassVar[RequestCode] = RequestCode.PARTIAL_WRITE

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", bytes(self.data))
        if self.count is None:
            object.__setattr__(self, "count", len(self.data))
        _check_range("table id", self.table_id, 2)
        _check_range("offset", self.offset, 3)
        _check_range("count", self.count, 2)


@dataclass(frozen=True)
class RawRequest:
    """Any bytes sent as a request: unknown codes, truncated or padded forms of known ones."""

    payload: bytes = field(default=b"")

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", bytes(self.payload))


Request = FullRead | PartialRead | FullWrite | PartialWrite | RawRequest
_READS = (FullRead, PartialRead)
_WRITES = (FullWrite, PartialWrite)


def _be(value: int, n_bytes: int) -> bytes:
    return value.to_bytes(n_bytes, "big")


def encode_request(req: Request) -> bytes:
    """The OSGP request message (code .. last data byte), without sequence number or digest."""
    match req:
        case FullRead():
            return bytes([req.code]) + _be(req.table_id, 2)
        case PartialRead():
            return bytes([req.code]) + _be(req.table_id, 2) + _be(req.offset, 3) + _be(req.count, 2)
        case FullWrite():
            return bytes([req.code]) + _be(req.table_id, 2) + _be(req.count, 2) + req.data
        case PartialWrite():
            return (bytes([req.code]) + _be(req.table_id, 2) + _be(req.offset, 3) + _be(req.count, 2)
                    + req.data)
        case RawRequest():
            return req.payload
    raise EncodeError(f"not an OSGP request: {req!r}")


# Header layout per code: (field name, size) after the code byte; writes carry data after it.
_HEADERS: dict[int, tuple[tuple[str, int], ...]] = {
    RequestCode.FULL_READ: (("table id", 2),),
    RequestCode.PARTIAL_READ: (("table id", 2), ("offset", 3), ("count", 2)),
    RequestCode.FULL_WRITE: (("table id", 2), ("count", 2)),
    RequestCode.PARTIAL_WRITE: (("table id", 2), ("offset", 3), ("count", 2)),
}


def decode_request(message: bytes) -> Request:
    """Device side: parse a request message (the bytes before sequence number and digest).

    Unknown request codes come back as :class:`RawRequest` (the device answers them, so they
    are not a decode fault). A known code with a short header, or a read followed by extra
    bytes, raises :class:`AppDecodeError`. A write whose count differs from the data that
    follows decodes with that count: what to do with it is the device's decision.
    """
    if not message:
        raise AppDecodeError("request code", 0, "empty request message")
    code = message[0]
    if code not in _HEADERS:
        return RawRequest(bytes(message))
    values: dict[str, int] = {}
    pos = 1
    for name, size in _HEADERS[code]:
        if len(message) < pos + size:
            raise AppDecodeError(
                name, pos,
                f"{RequestCode(code).name.lower().replace('_', ' ')} request ends after "
                f"{len(message)} bytes; its {name} needs bytes {pos}..{pos + size - 1}",
            )
        values[name] = int.from_bytes(message[pos:pos + size], "big")
        pos += size
    rest = bytes(message[pos:])
    tid = values["table id"]
    if code in (RequestCode.FULL_READ, RequestCode.PARTIAL_READ) and rest:
        raise AppDecodeError("end of message", pos, f"{len(rest)} unexpected byte(s) after a read request")
    if code == RequestCode.FULL_READ:
        return FullRead(tid)
    if code == RequestCode.PARTIAL_READ:
        return PartialRead(tid, values["offset"], values["count"])
    if code == RequestCode.FULL_WRITE:
        return FullWrite(tid, rest, values["count"])
    return PartialWrite(tid, values["offset"], rest, values["count"])


# --------------------------------------------------------------------------------------------
# Responses

@dataclass(frozen=True)
class Response:
    """A response message. ``data`` is the table data of a read (its count is implied);
    ``expected_seq`` is the sequence number carried by 0x0C."""

    code: int
    data: bytes = b""
    expected_seq: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", bytes(self.data))
        _check_range("response code", self.code, 1)
        if self.expected_seq is not None:
            _check_range("sequence number", self.expected_seq, 4)

    @property
    def ok(self) -> bool:
        return self.code == ResponseCode.OK

    def describe(self) -> str:
        text = describe(self.code)
        if self.expected_seq is not None:
            seq = self.expected_seq
            text += f", device sequence number {seq} (next request uses {(seq + 1) % 2**32})"
        if self.data:
            text += f", {len(self.data)} data bytes"
        return text


def encode_response(resp: Response, request: Request) -> bytes:
    """Device side. OK to a read: ``00 <count 2> <data>``; OK to a write: ``00``; 0x0C:
    ``0C <seq 4>``; other codes: the code alone. Bytes in ``data`` where the form has none
    are appended as given, so faulty responses can be built on purpose."""
    head = bytes([resp.code])
    if resp.code == ResponseCode.OK and isinstance(request, _READS):
        _check_range("read response count", len(resp.data), 2)
        return head + len(resp.data).to_bytes(2, "big") + resp.data
    if resp.code == ResponseCode.INVALID_SEQUENCE:
        if resp.expected_seq is None:
            raise EncodeError("a 0x0C (invalid sequence number) response needs expected_seq")
        return head + resp.expected_seq.to_bytes(4, "big") + resp.data
    return head + resp.data


def decode_response(message: bytes, request: Request) -> Response:
    """Tester side: parse a response message (digest already removed) to ``request``.

    Unknown codes (0x0D..0xFF) decode with whatever follows as data: judging them is the test
    case's job. Shapes that contradict the known forms raise :class:`AppDecodeError`.
    """
    if not message:
        raise AppDecodeError("response code", 0, "empty response message")
    code, rest = message[0], bytes(message[1:])
    if code == ResponseCode.OK and isinstance(request, _READS):
        if len(rest) < 2:
            raise AppDecodeError("count", 1, f"read response ends after {len(message)} bytes; count needs 2")
        count = int.from_bytes(rest[:2], "big")
        data = rest[2:]
        if count != len(data):
            raise AppDecodeError("count", 1, f"count says {count} data bytes but {len(data)} follow")
        return Response(code, data)
    if code == ResponseCode.INVALID_SEQUENCE:
        if len(rest) != 4:
            raise AppDecodeError(
                "sequence number", 1, f"0x0C response carries {len(rest)} bytes after the code, expected 4")
        return Response(code, expected_seq=int.from_bytes(rest, "big"))
    if code in _MEANINGS and not isinstance(request, RawRequest) and rest:
        what = "write acknowledgement" if code == ResponseCode.OK else describe(code)
        raise AppDecodeError("end of message", 1, f"{what} carries {len(rest)} unexpected byte(s)")
    return Response(code, rest)


# --------------------------------------------------------------------------------------------
# APDU envelope (assumption ASM-APP-01: by default one application-message code byte, 0x00, before
# the OSGP PDU; the code OSGP really uses on 14908-1 is NOT FOUND in any readable source)

#: The envelope the test plan uses unless `pixit.apdu_prefix` says otherwise (ASM-APP-01).
DEFAULT_APDU_PREFIX = b"\x00"

#: First APDU bytes a 14908-1 node hands to its application (lower-layers digest section 1.7):
#: application messages 0x00-0x3F and foreign frames 0x40-0x4F. The 14908-1 stack itself takes
#: 0x50-0x5F (network diagnostics), 0x60-0x7F (network management: 0x64 LEAVE_DOMAIN, 0x6C
#: SET_NODE_MODE, 0x6E WRITE_MEMORY ...) and 0x80-0xFF (network variables).
DELIVERED = range(0x00, 0x50)


def delivered(first_byte: int) -> bool:
    """True when a 14908-1 node delivers an APDU starting with ``first_byte`` to its application."""
    return first_byte in DELIVERED


def field_safe(message: bytes, prefix: bytes = b"") -> bool:
    """True when the APDU that carries ``message`` starts with a byte the node delivers to the
    application, whatever the security profile does to the message.

    With a prefix the prefix's first byte leads. Without one the message's own first byte leads, which
    holds in digest mode only (the message travels in clear; the test plan refuses an empty prefix with
    encryption). An empty message without a prefix is not safe: its APDU would start with the sequence
    number, a byte the tester does not choose.
    """
    lead = bytes(prefix[:1]) or bytes(message[:1])
    return bool(lead) and delivered(lead[0])


def wrap_apdu(message: bytes, prefix: bytes = b"") -> bytes:
    """The 14908-1 APDU carrying an OSGP PDU: ``prefix`` (PIXIT apdu_prefix) then the PDU."""
    return bytes(prefix) + bytes(message)


def unwrap_apdu(apdu: bytes, prefix: bytes = b"") -> bytes:
    """The OSGP PDU inside an APDU; the APDU must start with ``prefix``."""
    if not apdu.startswith(prefix):
        got = apdu[:len(prefix)].hex(" ") or "(empty)"
        raise AppDecodeError("APDU prefix", 0, f"APDU starts {got}, expected {prefix.hex(' ')}")
    return bytes(apdu[len(prefix):])
