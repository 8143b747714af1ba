"""Request and response digests of the digest / RC4 security modes (TS 104 001 Annex F; MEP-DG p.10-11, App. A).

The OSGP PDU is ``message || seq(4) || digest(8)`` (ASM-APP-03); the response digest covers the request
(code .. seq) followed by the response message (ASM-SEC-01).
"""

from __future__ import annotations

import dataclasses

from osgp.app import FullWrite, ResponseCode, encode_request
from osgp.digest import DIGEST_LEN, osgp_digest
from osgp.security import SEQ_LEN, UnencryptedResponse, flip_bit
from osgp.session import ResponseNotAuthentic
from osgpct.dut import MOD, PROBE, STATE_TABLE, Dut, altered, chained_digest, clear_auth_failure, raw_head, verdict_of
from osgpct.testcase import testcase

LEGACY = '(PICS_SEC_DIGEST or PICS_SEC_RC4) and PICS_SEC_MODE != "aes128"'
FLIPS = 24  # sampled single-bit flips: enough to hit code, table id, sequence number and digest


def answer_kind(r, ex) -> str:
    """What a refused-or-not request got: "executed" (0x00), "0B" (a clear 0x0B, ASM-SEC-07), "0C", "other" (another
    code the session could read) or "unreadable" (an answer that does not authenticate: it is no evidence here)."""
    if clear_auth_failure(ex):
        return "0B"
    raw = ex.response_pdu or b""
    if r is None:
        return "0C" if raw[:1] == bytes([ResponseCode.INVALID_SEQUENCE]) and len(raw) > DIGEST_LEN else "unreadable"
    if r.ok:
        return "executed"
    return "0C" if r.code == ResponseCode.INVALID_SEQUENCE else "other"


def unreadable_requirement(plan) -> str:
    """The requirement an unreadable answer to a refused request breaks: an encrypted 0x0B (RC4), else the
    response digest."""
    return "REQ-SEC-005" if plan.security.mode == "rc4" else "REQ-SEC-003"


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
    steps=[("Read BT01 with the session (learns the DUT's sequence number), then once more as in step 2", "0x00"),
           ("Read BT01 with the next sequence number and a digest under the default key (in clear when "
            "PICS_SEC_DIGEST)", "0x00 with BT01 data"),
           ("Recompute the response digest from the exchanged bytes", "digest(request span || response) equals "
            "the 8 bytes the DUT sent, and differs from the response digest of the step-1 read (same response, "
            "another request)")],
)
def test_valid_request_chained_digest(tc, session, plan):
    """Sources: REQ-SEC-001: TS 104 001 Annex F (clause unknown); MEP-DG p.11, App. A p.250-251; OMA vector of
    ttaubert/osgp-oma-digest (app §4.2-4.3, §6) [VERIFIED]; REQ-SEC-003: TS 104 001 Annex F (clause unknown); MEP-DG
    App. A p.250-251, examples pp.15-17 recomputed (app §4.3) [VERIFIED]."""
    dut = Dut(tc, session, plan)
    encrypt = False if plaintext_ok(plan) else None
    with dut.step(1):
        try:  # as step 2 does: in clear when the DUT takes plaintext requests
            r0 = session.request(PROBE, encrypt=encrypt)
        except ResponseNotAuthentic as e:
            if e.exchange.encrypted and not isinstance(e.__cause__, UnencryptedResponse):
                tc.inconc(f"the answer to an RC4-encrypted read does not decrypt and verify under the suite's RC4 "
                          f"construction ({raw_head(e.exchange)}; ASM-SEC-03, ASM-SEC-06): no evidence on the digest")
            raise
        tc.require(r0.ok, f"precondition: a valid read of BT01 is answered {r0.describe()}")
        _, first = dut.attempt(lambda: session.request(PROBE, encrypt=encrypt, resync=False))
    with dut.step(2):
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
            # the power-line RC4 construction is ASM-SEC-03/06 (unverified): an answer that does not decrypt and
            # verify under it is no evidence against the digest chaining
            tc.require(r is not None, f"the answer to an RC4-encrypted read does not decrypt and verify under the "
                                      f"suite's RC4 construction ({raw_head(ex)}; ASM-SEC-03, ASM-SEC-06): the "
                                      "response digest cannot be recomputed")
            body = bytes([r.code]) + len(r.data).to_bytes(2, "big") + r.data  # the decrypted plaintext
        expected = chained_digest(key, span, body)
        unchained = osgp_digest(body, key)
        tc.check(tag == expected,
                 f"the response digest {tag.hex(' ')} is not digest(request || response) = {expected.hex(' ')}"
                 + (" but the digest of the response alone" if tag == unchained else "")
                 + " (REQ-SEC-003: the response digest chains the request; rests on ASM-SEC-01)", req="REQ-SEC-003")
        # the DUT's own digests of two exchanges with the same response and another request must differ: a
        # digest over the response alone would repeat (no recomputation by the suite involved)
        if (first.response_pdu is not None and not first.encrypted and not ex.encrypted and first.seq != ex.seq
                and first.response_pdu[:-DIGEST_LEN] == body):
            tc.check(first.response_pdu[-DIGEST_LEN:] != tag,
                     f"the DUT sent the same response digest {tag.hex(' ')} for the same response to two requests with "
                     f"sequence numbers {first.seq} and {ex.seq} (REQ-SEC-003: it covers the request)",
                     req="REQ-SEC-003")
        if r is None:
            tc.fail(f"the answer does not authenticate against its request ({raw_head(ex)}) (REQ-SEC-003)",
                    req="REQ-SEC-003")


