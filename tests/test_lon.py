"""Self-tests of the 14908-1 LPDU codec: hand-built layouts, errors, validation, round trips, fuzz."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osgp.errors import EncodeError
from osgp.lon import (
    ApduKind,
    AuthPdu,
    AuthType,
    BroadcastAddress,
    GroupAckAddress,
    GroupAddress,
    LonDecodeError,
    Lpdu,
    NeuronIdAddress,
    PduFormat,
    Spdu,
    SpduType,
    SubnetNodeAddress,
    Tpdu,
    TpduType,
    apdu_class,
    crc16,
    decode,
    encode,
    validate,
)

NID = bytes.fromhex("05 01 02 03 04 05")


def lp(address, pdu=None, apdu=b"", *, domain=b"\x01", version=0, priority=False, alt=False, dbl=0) -> Lpdu:
    return Lpdu(priority, alt, dbl, version, address, domain, pdu, apdu)


# -- layouts built by hand from lower-layers §1.2-1.6 ----------------------------------------------


@pytest.mark.parametrize(
    ("frame", "hex_"),
    [
        # broadcast, prio + alt + dBL 15, APDU format, no domain: NPDU 0011 0000
        (lp(BroadcastAddress(3, 4, 0), None, b"\x3F", domain=b"", priority=True, alt=True, dbl=15),
         "CF 30 03 84 00 3F"),
        # multicast group 0x22, TPDU ACKD tid 9, 3-byte domain: NPDU 0000 0110
        (lp(GroupAddress(1, 2, 0x22), Tpdu(False, TpduType.ACKD, 9), b"\x10", domain=b"\xAA\xBB\x00"),
         "00 06 01 82 22 AA BB 00 09 10"),
        # 2a, SPDU REQUEST tid 3 with auth bit: NPDU 0001 1001, SPDU 1000 0011
        (lp(SubnetNodeAddress(1, 5, 1, 0x7F), Spdu(True, SpduType.REQUEST, 3), b"\x30\x00\x01"),
         "00 19 01 85 01 FF 01 83 30 00 01"),
        # 2b ack: selector 0 in the source node, byte +2 = destination subnet, then group, member
        (lp(GroupAckAddress(1, 0x10, 2, 0x20, 5, 3), Tpdu(False, TpduType.ACK, 7)),
         "00 09 01 10 02 A0 05 03 01 27"),
        # Neuron ID, 6-byte domain, SPDU RESPONSE tid 15: NPDU 0001 1111
        (lp(NeuronIdAddress(1, 5, 0, NID), Spdu(False, SpduType.RESPONSE, 15), b"\x00",
            domain=bytes(range(1, 7))),
         "00 1F 01 85 00 05 01 02 03 04 05 01 02 03 04 05 06 2F 00"),
        # REM/MSG with a 2-byte M_List: TPDU 0101 0100, M_Len 2, M_List, APDU
        (lp(GroupAddress(1, 2, 9), Tpdu(False, TpduType.REM_MSG, 4, b"\x05\x80"), b"\x77"),
         "00 05 01 82 09 01 54 02 05 80 77"),
        # AuthPDU: fmt 2 (bits 7-6), REPLY (bits 5-4), tid 11 -> 0xAB; NPDU 0010 1001
        (lp(SubnetNodeAddress(1, 5, 1, 3), AuthPdu(2, AuthType.REPLY, 11, bytes(range(8)))),
         "00 29 01 85 01 83 01 AB 00 01 02 03 04 05 06 07"),
        # enhanced mode (NPDU version 2): TID 0xABC = high nibble in the SPDU byte + low byte after it
        (lp(SubnetNodeAddress(1, 5, 1, 3), Spdu(False, SpduType.REQUEST, 0xABC), b"\x61", version=2),
         "00 99 01 85 01 83 01 0A BC 61"),
    ],
)
def test_encode_decode_hand_built(frame: Lpdu, hex_: str) -> None:
    raw = bytes.fromhex(hex_)
    assert encode(frame, with_crc=False) == raw
    assert decode(raw, with_crc=False) == frame
    with_crc = raw + crc16(raw).to_bytes(2, "big")
    assert encode(frame) == with_crc
    assert decode(with_crc) == frame


def test_auth_masks_are_not_wiresharks() -> None:
    # 0x5B: fmt 1 (multicast), type 1 (CHALLENGE_OMA), tid 11; Wireshark's display masks (0x0C / 0x02)
    # would read fmt 2 and type 1 from this byte.
    raw = bytes.fromhex("00 29 01 85 01 83 01 5B") + bytes(9)
    pdu = decode(raw, with_crc=False).pdu
    assert pdu == AuthPdu(1, AuthType.CHALLENGE_OMA, 11, bytes(9))


def test_enhanced_auth_pdu_carries_tid_low_byte() -> None:
    raw = bytes.fromhex("00 A9 01 85 01 83 01 81 23") + bytes(8)
    f = decode(raw, with_crc=False)
    assert f.version == 2 and f.pdu == AuthPdu(2, AuthType.CHALLENGE, 0x123, bytes(8))


def test_reserved_values_are_kept_as_ints() -> None:
    raw = bytes.fromhex("00 09 01 85 01 83 01 65 AA")  # TPDU type 6 (reserved), tid 5
    f = decode(raw, with_crc=False)
    assert f.pdu.type == 6 and not isinstance(f.pdu.type, TpduType)
    assert encode(f, with_crc=False) == raw


def test_forced_crc_value() -> None:
    f = lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, TpduType.ACK, 1))
    raw = encode(f, crc_value=0x1234)
    assert raw[-2:] == b"\x12\x34"
    with pytest.raises(LonDecodeError, match="CRC mismatch"):
        decode(raw)


def test_pdu_format_property_and_summary() -> None:
    f = lp(SubnetNodeAddress(1, 5, 1, 0x7F), Spdu(False, SpduType.REQUEST, 3), bytes.fromhex("3F 00 17"))
    assert f.pdu_format is PduFormat.SPDU
    assert f.summary() == "SPDU REQUEST tid 3 2a 01/05→01/7F dom 01 APDU 3F 00 17"
    long = lp(BroadcastAddress(1, 5, 0), None, bytes(20), domain=b"", priority=True)
    assert long.summary() == "APDU bcast 01/05→domain dom - APDU 00 00 00 00 00 00 00 00 … (20 B) [prio]"


# -- decode errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_", "field_part", "offset"),
    [
        ("", "L2 header", 0),
        ("00", "NPDU", 1),
        ("00 09 01", "format 2", 2),  # 2a/2b selector not even readable
        ("00 09 01 05 01 83", "2b", 4),  # selector 0 -> 2b needs 6 bytes
        ("00 0D 01 85 00 01 02", "Neuron ID", 2),
        ("00 0B 01 85 01 83 AA", "domain", 6),  # 3-byte domain, 1 present
        ("00 09 01 85 01 83 01", "TPDU header", 7),
        ("00 89 01 85 01 83 01 0A", "low byte", 8),  # enhanced mode, TID low byte missing
        ("00 09 01 85 01 83 01 44 03 01", "M_List", 9),  # M_Len 3, 1 byte present
        ("00 09 01 85 01 83 01 44", "M_Len", 8),
        ("00 29 01 85 01 83 01 AB 00 01 02", "AuthPDU body", 8),
    ],
)
def test_decode_errors_name_field_and_offset(hex_: str, field_part: str, offset: int) -> None:
    with pytest.raises(LonDecodeError) as err:
        decode(bytes.fromhex(hex_), with_crc=False)
    assert field_part in err.value.field
    assert err.value.offset == offset
    assert err.value.layer == "14908-1"


def test_too_short_for_crc() -> None:
    with pytest.raises(LonDecodeError) as err:
        decode(b"\x00")
    assert err.value.field == "CRC"


@pytest.mark.parametrize(
    "frame",
    [
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 0, 1), domain=b"\x01\x02"),
        lp(SubnetNodeAddress(1, 128, 1, 3), Tpdu(False, 0, 1)),
        lp(SubnetNodeAddress(1, 5, 256, 3), Tpdu(False, 0, 1)),
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 0, 16)),
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 0, 4096), version=2),
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 8, 1)),
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, TpduType.ACKD, 1, b"\x01")),
        lp(SubnetNodeAddress(1, 5, 1, 3), AuthPdu(4, 0, 1, bytes(8))),
        lp(NeuronIdAddress(1, 5, 0, b"\x01" * 5), Tpdu(False, 0, 1)),
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 0, 1), dbl=64),
        lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 0, 1), version=4),
    ],
)
def test_encode_rejects_values_that_do_not_fit(frame: Lpdu) -> None:
    with pytest.raises(EncodeError):
        encode(frame)


# -- validate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, 3, 1), b"\x01"), "reserved TPDU type 3"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), Spdu(False, 1, 1), b"\x01"), "reserved SPDU type 1"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), Spdu(False, 0, 1), b"\x01", version=1), "version 1"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), Spdu(False, 0, 1), b"\x01", version=3), "version 3"),
        (lp(BroadcastAddress(1, 5, 0, selector=False), None, b"\x01"), "selector bit"),
        (lp(SubnetNodeAddress(1, 5, 1, 3, dst_selector=False), None, b"\x01"), "destination-node"),
        (lp(GroupAckAddress(1, 5, 1, 3, 9, 1), Spdu(False, SpduType.REQUEST, 1), b"\x01"), "2b"),
        (lp(GroupAckAddress(1, 5, 1, 3, 9, 64), Tpdu(False, TpduType.ACK, 1)), "member 64"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(False, TpduType.ACK, 1), b"\x01"), "carries 1 APDU"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), Tpdu(True, TpduType.ACK, 1)), "auth bit"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), Spdu(False, SpduType.REQUEST, 1)), "empty APDU"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), AuthPdu(1, 0, 1, bytes(8))), "group byte"),
        (lp(SubnetNodeAddress(1, 5, 1, 3), AuthPdu(2, 0, 1, bytes(7))), "7 bytes"),
    ],
)
def test_validate_flags_unusual_values(frame: Lpdu, needle: str) -> None:
    issues = validate(frame)
    assert any(needle in i for i in issues), issues


def test_validate_clean_frames() -> None:
    assert validate(lp(SubnetNodeAddress(1, 5, 1, 3), Spdu(False, SpduType.REQUEST, 1), b"\x30")) == []
    assert validate(lp(GroupAckAddress(1, 5, 1, 3, 9, 1), Spdu(False, SpduType.RESPONSE, 1), b"\x00")) == []
    assert validate(lp(SubnetNodeAddress(1, 5, 1, 3), AuthPdu(1, 0, 1, bytes(9)))) == []


# -- apdu_class (§1.7) -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("apdu", "kind", "code", "name"),
    [
        ("00", ApduKind.APP_MESSAGE, 0x00, None),
        ("3F", ApduKind.APP_MESSAGE, 0x3F, "APP_OFFLINE"),
        ("40", ApduKind.FOREIGN, 0x40, None),
        ("4F", ApduKind.FOREIGN, 0x4F, "FOREIGN_OFFLINE"),
        ("51", ApduKind.ND, 0x51, "ND_QUERY_STATUS"),
        ("5F", ApduKind.ND, 0x5F, None),
        ("60", ApduKind.NM, 0x60, "NM_EXPANDED"),
        ("6D 00", ApduKind.NM, 0x6D, "NM_READ_MEMORY"),
        ("7F", ApduKind.NM, 0x7F, "NM_SERVICE_PIN"),
        ("C1 02", ApduKind.NV, 0x0102, None),
    ],
)
def test_apdu_class(apdu: str, kind: ApduKind, code: int, name: str | None) -> None:
    c = apdu_class(bytes.fromhex(apdu))
    assert (c.kind, c.code, c.name) == (kind, code, name)


def test_apdu_class_direction_and_errors() -> None:
    assert apdu_class(b"\xC1\x02").outgoing is True
    assert apdu_class(b"\x81\x02").outgoing is False
    with pytest.raises(LonDecodeError):
        apdu_class(b"")
    with pytest.raises(LonDecodeError):
        apdu_class(b"\x80")


# -- property-based round trips ------------------------------------------------------------------------

u8 = st.integers(0, 255)
node = st.integers(0, 127)
addresses = st.one_of(
    st.builds(BroadcastAddress, u8, node, u8, st.booleans()),
    st.builds(GroupAddress, u8, node, u8, st.booleans()),
    st.builds(SubnetNodeAddress, u8, node, u8, node, st.booleans()),
    st.builds(GroupAckAddress, u8, node, u8, node, u8, u8, st.booleans()),
    st.builds(NeuronIdAddress, u8, node, u8, st.binary(min_size=6, max_size=6), st.booleans()),
)
domains = st.sampled_from([0, 1, 3, 6]).flatmap(lambda n: st.binary(min_size=n, max_size=n))


@st.composite
def lpdus(draw: st.DrawFn) -> Lpdu:
    version = draw(st.integers(0, 3))
    tid = draw(st.integers(0, 4095 if version == 2 else 15))
    kind = draw(st.sampled_from(["tpdu", "spdu", "auth", "apdu"]))
    apdu = draw(st.binary(max_size=40))
    pdu = None
    if kind in ("tpdu", "spdu"):
        ptype = draw(st.integers(0, 7))
        m_list = draw(st.binary(max_size=12)) if ptype in (4, 5) else b""
        cls = Tpdu if kind == "tpdu" else Spdu
        pdu = cls(draw(st.booleans()), ptype, tid, m_list)
    elif kind == "auth":
        pdu = AuthPdu(draw(st.integers(0, 3)), draw(st.integers(0, 3)), tid,
                      draw(st.binary(min_size=8, max_size=9)))
        apdu = b""
    return Lpdu(draw(st.booleans()), draw(st.booleans()), draw(st.integers(0, 63)), version,
                draw(addresses), draw(domains), pdu, apdu)


@given(lpdus(), st.booleans())
@settings(max_examples=400, deadline=None)
def test_decode_encode_roundtrip(frame: Lpdu, with_crc: bool) -> None:
    raw = encode(frame, with_crc=with_crc)
    assert decode(raw, with_crc=with_crc) == frame
    assert isinstance(frame.summary(), str) and isinstance(validate(frame), list)


@given(st.binary(max_size=60), st.booleans())
@settings(max_examples=400, deadline=None)
def test_encode_decode_roundtrip_on_any_decodable_bytes(body: bytes, with_crc: bool) -> None:
    raw = body + crc16(body).to_bytes(2, "big") if with_crc else body
    try:
        frame = decode(raw, with_crc=with_crc)
    except LonDecodeError:
        return
    assert encode(frame, with_crc=with_crc) == raw


# -- fuzz: nothing but LonDecodeError escapes ---------------------------------------------------------


def _valid_frames() -> list[bytes]:
    return [
        bytes.fromhex(h)
        for h in (
            "01 09 01 AA 01 A9 01 03 81 0D 00 CA",
            "00 09 01 A9 01 AA 01 23",
            "01 19 01 C9 01 98 01 0B 73 07",
            "00 39 01 C9 01 9D 01 BF FF 00 00 02",
            "00 09 01 10 02 A0 05 03 01 27",
            "00 1F 01 85 00 05 01 02 03 04 05 01 02 03 04 05 06 2F 00",
            "00 05 01 82 09 01 54 02 05 80 77",
            "00 29 01 85 01 83 01 AB 00 01 02 03 04 05 06 07",
            "00 99 01 85 01 83 01 0A BC 61",
        )
    ]


def test_fuzz_decode_only_raises_lon_decode_error() -> None:
    rng = random.Random(1234)
    seeds = _valid_frames()
    decoded = 0
    for i in range(10_000):
        if i % 2:
            data = bytearray(rng.randbytes(rng.randint(0, 80)))
        else:  # mutate a valid frame: flip bits, cut, or insert
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 3)):
                op = rng.randrange(3)
                if op == 0 and data:
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
                elif op == 1:
                    del data[rng.randrange(len(data) + 1):]
                else:
                    data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
            if i % 4 == 0:  # give the mutant a correct CRC so the structure is what gets tested
                data += crc16(bytes(data)).to_bytes(2, "big")
        for with_crc in (True, False):
            try:
                frame = decode(bytes(data), with_crc=with_crc)
            except LonDecodeError:
                continue
            decoded += 1
            assert encode(frame, with_crc=with_crc) == bytes(data)
    assert decoded > 1000  # the fuzz reaches the parser, not only the length checks
