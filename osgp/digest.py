"""The OSGP digest: the "OMA digest" family used to authenticate OSGP messages.

Algorithm (shared/spec/app-layer-and-security.md section 4.2; sources [TT], [JN-code] and the
reference routine of the OSGP Alliance MEP Client Developer's Guide, App. A; verified against
every published vector, see tests/test_digest.py):

- the state is 8 bytes ``a[0..7]``, zero at the start; the digest is the final state;
- a key of L bytes is walked ``KB`` bytes per block: ``KB = 6`` for a 6-byte key, else
  ``L + L/2`` (12-byte OMA key: 18 key bytes, 144-byte blocks; 16-byte MEP key: 24, 192-byte
  blocks); key byte ``g`` of a block is ``key[g % L]``;
- every message byte consumes one key bit, bits of a key byte taken LSB first; message byte
  ``8g + bit`` updates ``a[j]`` with ``j = 7 - bit``::

      t = NOT(a[j] + j)
      key bit 1:  a[j] = a[j+1 mod 8] + m + ROTL1(t)
      key bit 0:  a[j] = a[j+1 mod 8] + m - ROTR1(t)          (all mod 256)

- the message is taken in address order and its last block is zero-padded to the block size,
  so trailing zero bytes up to a block boundary do not change the digest (a known weakness).

Empty input: the sources differ (the MEP-DG reference routine absorbs one all-zero block, the
[JN-code] Python returns eight zero bytes). We follow the OSGP Alliance routine: an empty message
is one block of zeros. Assumption ASM-SEC-05. No OSGP message is empty, so this only matters for
callers that digest nothing on purpose.

Speed: the per-bit update is table driven. For each (j, key bit) a 256-entry table holds the
``+-ROT(t)`` term; a key's schedule is the list of eight tables per key byte, built once per key
(:class:`DigestKey`, or the small cache behind :func:`osgp_digest`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

from osgp.errors import ConfigError
from osgp.secret import Secret, reveal

DIGEST_LEN = 8
KEY_LENGTHS = (6, 12, 16)  # classic 14908 key, OMA key, MEP key (MEP-DG: first 16 bytes of MAK/MBK)

__all__ = ["DIGEST_LEN", "KEY_LENGTHS", "DigestKey", "osgp_digest", "osgp_digest_parts"]


def _rotl1(x: int) -> int:
    return ((x << 1) | (x >> 7)) & 0xFF


def _rotr1(x: int) -> int:
    return ((x >> 1) | (x << 7)) & 0xFF


def _term_table(j: int, key_bit: int) -> tuple[int, ...]:
    """The key-dependent term of the update of a[j], for every old value of a[j]."""
    out = []
    for x in range(256):
        t = ~(x + j) & 0xFF
        out.append(_rotl1(t) if key_bit else -_rotr1(t) & 0xFF)
    return tuple(out)


# _TERMS[j][bit]: 16 tables of 256 entries, shared by every key.
_TERMS = tuple((_term_table(j, 0), _term_table(j, 1)) for j in range(8))
_UNPACK8 = struct.Struct("8B").iter_unpack


class DigestKey:
    """A digest key with its bit schedule precomputed; reuse it for many messages."""

    __slots__ = ("_schedule", "block_size", "key_len")

    def __init__(self, key: Secret | bytes) -> None:
        raw = reveal(key)
        if len(raw) not in KEY_LENGTHS:
            raise ConfigError(
                f"OSGP digest key of {len(raw)} bytes: expected 6, 12 or 16 bytes "
                "(classic 14908, OMA or MEP key)"
            )
        self.key_len = len(raw)
        per_block = 6 if self.key_len == 6 else self.key_len + self.key_len // 2
        self.block_size = 8 * per_block
        # One entry per key byte of a block: the tables updating a[7], a[6], ..., a[0].
        self._schedule = tuple(
            tuple(_TERMS[7 - bit][(raw[g % self.key_len] >> bit) & 1] for bit in range(8))
            for g in range(per_block)
        )

    def __repr__(self) -> str:
        return f"DigestKey({self.key_len} bytes, ***)"

    def digest(self, data: bytes, *, initial: bytes = bytes(DIGEST_LEN)) -> bytes:
        """Digest of ``data``; ``initial`` replaces the zero start state (for key derivations)."""
        block = self.block_size
        n_blocks = max(1, -(-len(data) // block))  # empty input: one zero block (ASM-SEC-05)
        padded = bytes(data) + bytes(n_blocks * block - len(data))
        a0, a1, a2, a3, a4, a5, a6, a7 = initial
        for (t7, t6, t5, t4, t3, t2, t1, t0), (m0, m1, m2, m3, m4, m5, m6, m7) in zip(
            self._schedule * n_blocks, _UNPACK8(padded), strict=True
        ):
            a7 = (a0 + m0 + t7[a7]) & 0xFF
            a6 = (a7 + m1 + t6[a6]) & 0xFF
            a5 = (a6 + m2 + t5[a5]) & 0xFF
            a4 = (a5 + m3 + t4[a4]) & 0xFF
            a3 = (a4 + m4 + t3[a3]) & 0xFF
            a2 = (a3 + m5 + t2[a2]) & 0xFF
            a1 = (a2 + m6 + t1[a1]) & 0xFF
            a0 = (a1 + m7 + t0[a0]) & 0xFF
        return bytes((a0, a1, a2, a3, a4, a5, a6, a7))

    def digest_parts(self, chunks: Sequence[bytes]) -> bytes:
        """Digest of the concatenation of ``chunks`` (e.g. request span, then response)."""
        return self.digest(b"".join(chunks))


@lru_cache(maxsize=32)
def _cached_key(raw: bytes) -> DigestKey:
    return DigestKey(raw)


def _as_digest_key(key: DigestKey | Secret | bytes) -> DigestKey:
    return key if isinstance(key, DigestKey) else _cached_key(reveal(key))


def osgp_digest(data: bytes, key: DigestKey | Secret | bytes) -> bytes:
    """The 8-byte OSGP digest of ``data`` under a 6-, 12- or 16-byte key."""
    return _as_digest_key(key).digest(data)


def osgp_digest_parts(*chunks: bytes, key: DigestKey | Secret | bytes) -> bytes:
    """The digest of ``chunks`` taken as one stream: the chained response digest is
    ``osgp_digest_parts(request_span, response, key=k)`` (no padding between the parts)."""
    return _as_digest_key(key).digest_parts(chunks)
