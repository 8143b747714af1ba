"""Request and response digests of the digest / RC4 security modes (TS 104 001 Annex F; MEP-DG p.10-11, App. A).

The OSGP PDU is ``message || seq(4) || digest(8)`` (ASM-APP-03); the response digest covers the request
(code .. seq) followed by the response message (ASM-SEC-01).
"""

from __future__ import annotations

import dataclasses

from osgp.app import FullWrite, ResponseCode, encode_request
from osgp.digest import DIGEST_LEN, osgp_digest
from osgp.security import SEQ_LEN, flip_bit
from osgpct.dut import MOD, PROBE, STATE_TABLE, Dut, altered, chained_digest, clear_auth_failure, raw_head, verdict_of
from osgpct.testcase import testcase

LEGACY = '(PICS_SEC_DIGEST or PICS_SEC_RC4) and PICS_SEC_MODE != "aes128"'
FLIPS = 24  # sampled single-bit flips: enough to hit code, table id, sequence number and digest


def plaintext_ok(plan) -> bool:
    """Whether the DUT takes unencrypted digest requests (PICS_SEC_DIGEST); RC4-only DUTs get encrypted ones."""
    return bool(plan.pics.get("PICS_SEC_DIGEST"))


@testcase(
    id="TC_SEC_DIG_BV_01",
    title="A valid request is executed and its response digest chains the request",
    purpose="Ensure that, when the tester sends a read with the next sequence number and a valid digest under "
            "the DUT's key, the DUT executes it and the response digest equals the digest of the request (code to "
            "sequence number) followed by the response, recomputed from the exchanged bytes",
    requirements=["REQ-SEC-001", "REQ-SEC-003"],
    pics=LEGACY,
    initial="The DUT is reachable with the plan's default (full) key.",
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Read BT01 with the next sequence number and a digest under the default key (in clear when "
            "PICS_SEC_DIGEST)", "0x00 with BT01 data"),
           ("Recompute the response digest from the exchanged bytes", "digest(request span || response) equals "
            "the 8 bytes the DUT sent; it does not verify against another request")],
)
def test_valid_request_chained_digest(tc, session, plan):
    """Sources: REQ-SEC-001: TS 104 001 Annex F (clause unknown); MEP-DG p.11, App. A p.250-251; OMA vector of
    ttaubert/osgp-oma-digest (app §4.2-4.3, §6) [VERIFIED]; REQ-SEC-003: TS 104 001 Annex F (clause unknown); MEP-DG
    App. A p.250-251, examples pp.15-17 recomputed (app §4.3) [VERIFIED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        encrypt = False if plaintext_ok(plan) else None
        r, ex = dut.attempt(lambda: session.request(PROBE, encrypt=encrypt, resync=False))
        if r is not None:
            tc.check(r.ok, f"a read with the next sequence number and a valid digest answered {r.describe()} "
                           "(REQ-SEC-001)", stop=True, req="REQ-SEC-001")
        tc.require(ex.response_pdu is not None and len(ex.response_pdu) > DIGEST_LEN,
                   f"the DUT's {raw_head(ex)} is too short to carry a digest")
    with dut.step(3):
        key = plan.security.key().secret
        span = ex.message + ex.seq.to_bytes(SEQ_LEN, "big")
        body, tag = ex.response_pdu[:-DIGEST_LEN], ex.response_pdu[-DIGEST_LEN:]
        if ex.encrypted:
            if r is None:  # the session could not decrypt and verify it: nothing to recompute on
                tc.fail(f"the answer to an encrypted read does not authenticate ({raw_head(ex)}) (REQ-SEC-003, "
                        "rests on ASM-SEC-01)", req="REQ-SEC-003")
            body = bytes([r.code]) + len(r.data).to_bytes(2, "big") + r.data  # the decrypted plaintext
        expected = chained_digest(key, span, body)
        unchained = osgp_digest(body, key)
        tc.check(tag == expected,
                 f"the response digest {tag.hex(' ')} is not digest(request || response) = {expected.hex(' ')}"
                 + (" but the digest of the response alone" if tag == unchained else "")
                 + " (REQ-SEC-003: the response digest chains the request; rests on ASM-SEC-01)", req="REQ-SEC-003")
        other = span[:-SEQ_LEN] + ((ex.seq + 1) % MOD).to_bytes(SEQ_LEN, "big")
        tc.check(chained_digest(key, other, body) != tag,
                 "the response digest also verifies against a request with another sequence number (REQ-SEC-003)",
                 req="REQ-SEC-003")
        if r is None:
            tc.fail(f"the answer does not authenticate against its request ({raw_head(ex)}) (REQ-SEC-003)",
                    req="REQ-SEC-003")


@testcase(
    id="TC_SEC_DIG_BI_01",
    title="Any single-bit change of a request is refused with 0x0B and does not move the sequence number",
    purpose="Ensure that, when the tester flips one bit (sampled over code, table id, sequence number and "
            "digest) of a correctly protected read, the DUT answers each with a clear 0x0B, and that the untouched "
            "request with the same sequence number is then still accepted",
    requirements=["REQ-SEC-002", "REQ-SEC-004", "REQ-SEC-006"],
    pics=LEGACY,
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           (f"Send {FLIPS} copies of a read of BT01 with sequence number c+1, each with one bit flipped (bits drawn "
            "with the campaign seed, at least one in each of code, table id, sequence number and digest)",
            "each answered with 0x0B in clear"),
           ("Send the untouched read with sequence number c+1", "0x00: the refused requests did not move the "
            "DUT's sequence number")],
)
def test_bit_flips_refused(tc, session, plan):
    """Sources: REQ-SEC-002: TS 104 001 Annex F (clause unknown); MEP-DG Tables 2.4-2.5 p.10, App. A, six
    request/response pairs recomputed (app §4.3) [VERIFIED]; REQ-SEC-004: TS 104 001 Annex F (clause unknown); MEP-
    DG Table 2.5 p.10-11, 'RC4 Authentication' p.11 (app §2.2, §7 TP-AUTH-02; tbl §11.2 AS-09) [READ]; REQ-SEC-006:
    TS 104 001 Annex F (clause unknown); MEP-DG p.11 sequence rules (app §4.4) [READ]; effect of a failed digest on
    the counter [INFERRED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        c = dut.sync()
    s = (c + 1) % MOD
    encrypt = False if plaintext_ok(plan) else None
    sent = session.config.profile.protect_request(encode_request(PROBE), s, encrypt=encrypt)
    n = len(sent.pdu)
    with dut.step(2):
        regions = [(0, 8), (8, 24), (8 * (n - DIGEST_LEN - SEQ_LEN), 8 * (n - DIGEST_LEN)),
                   (8 * (n - DIGEST_LEN), 8 * n)]
        bits = {tc.rng.randrange(lo, hi) for lo, hi in regions}
        while len(bits) < FLIPS:
            bits.add(tc.rng.randrange(8 * n))
        wrong = []
        for bit in sorted(bits):
            r, ex = dut.attempt(lambda b=bit: session.send_pdu(flip_bit(sent.pdu, b), sent))
            if not clear_auth_failure(ex):
                wrong.append(f"bit {bit} (byte {bit // 8}): {verdict_of(r, ex)}")
        tc.check(not wrong, f"{len(wrong)} of {len(bits)} single-bit changes of the request were not answered "
                            f"with a clear 0x0B: {'; '.join(wrong[:3])}{' …' if len(wrong) > 3 else ''} "
                            "(REQ-SEC-002, REQ-SEC-004; the form of 0x0B is ASM-SEC-07)")
    with dut.step(3):
        r, ex = dut.attempt(lambda: session.send_pdu(sent.pdu, sent))
        tc.check(r is not None and r.ok,
                 f"the untouched read with sequence number {s} was answered {verdict_of(r, ex)} after the refused "
                 "copies (REQ-SEC-006: a 0x0B does not move the sequence number; inferred)", req="REQ-SEC-006")
        if r is not None and r.ok:
            session.seq = s  # the DUT's number is s now


@testcase(
    id="TC_SEC_DIG_BI_02",
    title="A write with a wrong digest or under an unknown key is refused with 0x0B and changes nothing",
    purpose="Ensure that, when the tester writes ET03 with a corrupted digest, or with a digest under a key the "
            "DUT does not hold, the DUT answers 0x0B and the table keeps its content",
    requirements=["REQ-SEC-004", "REQ-SEC-006", "REQ-SEC-029"],
    pics=LEGACY,
    initial="ET03 (utility information) is readable and writable with the full key (MEP-DG p.53-55; ASM-TBL-02).",
    steps=[("Read BT01 with the session, then read ET03", "0x00 both"),
           ("Full write of ET03 with another utility serial number, next sequence number, digest with one byte "
            "changed (in clear when PICS_SEC_DIGEST, and also RC4-encrypted in RC4 mode)", "0x0B in clear"),
           ("The same write protected under a random key", "0x0B in clear"),
           ("Read BT01 with the number the refused writes carried", "0x00: the refusals did not use it up"),
           ("Read ET03 back", "unchanged")],
)
def test_bad_digest_write(tc, session, plan):
    """Sources: REQ-SEC-004: TS 104 001 Annex F (clause unknown); MEP-DG Table 2.5 p.10-11, 'RC4 Authentication' p.11
    (app §2.2, §7 TP-AUTH-02; tbl §11.2 AS-09) [READ]; REQ-SEC-006: TS 104 001 Annex F (clause unknown); MEP-DG p.11
    sequence rules (app §4.4) [READ]; effect of a failed digest on the counter [INFERRED]; REQ-SEC-029: TS 104 001
    Annex F (clause unknown); MEP-DG p.11 (0x0B/0x0C), ET54 p.137 counters (app §4.4, §7) [READ]; generalisation to
    all codes [INFERRED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
        before = dut.read_state()
    image = altered(before)
    variants = [False] if plaintext_ok(plan) else []
    if plan.security.mode == "rc4":
        variants.append(True)
    with dut.step(2):
        for encrypt in variants:
            s = session.next_seq()
            wire = session.config.profile.protect_request(encode_request_write(image), s, encrypt=encrypt)
            bad = bytes([wire.tag[0] ^ 0xA5]) + wire.tag[1:]
            r, ex = dut.attempt(lambda e=encrypt, b=bad, q=s: session.write(
                STATE_TABLE, image, seq=q, resync=False, encrypt=e, digest_override=b))
            tc.check(clear_auth_failure(ex),
                     f"a{'n RC4-encrypted' if encrypt else ' plaintext'} ET03 write with a corrupted digest was "
                     f"answered {verdict_of(r, ex)}, not 0x0B (REQ-SEC-004)", req="REQ-SEC-004")
    with dut.step(3):
        key = dut.foreign_key()
        encrypt = variants[0] if variants else None
        r, ex = dut.attempt(lambda: session.write(STATE_TABLE, image, seq=session.next_seq(), resync=False,
                                                       key=key, encrypt=encrypt))
        tc.check(clear_auth_failure(ex), f"an ET03 write digested under an unknown key was answered "
                                         f"{verdict_of(r, ex)}, not 0x0B (REQ-SEC-004)", req="REQ-SEC-004")
    with dut.step(4):
        dut.expect_accepted(session.next_seq(), "the number the refused writes carried",
                        "REQ-SEC-006: a 0x0B does not move the sequence number")
    with dut.step(5):
        dut.check_unchanged(before, "a write refused for its digest changed the table (REQ-SEC-004, "
                                             "REQ-SEC-029)")


def encode_request_write(image: bytes) -> bytes:
    return encode_request(FullWrite(STATE_TABLE, image))


@testcase(
    id="TC_SEC_DIG_BI_03",
    title="Zero bytes appended to a request keep its digest but do not make it executable",
    purpose="Ensure that, when the tester appends a zero byte to the authenticated span of a read (the OMA "
            "digest pads with zeros, so the digest still verifies), the DUT does not execute the reshaped "
            "request",
    requirements=["REQ-SEC-007"],
    pics='PICS_SEC_DIGEST and PICS_SEC_MODE != "aes128"',
    pixit=["seq_window"],
    steps=[("Read BT01 with the session; if no sequence number with low byte 00 lies in the window, advance "
            "the DUT's number by window-sized steps", "0x00 each"),
           ("Send 30 00 01 00 || t || digest, where t (low byte 00) is in the window and the digest is that of "
            "30 00 01 || 00 t0 t1 t2 (equal by zero padding)", "not 0x00: the request is not executed")],
)
def test_zero_padding(tc, session, plan):
    """Sources: REQ-SEC-007: TS 104 001 Annex F (clause unknown); zero-padding property of the digest, MEP-DG example
    p.17 (app §4.2, §8) [VERIFIED]; format check as a defence [INFERRED]."""
    dut = Dut(tc, session, plan)
    window = plan.pixit.seq_window
    with dut.step(1):
        c = dut.sync()
        for _ in range(256 // max(window, 1) + 2):
            t = next(((c + k) % MOD for k in range(1, window + 1) if (c + k) % 256 == 0), None)
            if t is not None:
                break
            r = session.request(PROBE, seq=(c + window) % MOD, resync=False)
            tc.require(r.ok, f"advancing the sequence number by the window ({window}, PIXIT seq_window, "
                             f"ASM-SEC-02) answered {r.describe()}")
            c = (c + window) % MOD
            session.seq = c
        tc.require(t is not None, "no sequence number with low byte 00 could be brought into the window")
    with dut.step(2):
        message = encode_request(PROBE)
        seq_orig = t >> 8  # its bytes 00 t0 t1 t2: with one zero appended the DUT reads seq t0 t1 t2 00 = t
        sent = session.config.profile.protect_request(message, seq_orig, encrypt=False)
        key = plan.security.key().secret
        span = sent.pdu[:-DIGEST_LEN]
        tc.require(osgp_digest(span + b"\0", key) == sent.tag,
                   "the digest of the padded span differs for this key: the zero-padding property does not apply")
        wire = span + b"\0" + sent.tag
        reshaped = dataclasses.replace(sent, message=message + b"\0", seq=t, pdu=wire)
        r, ex = dut.attempt(lambda: session.send_pdu(wire, reshaped))
        tc.check(r is None or r.code != ResponseCode.OK,
                 f"the read with a zero byte appended to its authenticated span (now 4 bytes, a read takes 3) was "
                 f"executed: {verdict_of(r, ex)} (REQ-SEC-007, inferred)")
