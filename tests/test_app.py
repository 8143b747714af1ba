"""OSGP application layer codec: hand-built frames from the documents, round trips, fuzzing.

Hex literals come from the MEP Client Developer's Guide examples (shared/spec/app-layer-and-security.md
section 6.2; the length prefix and trailing seq/digest are left out here) and the C12.18 forms of
tables-and-procedures.md section 4.1.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osgp.app import (
    AppDecodeError,
    FullRead,
    FullWrite,
    PartialRead,
    PartialWrite,
    RawRequest,
    RequestCode,
    Response,
    ResponseCode,
    bt,
    decode_request,
    decode_response,
    describe,
    encode_request,
    encode_response,
    et,
    parse_table_name,
    pending,
    table_name,
    unwrap_apdu,
    wrap_apdu,
)
from osgp.errors import DecodeError, EncodeError

H = bytes.fromhex


# ---- codes ---------------------------------------------------------------------------------

def test_request_codes():
    assert [int(c) for c in RequestCode] == [0x30, 0x3F, 0x40, 0x4F]


def test_response_codes_and_aliases():
    assert ResponseCode.OK == 0 and ResponseCode.ISSS == 0x0A
    assert ResponseCode.AUTH_FAILURE == 0x0B and ResponseCode.INVALID_SEQUENCE == 0x0C
    assert ResponseCode.OPERATION_NOT_POSSIBLE is ResponseCode.ONP
    assert ResponseCode(5).name == "IAR"
    assert [int(c) for c in ResponseCode] == list(range(0x0D))


def test_describe():
    assert describe(4) == "0x04 operation not possible"
    assert describe(0x0B) == "0x0B authentication failure"
    assert describe(0x0C) == "0x0C invalid sequence number"
    assert describe(0x42) == "0x42 unknown response code"
    text = Response(0x0C, expected_seq=0x77635B90).describe()
    assert text == ("0x0C invalid sequence number, device sequence number 2003000208"
                    " (next request uses 2003000209)")


# ---- table ids -----------------------------------------------------------------------------

def test_table_ids():
    assert bt(23) == 0x0017 and et(3) == 0x0803 and et(50) == 0x0832 and et(11) == 0x080B
    assert pending(bt(54)) == 4096 + 54
    assert table_name(0x0017) == "BT23" and table_name(0x0804) == "ET04"
    assert table_name(pending(bt(54))) == "BT54 (pending)"
    assert table_name(pending(et(4))) == "ET04 (pending)"
    assert table_name(0xE017) == "table 0xE017"


def test_parse_table_name():
    assert parse_table_name("ET04") == 2052
    assert parse_table_name("BT54 (pending)") == 4150
    assert parse_table_name("bt7") == 7


@pytest.mark.parametrize("bad", ["", "XT01", "BT", "BT2048", "ET99999", "BT01 pending"])
def test_parse_table_name_rejects(bad):
    with pytest.raises(AppDecodeError):
        parse_table_name(bad)


@pytest.mark.parametrize("fn,arg", [(bt, 2048), (bt, -1), (et, 2048), (pending, 4096)])
def test_table_id_ranges(fn, arg):
    with pytest.raises(EncodeError):
        fn(arg)


@given(st.integers(0, 8191))
def test_table_name_round_trip(tid):
    assert parse_table_name(table_name(tid)) == tid


# ---- requests: documents' bytes ------------------------------------------------------------

REQUEST_VECTORS = [
    # MEP-DG Example 1 (p.15): partial read BT23, offset 0, count 44
    (H("3f 00 17 00 00 00 00 2c"), PartialRead(0x17, 0, 44)),
    # MEP-DG Example 2 (p.17): partial write ET50, offset 30, 1 byte 0x01
    (H("4f 08 32 00 00 1e 00 01 01"), PartialWrite(0x0832, 30, b"\x01")),
    # MEP-DG p.47: partial read ET53, 5 bytes
    (H("3f 08 35 00 00 00 00 05"), PartialRead(0x0835, 0, 5)),
    # C12.18 full read of BT03 (ASM-APP-04)
    (H("30 00 03"), FullRead(3)),
    # C12.18 full write of BT07 with 3 data bytes, hand-built
    (H("40 00 07 00 03 aa bb cc"), FullWrite(7, H("aa bb cc"))),
]


@pytest.mark.parametrize(("wire", "req"), REQUEST_VECTORS)
def test_request_vectors(wire, req):
    assert encode_request(req) == wire
    assert decode_request(wire) == req


def test_et52_multi_command_write_from_the_guide():
    wire = H("4f 08 34 00 00 00 00 43 43 00 00 01 00 08 00 3f 08 0b 00 00 00 00 0a 08 00 3f 00 14 00 00"
             " 00 00 0a 08 00 3f 00 15 00 00 00 00 0a 08 00 3f 08 04 00 00 37 00 01 08 00 3f 08 0e 00 00"
             " 00 00 0c 08 00 3f 08 0f 00 00 00 00 1f 01 00")
    req = decode_request(wire)
    assert isinstance(req, PartialWrite)
    assert (req.table_id, req.offset, req.count, len(req.data)) == (et(52), 0, 0x43, 0x43)
    assert req.data[:2] == H("43 00")  # ET52 transaction header, LSB first: 67
    assert encode_request(req) == wire


def test_write_count_can_lie_and_survives_a_round_trip():
    lie = PartialWrite(et(50), 30, b"\x01\x02", count=9)
    wire = encode_request(lie)
    assert wire == H("4f 08 32 00 00 1e 00 09 01 02")
    assert decode_request(wire) == lie
    assert FullWrite(7, b"ab") == FullWrite(7, b"ab", count=2)


def test_unknown_code_is_raw_request():
    assert decode_request(H("20")) == RawRequest(H("20"))
    assert decode_request(H("99 01 02")) == RawRequest(H("99 01 02"))
    assert encode_request(RawRequest(H("3f 00"))) == H("3f 00")


@pytest.mark.parametrize(("wire", "field", "offset"), [
    (b"", "request code", 0),
    (H("30 00"), "table id", 1),
    (H("3f 00 17 00 00"), "offset", 3),
    (H("3f 00 17 00 00 00 00"), "count", 6),
    (H("40 00 07 00"), "count", 3),
    (H("4f 08 32 00 00 1e 00"), "count", 6),
    (H("30 00 03 00 0d"), "end of message", 3),
    (H("3f 00 17 00 00 00 00 2c 00"), "end of message", 8),
])
def test_malformed_requests_name_field_and_offset(wire, field, offset):
    with pytest.raises(AppDecodeError) as err:
        decode_request(wire)
    assert (err.value.field, err.value.offset) == (field, offset)
    assert err.value.layer == "OSGP application"


@pytest.mark.parametrize("make", [
    lambda: FullRead(0x10000), lambda: PartialRead(1, 1 << 24, 0), lambda: PartialRead(1, 0, 0x10000),
    lambda: FullWrite(1, bytes(3), count=-1), lambda: PartialWrite(-1, 0, b""),
])
def test_out_of_range_fields_cannot_be_built(make):
    with pytest.raises(EncodeError):
        make()


# ---- responses: documents' bytes -----------------------------------------------------------

def test_read_response_from_the_guide():
    # MEP-DG p.47: ET53 read of 5 bytes
    wire = H("00 00 05 6f 00 01 01 00")
    req = PartialRead(et(53), 0, 5)
    assert decode_response(wire, req) == Response(0, H("6f 00 01 01 00"))
    assert encode_response(Response(0, H("6f 00 01 01 00")), req) == wire


def test_invalid_sequence_response_from_the_guide():
    wire = H("0c 77 63 5b 90")  # MEP-DG p.15
    req = PartialRead(0x17, 0, 44)
    assert decode_response(wire, req) == Response(0x0C, expected_seq=0x77635B90)
    assert encode_response(Response(0x0C, expected_seq=0x77635B90), req) == wire


def test_write_ack_and_error_codes():
    write = PartialWrite(et(50), 30, b"\x01")
    assert encode_response(Response(0), write) == H("00")
    assert decode_response(H("00"), write) == Response(0)
    assert encode_response(Response(ResponseCode.ONP), FullRead(1)) == H("04")
    assert decode_response(H("05"), FullRead(1)) == Response(5)
    assert decode_response(H("0b"), write) == Response(0x0B)


def test_full_read_response_uses_the_same_form():
    assert encode_response(Response(0, b"\x01\x02"), FullRead(1)) == H("00 00 02 01 02")


@pytest.mark.parametrize(("wire", "req", "field"), [
    (b"", FullRead(1), "response code"),
    (H("00 00 05 6f 00"), PartialRead(1, 0, 5), "count"),        # count says 5, 2 follow
    (H("00 00"), FullRead(1), "count"),
    (H("00 01"), PartialWrite(1, 0, b"x"), "end of message"),    # write ack with a stray byte
    (H("04 00"), FullRead(1), "end of message"),
    (H("0c 77 63 5b"), FullRead(1), "sequence number"),
    (H("0c 77 63 5b 90 00"), FullRead(1), "sequence number"),
])
def test_malformed_responses(wire, req, field):
    with pytest.raises(AppDecodeError) as err:
        decode_response(wire, req)
    assert err.value.field == field


def test_count_mismatch_message_is_readable():
    with pytest.raises(AppDecodeError, match="count says 5 data bytes but 2 follow"):
        decode_response(H("00 00 05 6f 00"), PartialRead(1, 0, 5))


def test_unknown_response_code_is_kept_for_the_test_case():
    assert decode_response(H("42 01"), FullRead(1)) == Response(0x42, H("01"))
    assert decode_response(H("00 aa"), RawRequest(H("99"))) == Response(0, H("aa"))


def test_0c_needs_its_sequence_number():
    with pytest.raises(EncodeError):
        encode_response(Response(0x0C), FullRead(1))


# ---- APDU envelope --------------------------------------------------------------------------

def test_apdu_envelope():
    assert wrap_apdu(H("30 00 03")) == H("30 00 03")  # ASM-APP-01 default: no envelope
    assert unwrap_apdu(H("30 00 03")) == H("30 00 03")
    assert wrap_apdu(H("30 00 03"), b"\x50") == H("50 30 00 03")
    assert unwrap_apdu(H("50 30 00 03"), b"\x50") == H("30 00 03")
    with pytest.raises(AppDecodeError, match="expected 50"):
        unwrap_apdu(H("51 30 00 03"), b"\x50")
    with pytest.raises(AppDecodeError):
        unwrap_apdu(b"", b"\x50")


# ---- property-based round trips -------------------------------------------------------------

u16 = st.integers(0, 0xFFFF)
u24 = st.integers(0, 0xFFFFFF)
blob = st.binary(max_size=300)

requests = st.one_of(
    st.builds(FullRead, u16),
    st.builds(PartialRead, u16, u24, u16),
    st.builds(FullWrite, u16, blob, st.one_of(st.none(), u16)),
    st.builds(PartialWrite, u16, u24, blob, st.one_of(st.none(), u16)),
    st.binary(min_size=1, max_size=300).filter(lambda b: b[0] not in RequestCode.__members__.values())
    .map(RawRequest),
)


@settings(max_examples=300)
@given(requests)
def test_request_round_trip(req):
    assert decode_request(encode_request(req)) == req


@settings(max_examples=300)
@given(requests, st.data())
def test_response_round_trip(req, data):
    carries_data = isinstance(req, FullRead | PartialRead | RawRequest)
    kind = data.draw(st.sampled_from(["ok", "error", "seq"]))
    if kind == "ok":
        resp = Response(0, data.draw(st.binary(max_size=300)) if carries_data else b"")
    elif kind == "error":
        resp = Response(data.draw(st.sampled_from([c for c in range(1, 0x0C)])))
    else:
        resp = Response(0x0C, expected_seq=data.draw(st.integers(0, 2**32 - 1)))
    assert decode_response(encode_response(resp, req), req) == resp


# ---- fuzz: only typed errors escape ---------------------------------------------------------

def test_fuzz_decoders_raise_only_typed_errors():
    rng = random.Random(20240601)
    probes = [FullRead(1), PartialRead(1, 0, 4), FullWrite(1, b"x"), PartialWrite(1, 0, b"x"),
              RawRequest(b"\x99")]
    for _ in range(10_000):
        n = rng.choice((0, 1, 2, 3, 5, 8, rng.randrange(0, 64)))
        # bias the first byte towards the codes we parse so the fuzz reaches the field checks
        head = [rng.choice((0x30, 0x3F, 0x40, 0x4F, 0x00, 0x0C, rng.randrange(256)))] if n else []
        message = bytes(head + [rng.randrange(256) for _ in range(max(0, n - 1))])
        try:
            decode_request(message)
        except DecodeError:
            pass
        try:
            decode_response(message, rng.choice(probes))
        except DecodeError:
            pass
