"""ISO/IEC 14908-1 LPDU codec: L2 header, NPDU, address, domain, TPDU/SPDU/AuthPDU, APDU, CRC-16.

One LPDU on the wire (shared/spec/lower-layers.md §1.1)::

    L2Hdr(1) NPDU(1) address(3/4/6/9) domain(0/1/3/6) [PDU byte (+1 TID byte, enhanced)] APDU  CRC(2, BE)

The codec is exact in both directions: ``decode(encode(x)) == x`` for every valid ``Lpdu`` and
``encode(decode(b)) == b`` for every frame that decodes. Bits that the standard fixes (selector bits,
reserved PDU types, NPDU version) are kept as data, so malformed frames survive a round trip and the
encoder can emit them on purpose; :func:`validate` lists what is unusual about a decoded frame.

Sources (tags as in the digest): field layout, masks and value tables READ from Wireshark
``packet-lon.c`` and izot/lon-stack-dx ``lcs_network.c``/``lcs_tsa.c``; AuthPDU masks 0xC0/0x30/0x0F
from ``lcs_tsa.c`` (Wireshark's display masks are wrong); CRC-16/GENIBUS VERIFIED (§1.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

import anycrc

from osgp.errors import DecodeError, EncodeError

__all__ = [
    "Address",
    "AddrFormat",
    "ApduClass",
    "ApduKind",
    "AuthPdu",
    "AuthType",
    "BroadcastAddress",
    "GroupAckAddress",
    "GroupAddress",
    "LonDecodeError",
    "Lpdu",
    "NeuronIdAddress",
    "PduFormat",
    "Spdu",
    "SpduType",
    "SubnetNodeAddress",
    "Tpdu",
    "TpduType",
    "apdu_class",
    "crc16",
    "decode",
    "encode",
    "validate",
]

LAYER = "14908-1"

# --------------------------------------------------------------------------------------------------
# CRC-16/GENIBUS: poly 0x1021, init 0xFFFF, xorout 0xFFFF, MSB first (lower-layers §1.8, VERIFIED).

# anycrc's catalogue model CRC16-GENIBUS is exactly these parameters (C, ~0.5 µs per frame; the
# pure-Python `crc` package cost ~120 µs per frame, most of the tester's budget per exchange).
_CRC = anycrc.Model("CRC16-GENIBUS")


def crc16(data: bytes) -> int:
    """The 14908-1 frame CRC over L2Hdr..APDU; it is sent big-endian after the APDU."""
    return _CRC.calc(bytes(data))


# --------------------------------------------------------------------------------------------------
# Enumerations (lower-layers §1.3, §1.6)


class AddrFormat(IntEnum):
    BROADCAST = 0
    MULTICAST = 1  # group
    SUBNET_NODE = 2  # 2a (selector 1) or group-ack 2b (selector 0)
    NEURON_ID = 3


class PduFormat(IntEnum):
    TPDU = 0
    SPDU = 1
    AUTHPDU = 2
    APDU = 3


class TpduType(IntEnum):
    ACKD = 0
    UNACKD_RPT = 1
    ACK = 2
    REMINDER = 4
    REM_MSG = 5


class SpduType(IntEnum):
    REQUEST = 0
    RESPONSE = 2
    REMINDER = 4
    REM_MSG = 5


class AuthType(IntEnum):
    CHALLENGE = 0
    CHALLENGE_OMA = 1
    REPLY = 2
    REPLY_OMA = 3


# Types after which M_Len + M_List follow, for TPDU and SPDU alike (packet-lon.c, lcs_tsa.c).
_REMINDER_TYPES = (4, 5)

# NPDU domain-length code -> bytes of domain ID (§1.3).
_DOMAIN_LENGTHS = (0, 1, 3, 6)

# Largest group member number a node accepts (MAX_GROUP_NUMBER in lcs_tsa.c).
MAX_GROUP_MEMBER = 63


def _enum_or_int(enum: type[IntEnum], value: int) -> int:
    """Known codes become enum members (readable in logs); reserved codes stay plain ints."""
    known = _known(enum, value)
    return value if known is None else known


def _known(enum: type[IntEnum], value: int) -> IntEnum | None:
    try:
        return enum(value)
    except ValueError:
        return None


def _type_name(enum: type[IntEnum], value: int) -> str:
    known = _known(enum, value)
    return known.name if known is not None else f"type {value}"


# --------------------------------------------------------------------------------------------------
# Addresses (lower-layers §1.4). Node numbers are 7 bits; the byte's MSB is the selector bit, kept as
# a separate field so that frames with an unusual selector still round-trip.


@dataclass(frozen=True)
class BroadcastAddress:
    """Format 0: to every node of ``dst_subnet`` (0 = the whole domain)."""

    src_subnet: int
    src_node: int
    dst_subnet: int
    selector: bool = True  # MSB of the source-node byte; 1 in every format but 2b


@dataclass(frozen=True)
class GroupAddress:
    """Format 1: multicast to ``group``."""

    src_subnet: int
    src_node: int
    group: int
    selector: bool = True


@dataclass(frozen=True)
class SubnetNodeAddress:
    """Format 2a (selector 1): unicast to ``dst_subnet``/``dst_node``."""

    src_subnet: int
    src_node: int
    dst_subnet: int
    dst_node: int
    dst_selector: bool = True  # MSB of the destination-node byte, 1 per the standard


@dataclass(frozen=True)
class GroupAckAddress:
    """Format 2b (selector 0): ack, response or challenge to a multicast sender.

    Byte +2 is the destination *subnet* (normative figure and lcs_network.c), not a group as Wireshark
    labels it; ``group`` and ``member`` follow the destination node.
    """

    src_subnet: int
    src_node: int
    dst_subnet: int
    dst_node: int
    group: int
    member: int
    dst_selector: bool = True


@dataclass(frozen=True)
class NeuronIdAddress:
    """Format 3: to the node with this 6-byte Neuron ID; ``dst_subnet`` is only for routers."""

    src_subnet: int
    src_node: int
    dst_subnet: int
    neuron_id: bytes
    selector: bool = True


Address = BroadcastAddress | GroupAddress | SubnetNodeAddress | GroupAckAddress | NeuronIdAddress

_ADDR_FORMAT: dict[type, AddrFormat] = {
    BroadcastAddress: AddrFormat.BROADCAST,
    GroupAddress: AddrFormat.MULTICAST,
    SubnetNodeAddress: AddrFormat.SUBNET_NODE,
    GroupAckAddress: AddrFormat.SUBNET_NODE,
    NeuronIdAddress: AddrFormat.NEURON_ID,
}


# --------------------------------------------------------------------------------------------------
# PDUs (lower-layers §1.6). ``tid`` is 4 bits in NPDU version 0 and 12 bits in enhanced mode (version 2),
# where the PDU byte carries the high nibble and one extra byte the low 8 bits.


@dataclass(frozen=True)
class Tpdu:
    """Transport PDU. ``m_list`` (M_Len + M_List on the wire) exists only for REMINDER / REM_MSG."""

    auth: bool
    type: TpduType | int
    tid: int
    m_list: bytes = b""


@dataclass(frozen=True)
class Spdu:
    """Session PDU. ``m_list`` exists only for REMINDER / REM_MSG."""

    auth: bool
    type: SpduType | int
    tid: int
    m_list: bytes = b""


@dataclass(frozen=True)
class AuthPdu:
    """Authentication PDU: ``fmt`` repeats the address format of the message being authenticated;
    ``body`` is the 8-byte challenge or reply, plus a group byte when that message was multicast."""

    fmt: int
    type: AuthType | int
    tid: int
    body: bytes


Pdu = Tpdu | Spdu | AuthPdu


@dataclass(frozen=True)
class Lpdu:
    """One 14908-1 frame, L2Hdr through APDU (the CRC is added and checked by encode/decode)."""

    priority: bool
    alt_path: bool
    delta_backlog: int
    version: int  # NPDU protocol version: 0 legacy, 2 enhanced (12-bit TID); 1 and 3 are not ours
    address: Address
    domain: bytes
    pdu: Pdu | None = None  # None <=> pdu format APDU (unacknowledged, no transport byte)
    apdu: bytes = b""

    @property
    def pdu_format(self) -> PduFormat:
        if self.pdu is None:
            return PduFormat.APDU
        if isinstance(self.pdu, Tpdu):
            return PduFormat.TPDU
        if isinstance(self.pdu, Spdu):
            return PduFormat.SPDU
        return PduFormat.AUTHPDU

    @property
    def addr_format(self) -> AddrFormat:
        return _ADDR_FORMAT[type(self.address)]

    def summary(self) -> str:
        """One line for logs, e.g. ``SPDU REQUEST tid 3 2a 01/05→01/7F dom 01 APDU 3F 00 17``."""
        parts = [_pdu_summary(self.pdu), _addr_summary(self.address)]
        parts.append("dom " + (_hex(self.domain) if self.domain else "-"))
        if self.apdu:
            shown = _hex(self.apdu[:8]) + (f" … ({len(self.apdu)} B)" if len(self.apdu) > 8 else "")
            parts.append("APDU " + shown)
        flags = [f for f, on in (("prio", self.priority), ("alt", self.alt_path)) if on]
        if self.version:
            flags.append(f"v{self.version}")
        if flags:
            parts.append("[" + " ".join(flags) + "]")
        return " ".join(parts)


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()


def _pdu_summary(pdu: Pdu | None) -> str:
    if pdu is None:
        return "APDU"
    if isinstance(pdu, AuthPdu):
        return f"AUTH {_type_name(AuthType, pdu.type)} fmt {pdu.fmt} tid {pdu.tid} body {_hex(pdu.body)}"
    kind, enum = ("TPDU", TpduType) if isinstance(pdu, Tpdu) else ("SPDU", SpduType)
    text = f"{kind} {_type_name(enum, pdu.type)} tid {pdu.tid}"
    if pdu.auth:
        text += " auth"
    if pdu.type in _REMINDER_TYPES:
        text += " M_List " + (_hex(pdu.m_list) if pdu.m_list else "-")
    return text


def _addr_summary(a: Address) -> str:
    src = f"{a.src_subnet:02X}/{a.src_node:02X}"
    if isinstance(a, BroadcastAddress):
        return f"bcast {src}→" + (f"{a.dst_subnet:02X}/*" if a.dst_subnet else "domain")
    if isinstance(a, GroupAddress):
        return f"group {src}→grp {a.group:02X}"
    if isinstance(a, SubnetNodeAddress):
        return f"2a {src}→{a.dst_subnet:02X}/{a.dst_node:02X}"
    if isinstance(a, GroupAckAddress):
        return f"2b {src}→{a.dst_subnet:02X}/{a.dst_node:02X} grp {a.group:02X} mbr {a.member}"
    return f"nid {src}→{a.dst_subnet:02X}/NID {a.neuron_id.hex().upper()}"


# --------------------------------------------------------------------------------------------------
# Encoder


def _check(name: str, value: int, limit: int) -> int:
    if not isinstance(value, int) or not 0 <= value < limit:
        raise EncodeError(f"14908-1: {name} must be 0..{limit - 1}, got {value!r}")
    return int(value)


def _encode_address(a: Address) -> bytes:
    sub = _check("source subnet", a.src_subnet, 256)
    node = _check("source node", a.src_node, 128)
    if isinstance(a, SubnetNodeAddress | GroupAckAddress):
        src_sel = 0x80 if isinstance(a, SubnetNodeAddress) else 0x00
        out = bytes([sub, src_sel | node, _check("destination subnet", a.dst_subnet, 256),
                     (0x80 if a.dst_selector else 0) | _check("destination node", a.dst_node, 128)])
        if isinstance(a, GroupAckAddress):
            out += bytes([_check("group", a.group, 256), _check("group member", a.member, 256)])
        return out
    head = bytes([sub, (0x80 if a.selector else 0) | node])
    if isinstance(a, BroadcastAddress):
        return head + bytes([_check("destination subnet", a.dst_subnet, 256)])
    if isinstance(a, GroupAddress):
        return head + bytes([_check("group", a.group, 256)])
    if isinstance(a, NeuronIdAddress):
        if len(a.neuron_id) != 6:
            raise EncodeError(f"14908-1: a Neuron ID is 6 bytes, got {len(a.neuron_id)}")
        return head + bytes([_check("destination subnet", a.dst_subnet, 256)]) + bytes(a.neuron_id)
    raise EncodeError(f"14908-1: not an address: {a!r}")


def _encode_pdu(pdu: Pdu, enhanced: bool) -> bytes:
    tid = _check("transaction ID", pdu.tid, 4096 if enhanced else 16)
    hi, lo = (tid >> 8, bytes([tid & 0xFF])) if enhanced else (tid, b"")
    if isinstance(pdu, AuthPdu):
        first = _check("AuthPDU fmt", pdu.fmt, 4) << 6 | _check("AuthPDU type", pdu.type, 4) << 4 | hi
        return bytes([first]) + lo + bytes(pdu.body)
    first = (0x80 if pdu.auth else 0) | _check("PDU type", pdu.type, 8) << 4 | hi
    out = bytes([first]) + lo
    if pdu.type in _REMINDER_TYPES:
        if len(pdu.m_list) > 255:
            raise EncodeError(f"14908-1: M_List is at most 255 bytes, got {len(pdu.m_list)}")
        out += bytes([len(pdu.m_list)]) + bytes(pdu.m_list)
    elif pdu.m_list:
        raise EncodeError(f"14908-1: M_List only exists in REMINDER / REM_MSG, not in type {pdu.type}")
    return out


def encode(lpdu: Lpdu, *, with_crc: bool = True, crc_value: int | None = None) -> bytes:
    """Serialise ``lpdu``; append the CRC (big-endian) unless ``with_crc`` is False.

    ``crc_value`` forces the two CRC bytes (to send a corrupt frame on purpose). Values that do not fit
    their bit field raise :class:`EncodeError`; reserved-but-representable values are emitted as given.
    """
    version = _check("NPDU version", lpdu.version, 4)
    try:
        dom_code = _DOMAIN_LENGTHS.index(len(lpdu.domain))
    except ValueError:
        raise EncodeError(f"14908-1: domain ID is 0, 1, 3 or 6 bytes, got {len(lpdu.domain)}") from None
    l2 = (0x80 if lpdu.priority else 0) | (0x40 if lpdu.alt_path else 0)
    l2 |= _check("delta backlog", lpdu.delta_backlog, 64)
    npdu = version << 6 | lpdu.pdu_format << 4 | lpdu.addr_format << 2 | dom_code
    out = bytes([l2, npdu]) + _encode_address(lpdu.address) + bytes(lpdu.domain)
    if lpdu.pdu is not None:
        out += _encode_pdu(lpdu.pdu, enhanced=version == 2)
    out += bytes(lpdu.apdu)
    if crc_value is not None:
        return out + _check("CRC value", crc_value, 0x10000).to_bytes(2, "big")
    if with_crc:
        return out + crc16(out).to_bytes(2, "big")
    return out


# --------------------------------------------------------------------------------------------------
# Decoder


class LonDecodeError(DecodeError):
    """A 14908-1 frame that cannot be parsed; names the field and the byte offset."""

    def __init__(self, field: str, offset: int, message: str) -> None:
        super().__init__(LAYER, field, offset, message)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, field: str) -> bytes:
        if self.pos + n > len(self.data):
            left = len(self.data) - self.pos
            raise LonDecodeError(
                field, self.pos,
                f"needs {n} byte(s) but only {left} remain (frame is {len(self.data)} bytes without CRC)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk


def _decode_address(r: _Reader, fmt: int) -> Address:
    size = {0: 3, 1: 3, 3: 9}.get(fmt)
    if fmt == 2:
        # The selector bit (MSB of the source-node byte) decides 2a (4 bytes) or 2b (6 bytes).
        peek = r.take(2, "address (format 2, source subnet/node)")
        rest = r.take(2 if peek[1] & 0x80 else 4,
                      "address (format 2a)" if peek[1] & 0x80 else "address (format 2b)")
        b = peek + rest
        if b[1] & 0x80:
            return SubnetNodeAddress(b[0], b[1] & 0x7F, b[2], b[3] & 0x7F, bool(b[3] & 0x80))
        return GroupAckAddress(b[0], b[1] & 0x7F, b[2], b[3] & 0x7F, b[4], b[5], bool(b[3] & 0x80))
    name = {0: "broadcast", 1: "multicast", 3: "Neuron ID"}[fmt]
    b = r.take(size, f"address (format {fmt}, {name}, {size} bytes)")
    sel = bool(b[1] & 0x80)
    if fmt == 0:
        return BroadcastAddress(b[0], b[1] & 0x7F, b[2], sel)
    if fmt == 1:
        return GroupAddress(b[0], b[1] & 0x7F, b[2], sel)
    return NeuronIdAddress(b[0], b[1] & 0x7F, b[2], bytes(b[3:9]), sel)


def decode(frame: bytes, *, with_crc: bool = True) -> Lpdu:
    """Parse one LPDU. With ``with_crc`` the last two bytes are the CRC and must match.

    Raises :class:`LonDecodeError` (and nothing else) on malformed input.
    """
    frame = bytes(frame)
    body = frame
    if with_crc:
        if len(frame) < 2:
            raise LonDecodeError("CRC", 0, f"frame of {len(frame)} byte(s) has no room for the 2-byte CRC")
        body, found = frame[:-2], int.from_bytes(frame[-2:], "big")
        expected = crc16(body)
        if found != expected:
            raise LonDecodeError("CRC", len(body),
                                 f"CRC mismatch: expected 0x{expected:04X}, found 0x{found:04X}")
    r = _Reader(body)
    l2 = r.u8("L2 header")
    npdu = r.u8("NPDU header")
    version, pdu_fmt, addr_fmt, dom_code = npdu >> 6, npdu >> 4 & 3, npdu >> 2 & 3, npdu & 3
    address = _decode_address(r, addr_fmt)
    domain = bytes(r.take(_DOMAIN_LENGTHS[dom_code], f"domain ID ({_DOMAIN_LENGTHS[dom_code]} bytes)"))
    pdu: Pdu | None = None
    if pdu_fmt != PduFormat.APDU:
        label = PduFormat(pdu_fmt).name
        first = r.u8(f"{label} header byte")
        tid = first & 0x0F
        if version == 2:
            tid = tid << 8 | r.u8(f"{label} transaction ID low byte (enhanced mode)")
        if pdu_fmt == PduFormat.AUTHPDU:
            at = r.pos
            body_ = bytes(r.rest())
            if len(body_) not in (8, 9):
                raise LonDecodeError("AuthPDU body", at,
                                     f"challenge/reply body is 8 bytes (9 with a group byte), found "
                                     f"{len(body_)}")
            pdu = AuthPdu(first >> 6, _enum_or_int(AuthType, first >> 4 & 3), tid, body_)
        else:
            ptype = first >> 4 & 7
            m_list = b""
            if ptype in _REMINDER_TYPES:
                m_len = r.u8("M_Len")
                m_list = bytes(r.take(m_len, "M_List"))
            if pdu_fmt == PduFormat.TPDU:
                pdu = Tpdu(bool(first & 0x80), _enum_or_int(TpduType, ptype), tid, m_list)
            else:
                pdu = Spdu(bool(first & 0x80), _enum_or_int(SpduType, ptype), tid, m_list)
    return Lpdu(
        priority=bool(l2 & 0x80),
        alt_path=bool(l2 & 0x40),
        delta_backlog=l2 & 0x3F,
        version=version,
        address=address,
        domain=domain,
        pdu=pdu,
        apdu=bytes(r.rest()),
    )


# --------------------------------------------------------------------------------------------------
# Validation: what decodes but is not what a conforming sender emits.

_NO_APDU = {(PduFormat.TPDU, TpduType.ACK), (PduFormat.TPDU, TpduType.REMINDER),
            (PduFormat.SPDU, SpduType.REMINDER)}
_ANSWERS = {(PduFormat.TPDU, TpduType.ACK), (PduFormat.SPDU, SpduType.RESPONSE)}
_NEEDS_APDU = {(PduFormat.TPDU, TpduType.ACKD), (PduFormat.TPDU, TpduType.UNACKD_RPT),
               (PduFormat.TPDU, TpduType.REM_MSG), (PduFormat.SPDU, SpduType.REQUEST),
               (PduFormat.SPDU, SpduType.REM_MSG)}


def validate(lpdu: Lpdu) -> list[str]:
    """Reserved or unusual values in a frame, one sentence each; empty when nothing is odd."""
    issues: list[str] = []
    if lpdu.version == 1:
        issues.append("NPDU version 1 (encapsulated IP) is not a 14908-1 power-line frame")
    elif lpdu.version == 3:
        issues.append("NPDU version 3 is reserved")
    a = lpdu.address
    if isinstance(a, BroadcastAddress | GroupAddress | NeuronIdAddress) and not a.selector:
        issues.append(f"selector bit of the source node is 0 in address format {int(lpdu.addr_format)} "
                      "(only 2b uses 0)")
    if isinstance(a, SubnetNodeAddress | GroupAckAddress) and not a.dst_selector:
        issues.append("MSB of the destination-node byte is 0 (the standard sets it to 1)")
    if isinstance(a, GroupAckAddress) and a.member > MAX_GROUP_MEMBER:
        issues.append(f"group member {a.member} is beyond {MAX_GROUP_MEMBER}")
    pdu, fmt = lpdu.pdu, lpdu.pdu_format
    if isinstance(pdu, Tpdu | Spdu):
        ptype = _known(TpduType if isinstance(pdu, Tpdu) else SpduType, pdu.type)
        if ptype is None:
            issues.append(f"reserved {fmt.name} type {pdu.type}")
        else:
            if (fmt, ptype) in _NO_APDU and lpdu.apdu:
                issues.append(f"{fmt.name} {ptype.name} carries {len(lpdu.apdu)} APDU byte(s)")
            if (fmt, ptype) in _NEEDS_APDU and not lpdu.apdu:
                issues.append(f"{fmt.name} {ptype.name} has an empty APDU")
            if pdu.auth and (fmt, ptype) in _ANSWERS:
                issues.append(f"{fmt.name} {ptype.name} has the auth bit set "
                              "(acks and responses are not authenticated)")
    if isinstance(pdu, AuthPdu):
        if len(pdu.body) not in (8, 9):
            issues.append(f"AuthPDU body is {len(pdu.body)} bytes (8, or 9 with a group byte)")
        elif (len(pdu.body) == 9) != (pdu.fmt == AddrFormat.MULTICAST):
            issues.append(f"AuthPDU fmt {pdu.fmt} with a {len(pdu.body)}-byte body "
                          "(the group byte is present exactly when fmt is 1, multicast)")
        if lpdu.apdu:
            issues.append(f"AuthPDU followed by {len(lpdu.apdu)} extra byte(s)")
    if fmt == PduFormat.APDU and not lpdu.apdu:
        issues.append("pdu format APDU with an empty APDU")
    if isinstance(a, GroupAckAddress):
        if not (isinstance(pdu, AuthPdu) or (fmt, pdu.type if pdu else None) in _ANSWERS):
            issues.append("address 2b is only used for acks, responses and challenges to a multicast sender")
    return issues


# --------------------------------------------------------------------------------------------------
# APDU first byte (lower-layers §1.7)


class ApduKind(StrEnum):
    NV = "network variable"
    APP_MESSAGE = "application message"
    FOREIGN = "foreign frame"
    ND = "network diagnostics"
    NM = "network management"


_CODE_NAMES = {
    0x3D: "ISI", 0x3E: "FILE_TRANSFER", 0x3F: "APP_OFFLINE", 0x4F: "FOREIGN_OFFLINE",
    0x51: "ND_QUERY_STATUS", 0x52: "ND_PROXY", 0x53: "ND_CLEAR_STATUS", 0x54: "ND_QUERY_XCVR",
    0x56: "ND_QUERY_STATUS_FLEX_DOMAIN",
    0x60: "NM_EXPANDED", 0x61: "NM_QUERY_ID", 0x62: "NM_RESPOND_TO_QUERY", 0x63: "NM_UPDATE_DOMAIN",
    0x64: "NM_LEAVE_DOMAIN", 0x65: "NM_UPDATE_KEY", 0x66: "NM_UPDATE_ADDR", 0x67: "NM_QUERY_ADDR",
    0x68: "NM_QUERY_NV_CNFG", 0x69: "NM_UPDATE_GROUP_ADDR", 0x6A: "NM_QUERY_DOMAIN",
    0x6B: "NM_UPDATE_NV_CNFG", 0x6C: "NM_SET_NODE_MODE", 0x6D: "NM_READ_MEMORY",
    0x6E: "NM_WRITE_MEMORY", 0x6F: "NM_CHECKSUM_RECALC", 0x70: "NM_WINK", 0x71: "NM_MEMORY_REFRESH",
    0x72: "NM_QUERY_SNVT", 0x73: "NM_NV_FETCH", 0x7D: "NM_DEVICE_ESCAPE", 0x7E: "NM_ROUTER_ESCAPE",
    0x7F: "NM_SERVICE_PIN",
}


@dataclass(frozen=True)
class ApduClass:
    """What an APDU's first byte(s) say. ``code`` is the message code, or the 14-bit selector of an NV.

    NM/ND *responses* (``00pxxxxx``) fall in the application-message range: only the transaction they
    answer tells them apart, so a response classified here as APP_MESSAGE may be one.
    """

    kind: ApduKind
    code: int
    name: str | None = None
    outgoing: bool | None = None  # network variables only: direction bit (1 = outgoing)


def apdu_class(apdu: bytes) -> ApduClass:
    """Classify an APDU by its destination-and-type byte (network variables use two bytes)."""
    if not apdu:
        raise LonDecodeError("APDU code", 0, "empty APDU has no message code")
    b = apdu[0]
    if b & 0x80:
        if len(apdu) < 2:
            raise LonDecodeError("NV selector", 1, "network-variable APDU needs a second selector byte")
        return ApduClass(ApduKind.NV, (b & 0x3F) << 8 | apdu[1], None, bool(b & 0x40))
    if b < 0x40:
        kind = ApduKind.APP_MESSAGE
    elif b < 0x50:
        kind = ApduKind.FOREIGN
    elif b < 0x60:
        kind = ApduKind.ND
    else:
        kind = ApduKind.NM
    return ApduClass(kind, b, _CODE_NAMES.get(b))