@testcase(
    id="TC_SEC_DIG_BI_01",
    title="Any single-bit change of a request is refused and does not move the sequence number",
    purpose="Ensure that, when the tester flips one bit (sampled over code, table id, sequence number and "
            "digest) of a correctly protected read, the DUT executes none of them and answers each with a clear "
            "0x0B (or 0x0C where the flip moved the sequence number out of the window), and that the untouched "
            "request with the same sequence number is then still accepted",
    requirements=["REQ-SEC-002", "REQ-SEC-004", "REQ-SEC-006"],
    pics=LEGACY,
    pixit=["seq_window", "apdu_prefix"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           (f"Send {FLIPS} copies of a read of BT01 with sequence number c+1, each with one bit flipped (bits drawn "
            "with the campaign seed, at least one in each of code, table id, sequence number and digest; without "
            "an APDU envelope the code byte leads the APDU and is never flipped)",
            "none executed; each answered with 0x0B in clear, or 0x0C for a flip that moved the sequence number "
            "out of the window"),
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
    w = plan.pixit.seq_window
    encrypt = False if plaintext_ok(plan) else None
    sent = session.config.profile.protect_request(encode_request(PROBE), s, encrypt=encrypt)
    n = len(sent.pdu)
    seq_at = n - DIGEST_LEN - SEQ_LEN  # first byte of the sequence number
    # Without an envelope (pixit.apdu_prefix empty) the request code is the first APDU byte: a flip of its bit 6
    # or 7 turns 0x30 into 0x70 / 0xB0, 14908-1 network-management / network-variable codes a real node hands to
    # its own stack, not to OSGP (osgp.app.DELIVERED). Field safety: never flip that byte then.
    lowest = 8 if not plan.pixit.apdu_prefix else 0
    with dut.step(2):
        regions = [(lowest, 8), (8, 24), (8 * seq_at, 8 * (n - DIGEST_LEN)), (8 * (n - DIGEST_LEN), 8 * n)]
        bits = {tc.rng.randrange(lo, hi) for lo, hi in regions if lo < hi}
        while len(bits) < FLIPS:
            bits.add(tc.rng.randrange(lowest, 8 * n))
        executed, wrong, unreadable = [], [], []
        for bit in sorted(bits):
            r, ex = dut.attempt(lambda b=bit: session.send_pdu(flip_bit(sent.pdu, b), sent))
            kind = answer_kind(r, ex)
            if kind == "executed":
                executed.append(f"bit {bit} (byte {bit // 8})")
                continue
            if kind == "0B":
                continue
            if kind == "unreadable":
                unreadable.append(f"bit {bit}: {raw_head(ex)}")
                continue
            # REQ-SEC-002 reading 2: a DUT that checks the sequence number first answers a flip that moves it
            # out of its window with 0x0C (the order of the two checks is not stated). That 0x0C is digested over
            # the altered request, so it does not authenticate against the untouched one: judged on the raw bytes
            # (an encrypted one cannot be read, RC4 flips pass through to the plaintext number)
            moved = flip_bit(sent.pdu, bit)[seq_at:seq_at + SEQ_LEN]
            out_of_window = (8 * seq_at <= bit < 8 * (n - DIGEST_LEN)
                             and not 1 <= (int.from_bytes(moved, "big") - c) % MOD <= w)
            if out_of_window and kind == "0C":
                continue
            wrong.append(f"bit {bit} (byte {bit // 8}): {verdict_of(r, ex)}")
        tc.check(not executed, f"{len(executed)} of {len(bits)} single-bit changes of the request were executed "
                               f"(0x00): {'; '.join(executed[:3])}{' …' if len(executed) > 3 else ''} (REQ-SEC-002: "
                               "the digest covers code to sequence number, MEP-DG:12732-12733)", req="REQ-SEC-002")
        tc.check(not wrong, f"{len(wrong)} of {len(bits)} single-bit changes of the request were answered neither "
                            "with a clear 0x0B nor (for a sequence number moved out of the window) with 0x0C: "
                            f"{'; '.join(wrong[:3])}{' …' if len(wrong) > 3 else ''} (REQ-SEC-002, REQ-SEC-004 "
                            "'0x0B = Authentication failure'; the form of 0x0B is ASM-SEC-07)", req="REQ-SEC-002")
        dut.judge(not unreadable, f"{len(unreadable)} single-bit changes got an answer that is neither a clear 0x0B "
                                  f"nor readable: {'; '.join(unreadable[:2])}", unreadable_requirement(plan))
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
            kind = answer_kind(r, ex)
            what = f"a{'n RC4-encrypted' if encrypt else ' plaintext'} ET03 write with a corrupted digest"
            if kind == "unreadable":
                dut.judge(False, f"{what} got an answer that is neither a clear 0x0B nor readable: {raw_head(ex)}",
                          unreadable_requirement(plan))
                continue
            tc.check(kind == "0B", f"{what} was answered {verdict_of(r, ex)}, not 0x0B (REQ-SEC-004: '0x0B = "
                                   "Authentication failure', MEP-DG:470)", req="REQ-SEC-004")
    with dut.step(3):
        key = dut.foreign_key()
        encrypt = variants[0] if variants else None
        r, ex = dut.attempt(lambda: session.write(STATE_TABLE, image, seq=session.next_seq(), resync=False,
                                                  key=key, encrypt=encrypt))
        kind = answer_kind(r, ex)
        if kind == "unreadable":
            dut.judge(False, f"an ET03 write digested under an unknown key got an answer that is neither a clear 0x0B "
                             f"nor readable: {raw_head(ex)}", unreadable_requirement(plan))
        else:
            tc.check(kind == "0B", f"an ET03 write digested under an unknown key was answered {verdict_of(r, ex)}, "
                                   "not 0x0B (REQ-SEC-004: '0x0B = Authentication failure', MEP-DG:470)",
                     req="REQ-SEC-004")
    with dut.step(4):
        dut.expect_accepted(session.next_seq(), "the number the refused writes carried",
                        "REQ-SEC-006: a 0x0B does not move the sequence number")
    with dut.step(5):
        dut.check_unchanged(before, "a write refused for its digest changed the table (REQ-SEC-004: 'If neither key "
                                    "passes the authentication check, no access is granted', MEP-DG:593-594)")


def encode_request_write(image: bytes) -> bytes:
    return encode_request(FullWrite(STATE_TABLE, image))


@testcase(
    id="TC_SEC_DIG_BI_03",
    title="Zero bytes appended to a request keep its digest (observation only: REQ-SEC-007 is withdrawn)",
    purpose="Ensure that, when the tester appends a zero byte to the authenticated span of a read (the OMA "
            "digest pads with zeros, so the digest still verifies), the report records whether the DUT executes "
            "the reshaped request; no verdict: MEP-DG:537-539 lets a conforming DUT execute it",
    requirements=["REQ-SEC-007"],
    pics='PICS_SEC_DIGEST and PICS_SEC_MODE != "aes128"',
    pixit=["seq_window"],
    steps=[("Read BT01 with the session; if no sequence number with low byte 00 lies in the window, advance "
            "the DUT's number by window-sized steps", "0x00 each"),
           ("Send 30 00 01 00 || t || digest, where t (low byte 00) is in the window and the digest is that of "
            "30 00 01 || 00 t0 t1 t2 (equal by zero padding)", "observed: executed or not (either conforms)")],
)
def test_zero_padding(tc, session, plan):
    """Sources: REQ-SEC-007: TS 104 001 Annex F (clause unknown); zero-padding property of the digest, MEP-DG example
    p.17 (app §4.2, §8) [VERIFIED]; format check as a defence [INFERRED]. REQ-SEC-007 is withdrawn (testable:
    false): MEP-DG:537-539 says a missing or short Length is read as an indeterminate value and 'No error will be
    returned in this case', so executing 30 00 01 00 conforms. The case keeps its id and reports what the DUT does,
    a note on the digest's zero-padding weakness, never a FAIL."""
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
        executed = r is not None and r.code == ResponseCode.OK
        tc.observe(f"the read with a zero byte appended to its authenticated span (now 4 bytes, a read takes 3) was "
                   f"{'executed' if executed else 'not executed'}: {verdict_of(r, ex)}. "
                   + ("The digest's zero padding lets a reshaped request through; MEP-DG:537-539 allows it "
                      "(REQ-SEC-007 withdrawn)." if executed else "The DUT checks the length against the code."))
        if executed:
            session.seq = t
