"""OSGP security profiles: digest + sequence number, RC4 (MEP and power-line variants), AES-128-CCM.

Sans-IO: every method takes bytes and returns bytes. The same profile object serves both roles:

- tester: :meth:`SecurityProfile.protect_request` -> :class:`SentRequest` (``.pdu`` goes on the
  wire), then :meth:`SecurityProfile.open_response` (sent, pdu) -> plain response message;
- device: :meth:`SecurityProfile.open_request` (pdu) -> :class:`OpenedRequest`, then
  :meth:`SecurityProfile.protect_response` (opened, message) -> pdu, or
  :meth:`SecurityProfile.auth_failure_response` (pdu) when no key verified the request.

Digest family wire layout (shared/spec/app-layer-and-security.md 4.3; [MEP-DG] Tables 2.4/2.5,
App. A; power-line layout assumed equal, ASM-APP-03)::

    request   <message> <seq 4 MSB> <digest 8>     digest = D(message || seq)
    response  <message> <digest 8>                 digest = D(message || seq || response)  (ASM-SEC-01)

With RC4 the request span ``message || seq`` and the response message are encrypted, the digest
stays in clear and is computed on the plaintext. A 0x0B response is never encrypted; 0x0C is
encrypted when the request was ([MEP-DG] App. B).

Sequence numbers are checked by the device core with :class:`SequenceWindow`; profiles only carry
them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

try:  # cryptography >= 43 moved RC4 to the "decrepit" package
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import ARC4

from osgp.digest import DIGEST_LEN, DigestKey, osgp_digest
from osgp.errors import ConfigError, EncodeError, SecurityError
from osgp.secret import Secret, reveal

__all__ = [
    "SEQ_LEN", "AUTH_FAILURE", "INVALID_SEQUENCE",
    "SequenceWindow", "SentRequest", "OpenedRequest", "UnencryptedResponse",
    "SecurityProfile", "DigestProfile", "Rc4Profile", "AesCcmProfile",
    "Direction", "ccm_nonce", "mep_rc4_base_key", "plc_rc4_base_key", "flip_bit",
]

SEQ_LEN = 4
AUTH_FAILURE = 0x0B
INVALID_SEQUENCE = 0x0C
_MOD = 1 << 32


# --------------------------------------------------------------------------------------------
# Sequence numbers

@dataclass(frozen=True)
class SequenceWindow:
    """Acceptance rule for request sequence numbers ([MEP-DG] "RC4 Authentication" p.11).

    ``current`` is the device's sequence number (the last one accepted, the value a 0x0C
    carries). A request is accepted when its number is ``current+1 .. current+size`` modulo
    2**32; re-use of ``current`` and anything behind it are rejected. The size (8) and the exact
    boundary are assumption ASM-SEC-02 (PIXIT seq_window).
    """

    size: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.size < _MOD // 2:
            raise ConfigError(f"sequence window of {self.size}: must be 1 .. 2**31-1")

    def accepts(self, current: int, received: int) -> bool:
        return 1 <= (received - current) % _MOD <= self.size


# --------------------------------------------------------------------------------------------
# Exchange records

def _seq_bytes(seq: int) -> bytes:
    if not 0 <= seq < _MOD:
        raise EncodeError(f"sequence number {seq} does not fit in 4 bytes")
    return seq.to_bytes(SEQ_LEN, "big")


@dataclass(frozen=True)
class _Exchange:
    """The plain request and the security context its response depends on."""

    message: bytes                 # request message: code .. last data byte
    seq: int
    tag: bytes                     # the request's true digest / CCM tag (what a verifier recomputes)
    encrypted: bool
    key_index: int | None          # index into the profile's keys; None: a key given by the caller
    key: Secret = field(repr=False, compare=False)

    @property
    def span(self) -> bytes:
        """The authenticated request bytes: message || seq."""
        return self.message + _seq_bytes(self.seq)


@dataclass(frozen=True)
class SentRequest(_Exchange):
    """Tester side: what was sent; ``pdu`` is the protected request as it goes on the wire."""

    pdu: bytes = b""

    def __bytes__(self) -> bytes:
        return self.pdu


@dataclass(frozen=True)
class OpenedRequest(_Exchange):
    """Device side: a request whose digest or tag verified under keys[key_index]."""


class UnencryptedResponse(SecurityError):
    """The response to an encrypted request came back in clear (and verifies as plaintext)."""


def flip_bit(pdu: bytes, bit: int) -> bytes:
    """``pdu`` with bit ``bit`` inverted (bit 0 = LSB of byte 0): a tampered message for BI tests."""
    if not 0 <= bit < 8 * len(pdu):
        raise EncodeError(f"bit {bit} is outside a {len(pdu)}-byte PDU")
    out = bytearray(pdu)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _xor8(base: bytes, digest: bytes) -> bytes:
    """RC4 per-message key: the first 8 base-key bytes XOR the digest ([MEP-DG] App. B)."""
    return bytes(b ^ d for b, d in zip(base[:8], digest, strict=True)) + base[8:]


def _rc4(key: bytes, data: bytes, skip: int = 0) -> bytes:
    """RC4 without keystream discard; ``skip`` bytes of keystream are used up first."""
    enc = Cipher(ARC4(key), mode=None).encryptor()
    if skip:
        enc.update(bytes(skip))
    return enc.update(data)


# --------------------------------------------------------------------------------------------
# Profile interface

class SecurityProfile:
    """Common interface and the digest-family logic (authentication only).

    ``keys`` are tried in order by the device (MEP-DG p.13: MAK, then MBK); the tester picks one
    with ``key_index`` or passes any other ``key`` (a key the device does not hold, for BI tests).
    """

    name = "abstract"
    tag_len = DIGEST_LEN
    encrypts = False  # the profile can encrypt, and the tester does so unless told otherwise

    def __init__(self, keys: Secret | bytes | Sequence[Secret | bytes]) -> None:
        if isinstance(keys, Secret | bytes | bytearray):
            keys = [keys]
        self.keys: tuple[Secret, ...] = tuple(
            k if isinstance(k, Secret) else Secret(bytes(k), f"key{i}") for i, k in enumerate(keys))
        if not self.keys:
            raise ConfigError(f"{self.name} profile needs at least one key")
        for k in self.keys:
            self._check_key(k)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.keys)} key(s))"

    def _check_key(self, key: Secret) -> None:
        DigestKey(key)  # raises ConfigError on a bad length

    def _key(self, key_index: int, key: Secret | bytes | None) -> tuple[int | None, Secret]:
        if key is not None:
            secret = key if isinstance(key, Secret) else Secret(bytes(key), "override")
            self._check_key(secret)
            return None, secret
        if not 0 <= key_index < len(self.keys):
            raise ConfigError(f"key index {key_index}: the profile holds {len(self.keys)} key(s)")
        return key_index, self.keys[key_index]

    # ---- tester ----------------------------------------------------------------------------

    def protect_request(
        self,
        message: bytes,
        seq: int,
        *,
        key_index: int = 0,
        key: Secret | bytes | None = None,
        encrypt: bool | None = None,
        digest_override: bytes | None = None,
    ) -> SentRequest:
        """Protect a request message. ``encrypt`` None takes the profile's default.

        Negative-test hooks: ``key`` protects under a key of the caller's choosing;
        ``digest_override`` replaces the digest/tag bytes on the wire (any length) after the
        message was built with the true one; :func:`flip_bit` tampers with the result.
        """
        encrypt = self.encrypts if encrypt is None else encrypt
        index, secret = self._key(key_index, key)
        body, tag = self._protect_request(bytes(message), _seq_bytes(seq), secret, encrypt)
        wire_tag = tag if digest_override is None else bytes(digest_override)
        return SentRequest(bytes(message), seq, tag, encrypt, index, secret, pdu=body + wire_tag)

    def open_response(self, sent: SentRequest, pdu: bytes) -> bytes:
        """The plain response message, or :class:`SecurityError` if it does not verify.

        A clear 0x0B, alone or followed by an authenticator that does not verify, is still
        returned as ``b"\\x0b"``: how a 0x0B is authenticated is unknown (ASM-SEC-07), and reading
        it as a rejection is the safe reading (the raw PDU stays in the evidence).
        """
        pdu = bytes(pdu)
        plain = self._open_response(sent, pdu)
        if plain is not None:
            return plain
        if pdu[:1] == bytes([AUTH_FAILURE]) and len(pdu) in (1, 1 + self.tag_len):
            return pdu[:1]
        if sent.encrypted and len(pdu) > self.tag_len and self._verify_response_clear(sent, pdu):
            raise UnencryptedResponse(
                f"{self.name}: the response to an encrypted request was sent in clear")
        if len(pdu) <= self.tag_len:
            raise SecurityError(
                f"{self.name}: response of {len(pdu)} bytes is too short for a code and "
                f"a {self.tag_len}-byte authenticator")
        raise SecurityError(f"{self.name}: response authenticator does not verify (request seq {sent.seq})")

    # ---- device ----------------------------------------------------------------------------

    def open_request(self, pdu: bytes) -> OpenedRequest:
        """Verify a request under each key in turn (clear first, then decrypted if the
        profile encrypts); :class:`SecurityError` when none verifies."""
        pdu = bytes(pdu)
        if len(pdu) < 1 + SEQ_LEN + self.tag_len:
            raise SecurityError(
                f"{self.name}: request of {len(pdu)} bytes is too short: needs at least a code, "
                f"a {SEQ_LEN}-byte sequence number and a {self.tag_len}-byte authenticator")
        for index, key in enumerate(self.keys):
            opened = self._open_request(pdu, index, key)
            if opened is not None:
                return opened
        raise SecurityError(f"{self.name}: request authenticator does not verify under any of "
                            f"{len(self.keys)} key(s)")

    def protect_response(self, opened: OpenedRequest, response: bytes) -> bytes:
        """Protect a response message to an opened request (0x0B is never encrypted)."""
        return self._protect_response(opened, bytes(response))

    def auth_failure_response(self, pdu: bytes) -> bytes:
        """The 0x0B answer to a request that no key verified (ASM-SEC-07): ``0B`` then the
        digest, under keys[0], of the received bytes before their digest followed by ``0B``."""
        received = bytes(pdu)[:-DIGEST_LEN] if len(pdu) > DIGEST_LEN else bytes(pdu)
        code = bytes([AUTH_FAILURE])
        return code + osgp_digest(received + code, self.keys[0])

    # ---- digest-family internals (AES overrides them) ---------------------------------------

    def _protect_request(self, message: bytes, seq: bytes, key: Secret, encrypt: bool) -> tuple[bytes, bytes]:
        span = message + seq
        digest = osgp_digest(span, key)
        if encrypt:
            span = self._encrypt_request(key, span, digest)
        return span, digest

    def _open_request(self, pdu: bytes, index: int, key: Secret) -> OpenedRequest | None:
        span, tag = pdu[:-DIGEST_LEN], pdu[-DIGEST_LEN:]
        encrypted = False
        if not hmac.compare_digest(osgp_digest(span, key), tag):
            if not self.encrypts:
                return None
            span = self._encrypt_request(key, span, tag)  # RC4 decrypts what it encrypts
            if not hmac.compare_digest(osgp_digest(span, key), tag):
                return None
            encrypted = True
        seq = int.from_bytes(span[-SEQ_LEN:], "big")
        return OpenedRequest(span[:-SEQ_LEN], seq, tag, encrypted, index, key)

    def _protect_response(self, ex: _Exchange, response: bytes) -> bytes:
        digest = osgp_digest(ex.span + response, ex.key)
        if ex.encrypted and response[:1] != bytes([AUTH_FAILURE]):
            response = self._encrypt_response(ex, response, digest)
        return response + digest

    def _open_response(self, sent: SentRequest, pdu: bytes) -> bytes | None:
        if len(pdu) <= DIGEST_LEN:
            return None
        body, tag = pdu[:-DIGEST_LEN], pdu[-DIGEST_LEN:]
        if sent.encrypted:
            body = self._encrypt_response(sent, body, tag)
        return body if self._verify_chained(sent, body, tag) else None

    def _verify_response_clear(self, sent: SentRequest, pdu: bytes) -> bool:
        return self._verify_chained(sent, pdu[:-DIGEST_LEN], pdu[-DIGEST_LEN:])

    @staticmethod
    def _verify_chained(ex: _Exchange, response: bytes, tag: bytes) -> bool:
        return hmac.compare_digest(osgp_digest(ex.span + response, ex.key), tag)

    def _encrypt_request(self, key: Secret, span: bytes, digest: bytes) -> bytes:
        raise ConfigError(f"the {self.name} profile does not encrypt")

    def _encrypt_response(self, ex: _Exchange, response: bytes, digest: bytes) -> bytes:
        raise ConfigError(f"the {self.name} profile does not encrypt")


class DigestProfile(SecurityProfile):
    """Authentication only: plaintext message, sequence number, OSGP digest."""

    name = "digest"


# --------------------------------------------------------------------------------------------
# RC4

# [MEP-DG] App. B, p.256: constant mixed with the MEP key to make mep_EncryptKey.
MEP_CONST_KEY = bytes.fromhex("388b8fbc36a8558587afc90fb23a3b99")
# [JN-code] constants of the power-line base-key derivation (unverified, ASM-SEC-03).
PLC_C1 = bytes.fromhex("813f529a7be389ba")
PLC_C2 = bytes.fromhex("72b0918d4405aa57")


def mep_rc4_base_key(key: Secret | bytes) -> bytes:
    """MEP ``mep_EncryptKey``: RC4(first 16 key bytes) applied to ConstKey ([MEP-DG] App. B)."""
    raw = reveal(key)
    if len(raw) < 16:
        raise ConfigError(f"MEP RC4 needs a 16-byte key, got {len(raw)} bytes")
    return _rc4(raw[:16], MEP_CONST_KEY)


def plc_rc4_base_key(key: Secret | bytes) -> bytes:
    """Power-line RC4 base key per [JN-code] (ASM-SEC-03): the 14908 mix started from C1, then
    from C2, one pass each over an empty message with key bytes 0..5 only.

    With no message bytes the 14908 mix (which consumes its message from the end) is the OSGP
    digest update over 48 zero bytes under the 6-byte key, started from C1 or C2.
    """
    raw = reveal(key)
    if len(raw) < 6:
        raise ConfigError(f"power-line RC4 needs at least 6 key bytes, got {len(raw)}")
    k6 = DigestKey(raw[:6])
    zeros = bytes(k6.block_size)  # exactly one pass of six key bytes
    return k6.digest(zeros, initial=PLC_C1) + k6.digest(zeros, initial=PLC_C2)


class Rc4Profile(SecurityProfile):
    """Digest + optional RC4 encryption (the device detects it by trial; the tester encrypts by
    default). ``variant="mep"``: official MEP key and response keying ([MEP-DG] App. B).
    ``variant="plc"``: base key per [JN-code] (ASM-SEC-03); each response is keyed by its own
    (chained) digest, like every power-line message (ASM-SEC-06).
    """

    name = "rc4"
    encrypts = True

    def __init__(self, keys: Secret | bytes | Sequence[Secret | bytes],
                 variant: Literal["plc", "mep"] = "plc") -> None:
        if variant not in ("plc", "mep"):
            raise ConfigError(f"RC4 variant {variant!r}: expected 'plc' or 'mep'")
        self.variant = variant
        self.name = f"rc4-{variant}"
        self._base_key = mep_rc4_base_key if variant == "mep" else plc_rc4_base_key
        super().__init__(keys)
        self._bases = {k: self._base_key(k) for k in self.keys}

    def _check_key(self, key: Secret) -> None:
        super()._check_key(key)
        if self.variant == "mep" and len(key) != 16:
            raise ConfigError(f"MEP RC4 needs a 16-byte key, got {len(key)} bytes")

    def _base(self, key: Secret) -> bytes:
        base = self._bases.get(key)  # a caller-supplied key is derived on the fly
        return base if base is not None else self._base_key(key)

    def _encrypt_request(self, key: Secret, span: bytes, digest: bytes) -> bytes:
        return _rc4(_xor8(self._base(key), digest), span)

    def _encrypt_response(self, ex: _Exchange, response: bytes, digest: bytes) -> bytes:
        base = self._base(ex.key)
        if self.variant == "mep":  # the request's RC4 state continues ([MEP-DG] App. B)
            return _rc4(_xor8(base, ex.tag), response, skip=SEQ_LEN + len(ex.message))
        return _rc4(_xor8(base, digest), response)


# --------------------------------------------------------------------------------------------
# AES-128-CCM

class Direction(IntEnum):
    """Nonce direction byte: request and response never share a nonce (ASM-SEC-04)."""

    REQUEST = 0x00
    RESPONSE = 0x01


def ccm_nonce(seq: int, direction: Direction, device_id: bytes = b"") -> bytes:
    """Default 13-byte CCM nonce (ASM-SEC-04): direction (1) || device id left-padded with
    zeros to 8 || sequence number (4, MSB)."""
    if len(device_id) > 8:
        raise ConfigError(f"device id of {len(device_id)} bytes: at most 8 fit the nonce")
    return bytes([direction]) + bytes(8 - len(device_id)) + bytes(device_id) + _seq_bytes(seq)


class AesCcmProfile(SecurityProfile):
    """AES-128-CCM (NIST SP 800-38C, referenced by TS 104 001; layout assumed, ASM-SEC-04)::

        request   CCM(message) <seq 4 MSB, clear> <tag>   nonce(seq, REQUEST),  AAD = seq
        response  CCM(message) <tag>                       nonce(seq, RESPONSE), AAD = request tag
        0x0B      0B <tag of an empty message>             nonce(seq, RESPONSE), AAD = 0B || request tag

    The response AAD binds it to the exact request, as the chained digest does. Every request
    is encrypted; a digest/RC4 PDU fails the tag check and is rejected.
    """

    name = "aes-ccm"
    encrypts = True

    def __init__(self, key: Secret | bytes | Sequence[Secret | bytes], *, tag_len: int = 8,
                 device_id: bytes = b"",
                 nonce_layout: Callable[[int, Direction, bytes], bytes] = ccm_nonce) -> None:
        if tag_len not in (4, 6, 8, 10, 12, 14, 16):
            raise ConfigError(f"CCM tag length {tag_len}: must be even, 4..16")
        self.tag_len = tag_len
        self.device_id = bytes(device_id)
        self._nonce_layout = nonce_layout
        super().__init__(key)
        nonce_layout(0, Direction.REQUEST, self.device_id)  # fail now on a bad device id

    def _check_key(self, key: Secret) -> None:
        if len(key) != 16:
            raise ConfigError(f"AES-128 needs a 16-byte key, got {len(key)} bytes")

    def _nonce(self, seq: int, direction: Direction) -> bytes:
        return self._nonce_layout(seq, direction, self.device_id)

    def _ccm(self, key: Secret) -> AESCCM:
        return AESCCM(key.reveal(), tag_length=self.tag_len)

    def _protect_request(self, message: bytes, seq: bytes, key: Secret, encrypt: bool) -> tuple[bytes, bytes]:
        if not encrypt:
            raise ConfigError("the AES-CCM profile always encrypts")
        sealed = self._ccm(key).encrypt(self._nonce(int.from_bytes(seq, "big"), Direction.REQUEST),
                                        message, seq)
        return sealed[:-self.tag_len] + seq, sealed[-self.tag_len:]

    def _open_request(self, pdu: bytes, index: int, key: Secret) -> OpenedRequest | None:
        tag = pdu[-self.tag_len:]
        body, seq_b = pdu[:-self.tag_len - SEQ_LEN], pdu[-self.tag_len - SEQ_LEN:-self.tag_len]
        seq = int.from_bytes(seq_b, "big")
        try:
            message = self._ccm(key).decrypt(self._nonce(seq, Direction.REQUEST), body + tag, seq_b)
        except InvalidTag:
            return None
        return OpenedRequest(message, seq, tag, True, index, key)

    def _protect_response(self, ex: _Exchange, response: bytes) -> bytes:
        nonce = self._nonce(ex.seq, Direction.RESPONSE)
        if response[:1] == bytes([AUTH_FAILURE]):  # clear code, authenticated as AAD
            return response + self._ccm(ex.key).encrypt(nonce, b"", response + ex.tag)
        return self._ccm(ex.key).encrypt(nonce, response, ex.tag)

    def _open_response(self, sent: SentRequest, pdu: bytes) -> bytes | None:
        if len(pdu) <= self.tag_len:
            return None
        try:
            return self._ccm(sent.key).decrypt(self._nonce(sent.seq, Direction.RESPONSE), pdu, sent.tag)
        except InvalidTag:
            return None  # a clear 0x0B lands here and is reported as such by open_response

    def _verify_response_clear(self, sent: SentRequest, pdu: bytes) -> bool:
        return False  # a clear AES response has no verifiable form

    def auth_failure_response(self, pdu: bytes) -> bytes:
        """``0B`` authenticated for the sequence number and tag found in the received PDU."""
        pdu = bytes(pdu)
        code = bytes([AUTH_FAILURE])
        if len(pdu) < SEQ_LEN + self.tag_len:
            return code
        tag = pdu[-self.tag_len:]
        seq = int.from_bytes(pdu[-self.tag_len - SEQ_LEN:-self.tag_len], "big")
        return code + self._ccm(self.keys[0]).encrypt(self._nonce(seq, Direction.RESPONSE), b"", code + tag)
