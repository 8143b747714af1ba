"""OSGP digest: published vectors (hex literals from the documents), structure, edge cases.

Vectors: shared/spec/app-layer-and-security.md section 6.1 (ttaubert/osgp-oma-digest test, also in the
JN-code file) and section 6.2 (OSGP Alliance MEP Client Developer's Guide 078-0372-01BD, pp.15-17 and
45-48, default MAK = 16 x 0x01). MEP frames are quoted whole, as printed: <length 2> <message> <digest 8>.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osgp.digest import DigestKey, osgp_digest, osgp_digest_parts
from osgp.errors import ConfigError
from osgp.secret import Secret

H = bytes.fromhex
MAK = bytes([0x01] * 16)
OMA_KEY = bytes([0xDF] * 12)


def split_mep(frame: str) -> tuple[bytes, bytes]:
    """A printed MEP frame -> (message without length and digest, digest); checks the length field."""
    raw = H(frame)
    assert int.from_bytes(raw[:2], "big") == len(raw) - 2, "vector transcription error"
    return raw[2:-8], raw[-8:]


# (request frame, response frame) pairs from MEP-DG, in the order of the digest's section 6.2.
EXAMPLE_1_FIRST = (
    "00 14 3f 00 17 00 00 00 00 2c 01 02 03 04 74 86 1f 6d 76 58 dd 56",
    "00 0d 0c 77 63 5b 90 35 86 3c 1d f5 b9 14 82",
)
EXAMPLE_1_RETRY = (
    "00 14 3f 00 17 00 00 00 00 2c 77 63 5b 91 13 db 85 a1 35 a0 57 5e",
    "00 37 00 00 2c"
    " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 03 00 00 00 00 00 00 00 00 00 00"
    " 00 00 00 00 00 00 00 00 00 06 00 00 00"
    " ad dc b8 2c 3d 41 7f 91",
)
EXAMPLE_2_WRITE = (
    "00 15 4f 08 32 00 00 1e 00 01 01 77 63 6e 2f 86 e5 0e 26 67 d1 e6 3c",
    "00 09 00 86 e5 0e 26 67 d1 e6 3c",
)
EXAMPLE_ET52 = (
    "00 57 4f 08 34 00 00 00 00 43 43 00 00 01 00 08 00 3f 08 0b 00 00 00 00 0a 08 00 3f 00 14 00 00"
    " 00 00 0a 08 00 3f 00 15 00 00 00 00 0a 08 00 3f 08 04 00 00 37 00 01 08 00 3f 08 0e 00 00 00 00"
    " 0c 08 00 3f 08 0f 00 00 00 00 1f 01 00 5b 4e 42 e6 ed 6a 9c ef f4 cc 0e 39",
    "00 09 00 ed 6a 9c ef f4 cc 0e 39",
)
EXAMPLE_ET53_5 = (
    "00 14 3f 08 35 00 00 00 00 05 5b 4e 42 e7 48 97 75 da d8 53 e3 a3",
    "00 10 00 00 05 6f 00 01 01 00 97 4b 99 ca a3 31 45 19",
)
EXAMPLE_ET53_111 = (
    "00 14 3f 08 35 00 00 00 00 6f 5b 4e 42 e8 1b 32 04 49 74 45 a8 7a",
    "00 7a 00 00 6f 6f 00 01 01 00 0d 00 00 00 0a 05 42 24 05 06 05 02 01 03 f9 0d 00 00 00 0a 3f 0e"
    " fd 0f 08 10 01 04 08 1a 0d 00 00 00 0a 3f 0e 0c 0f 08 00 01 04 08 1a 04 00 00 00 01 04 0f 00 00"
    " 00 0c 00 00 00 00 00 11 01 00 01 04 2f 00 22 00 00 00 1f 00 42 00 01 00 02 01 45 00 01 00 02 01"
    " 48 00 01 00 02 01 03 00 f8 03 02 01 4b 00 01 00 02 01 01 00 bf d4 eb f2 b7 e0 1f 43",
)
MEP_EXAMPLES = [EXAMPLE_1_FIRST, EXAMPLE_1_RETRY, EXAMPLE_2_WRITE, EXAMPLE_ET52, EXAMPLE_ET53_5,
                EXAMPLE_ET53_111]
MEP_IDS = ["ex1-first-0x0C", "ex1-retry-read", "ex2-write", "et52-write", "et53-read5", "et53-read111"]


def test_oma_12_byte_vector():
    data = H("02 02 00 30 00 03 7f 30 ea 6d 00 00 00 0d 00 20 98 00 31 c3 00 08 00 00 00 00 00 11")
    assert osgp_digest(data, OMA_KEY) == H("db e5 cd e5 07 b1 cb 3d")


@pytest.mark.parametrize(("request_frame", "response_frame"), MEP_EXAMPLES, ids=MEP_IDS)
def test_mep_request_digest(request_frame, response_frame):
    message, digest = split_mep(request_frame)
    assert osgp_digest(message, MAK) == digest


@pytest.mark.parametrize(("request_frame", "response_frame"), MEP_EXAMPLES, ids=MEP_IDS)
def test_mep_response_digest_chains_the_request(request_frame, response_frame):
    request, _ = split_mep(request_frame)
    response, digest = split_mep(response_frame)
    assert osgp_digest(request + response, MAK) == digest
    assert osgp_digest_parts(request, response, key=MAK) == digest
    assert osgp_digest(response, MAK) != digest  # the chaining is what makes it verify


def test_invalid_sequence_response_covers_request_code_and_number():
    request, _ = split_mep(EXAMPLE_1_FIRST[0])
    # 0x0C followed by the device's sequence number 0x77635B90 (MEP-DG p.15)
    assert osgp_digest(request + H("0c 77 63 5b 90"), MAK) == H("35 86 3c 1d f5 b9 14 82")


def test_write_response_digest_equals_request_digest():
    # MEP-DG Example 2: the response adds one 0x00 byte inside the same zero-padded block.
    _, request_digest = split_mep(EXAMPLE_2_WRITE[0])
    _, response_digest = split_mep(EXAMPLE_2_WRITE[1])
    assert request_digest == response_digest


def test_zero_padding_up_to_block_boundary_is_invisible():
    msg = H("3f 00 17 00 00 00 00 2c 77 63 5b 91")
    block = 192  # 16-byte key: 24 key bytes x 8
    assert osgp_digest(msg + bytes(block - len(msg)), MAK) == osgp_digest(msg, MAK)
    assert osgp_digest(msg + bytes(block - len(msg) + 1), MAK) != osgp_digest(msg, MAK)


@pytest.mark.parametrize("k", range(8))
def test_bit7_difference_near_block_end_propagates_unchanged(k):
    # Differential property (app-layer digest section 8, from the TT blog, recomputed there):
    # XOR 0x80 into byte 143-k of a full 144-byte block changes exactly tag bytes 0..k by 0x80.
    data = bytes((7 * i + 3) & 0xFF for i in range(144))
    flipped = bytearray(data)
    flipped[143 - k] ^= 0x80
    diff = bytes(a ^ b for a, b in zip(osgp_digest(data, OMA_KEY), osgp_digest(bytes(flipped), OMA_KEY),
                                       strict=True))
    assert diff == bytes([0x80] * (k + 1) + [0] * (7 - k))


def test_empty_input_is_one_zero_block():
    # ASM-SEC-05: MEP-DG reference routine behaviour; value from app-layer digest section 4.2.
    assert osgp_digest(b"", OMA_KEY) == H("a1 c4 d2 df 00 dc af 9a")
    assert osgp_digest(b"", OMA_KEY) == osgp_digest(bytes(144), OMA_KEY)


@pytest.mark.parametrize("length", [0, 1, 5, 7, 8, 11, 13, 20, 32])
def test_key_lengths_other_than_6_12_16_are_refused(length):
    with pytest.raises(ConfigError, match=f"{length} bytes"):
        osgp_digest(b"abc", bytes(length))


def test_secret_and_digestkey_give_the_same_result_and_do_not_leak():
    data = H("3f 00 17 00 00 00 00 2c 77 63 5b 91")
    key = DigestKey(Secret(MAK))
    assert key.digest(data) == osgp_digest(data, Secret(MAK)) == osgp_digest(data, MAK)
    assert "01" not in repr(key)
    assert [DigestKey(bytes(n)).block_size for n in (6, 12, 16)] == [48, 144, 192]


# ---- an independent, literal bit-by-bit model of the algorithm (section 4.2), for any key -------

def _reference(data: bytes, key: bytes) -> bytes:
    per_block = len(key) if len(key) == 6 else len(key) * 3 // 2
    block = 8 * per_block
    padded = data + bytes(-len(data) % block) if data else bytes(block)
    a = [0] * 8
    for n, m in enumerate(padded):
        key_byte = key[(n % block) // 8 % len(key)]
        bit = n % 8
        j = 7 - bit
        t = ~(a[j] + j) & 0xFF
        if key_byte >> bit & 1:
            a[j] = (a[(j + 1) % 8] + m + ((t << 1 | t >> 7) & 0xFF)) & 0xFF
        else:
            a[j] = (a[(j + 1) % 8] + m - ((t >> 1 | t << 7) & 0xFF)) & 0xFF
    return bytes(a)


def test_reference_model_reproduces_the_published_vector():
    data = H("02 02 00 30 00 03 7f 30 ea 6d 00 00 00 0d 00 20 98 00 31 c3 00 08 00 00 00 00 00 11")
    assert _reference(data, OMA_KEY) == H("db e5 cd e5 07 b1 cb 3d")


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from([6, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       data=st.binary(max_size=450))
def test_table_driven_digest_matches_the_bitwise_model(key, data):
    assert osgp_digest(data, key) == _reference(data, key)


@settings(max_examples=50, deadline=None)
@given(a=st.binary(max_size=60), b=st.binary(max_size=200), c=st.binary(max_size=30))
def test_parts_equal_concatenation(a, b, c):
    assert osgp_digest_parts(a, b, c, key=MAK) == osgp_digest(a + b + c, MAK)
