"""RC4 mode: which messages are encrypted (TS 104 001 Annex F; MEP-DG 'RC4 Encryption' p.11, App. B pp.255-257).

The request span (message || seq) and the response message are encrypted, the digest stays in clear and is
computed on the plaintext; 0x0B is never encrypted, 0x0C is encrypted when the request was. The key derivation
is PIXIT rc4_variant (ASM-SEC-03); each response is keyed by its own digest (ASM-SEC-06).
"""

from __future__ import annotations

from osgp.app import ResponseCode, encode_request, encode_response
from osgp.digest import DIGEST_LEN
from osgp.security import AUTH_FAILURE, SEQ_LEN, flip_bit
from osgpct.dut import MOD, PROBE, Dut, clear_auth_failure, raw_head, verdict_of
from osgpct.testcase import testcase

RC4 = 'PICS_SEC_RC4 and PICS_SEC_MODE == "rc4"'
ASM = "rests on ASM-SEC-03 (PIXIT rc4_variant) and ASM-SEC-06"


@testcase(
    id="TC_SEC_RC4_BV_01",
    title="An RC4-encrypted request is answered encrypted; a plaintext one in plaintext",
    purpose="Ensure that, when the tester reads BT01 with an RC4-encrypted request, the DUT executes it and "
            "answers with an encrypted response whose decryption verifies, and that, when it reads BT01 in "
            "plaintext, the answer is in plaintext",
    requirements=["REQ-SEC-017"],
    pics=RC4,
    pixit=["rc4_variant"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Read BT01, RC4-encrypted, with the next sequence number", "0x00; the response on the wire differs "
            "from its plaintext and verifies once decrypted"),
           ("Read BT01 in plaintext with the next sequence number (when PICS_SEC_DIGEST)",
            "0x00; the response on the wire is the plaintext response and its digest")],
)
def test_rc4_answered_encrypted(tc, session, plan):
    """Sources: REQ-SEC-017: TS 104 001 Annex F (clause unknown); MEP-DG 'RC4 Encryption' p.11, App. B pp.255-257; ECH-
    UM p.59 (app §4.5) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        # an answer that does not verify encrypted (e.g. one in plaintext) ends the step as a FAIL (Dut.step)
        r = session.request(PROBE, encrypt=True, resync=False)
        ex = session.exchanges[-1]
        tc.check(r.ok, f"an RC4-encrypted read answered {r.describe()} (REQ-SEC-017)", stop=True)
        plain = encode_response(r, PROBE)
        tc.check(ex.response_pdu[:-DIGEST_LEN] != plain,
                 "the response to an RC4-encrypted read carries its data in clear (REQ-SEC-017)")
    with dut.step(3):
        if not plan.pics.get("PICS_SEC_DIGEST"):
            tc.observe("PICS_SEC_DIGEST is false: the DUT takes no plaintext requests")
            return
        r, ex = dut.attempt(lambda: session.request(PROBE, encrypt=False, resync=False))
        tc.check(r is not None and r.ok, f"a plaintext read answered {verdict_of(r, ex)} (REQ-SEC-017)", stop=True)
        tc.check(ex.response_pdu[:-DIGEST_LEN] == encode_response(r, PROBE),
                 f"the answer to a plaintext read is not in plaintext: {raw_head(ex)} (REQ-SEC-017)")


@testcase(
    id="TC_SEC_RC4_BI_01",
    title="Encrypted requests that do not verify are refused with a 0x0B in clear",
    purpose="Ensure that, when the tester sends an RC4-encrypted read under a key the DUT does not hold, or with "
            "its digest or ciphertext altered, the DUT answers each with a 0x0B that is not encrypted, and its "
            "sequence number does not move",
    requirements=["REQ-SEC-018", "REQ-SEC-005", "REQ-SEC-004", "REQ-SEC-006"],
    pics=RC4,
    pixit=["rc4_variant"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read BT01 with c+1, RC4-encrypted and digested under a random key", "0x0B, first byte 0B in clear"),
           ("Read BT01 with c+1, RC4-encrypted under the DUT's key, one digest bit flipped; then one ciphertext "
            "bit flipped", "0x0B in clear, twice"),
           ("Read BT01 with c+1, RC4-encrypted under the DUT's key", "0x00")],
)
def test_rc4_bad_requests(tc, session, plan):
    """Sources: REQ-SEC-018: TS 104 001 Annex F (clause unknown); MEP-DG p.11, App. B (app §4.5, §7 TP-RC4-02) [READ];
    REQ-SEC-005: TS 104 001 Annex F (clause unknown); MEP-DG App. B pp.255-257 (app §2.2, §4.5) [READ]; REQ-SEC-004:
    TS 104 001 Annex F (clause unknown); MEP-DG Table 2.5 p.10-11, 'RC4 Authentication' p.11 [READ]; REQ-SEC-006:
    TS 104 001 Annex F (clause unknown); MEP-DG p.11 sequence rules (app §4.4) [READ]; effect of a failed digest on
    the counter [INFERRED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        c = dut.sync()
    s = (c + 1) % MOD
    with dut.step(2):
        key = dut.foreign_key()
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=s, resync=False, encrypt=True, key=key))
        is_0b = r is None or r.code == AUTH_FAILURE  # an answer the session cannot read may be an encrypted 0x0B
        tc.check(is_0b, f"an RC4-encrypted read under an unknown key was answered {verdict_of(r, ex)}, not 0x0B "
                        "(REQ-SEC-018: the digest is checked over the decrypted plaintext, MEP-DG:502)",
                 req="REQ-SEC-018")
        if is_0b:
            tc.check(clear_auth_failure(ex), f"the 0x0B to an RC4-encrypted read under an unknown key is not in "
                                             f"clear: {raw_head(ex)} (REQ-SEC-005: '0x0B is not encrypted', "
                                             "MEP-DG:12946; the form of 0x0B is ASM-SEC-07)", req="REQ-SEC-005")
    with dut.step(3):
        sent = session.config.profile.protect_request(encode_request(PROBE), s, encrypt=True)
        n = len(sent.pdu)
        for what, bit in (("digest", 8 * (n - DIGEST_LEN) + tc.rng.randrange(8 * DIGEST_LEN)),
                          ("ciphertext", tc.rng.randrange(8 * (n - DIGEST_LEN - SEQ_LEN)))):
            r, ex = dut.attempt(lambda b=bit: session.send_pdu(flip_bit(sent.pdu, b), sent))
            if r is not None and r.code != AUTH_FAILURE:  # a readable answer other than 0x0B: executed or another code
                tc.check(False, f"an RC4-encrypted read with a {what} bit flipped (bit {bit}) was answered "
                                f"{verdict_of(r, ex)}, not 0x0B (REQ-SEC-004: '0x0B = Authentication failure', "
                                "MEP-DG:470)", req="REQ-SEC-004")
                continue
            tc.check(clear_auth_failure(ex),
                     f"an RC4-encrypted read with a {what} bit flipped (bit {bit}) was answered {verdict_of(r, ex)}, "
                     "not a clear 0x0B (REQ-SEC-005: 0x0B is never encrypted; the form of 0x0B is ASM-SEC-07)",
                     req="REQ-SEC-005")
    with dut.step(4):
        r, ex = dut.attempt(lambda: session.send_pdu(sent.pdu, sent))
        tc.check(r is not None and r.ok, f"the valid encrypted read with {s} answered {verdict_of(r, ex)} after the "
                                         "refusals (REQ-SEC-006: a 0x0B does not move the sequence number; inferred)",
                 req="REQ-SEC-006")
        if r is not None and r.ok:
            session.seq = s


@testcase(
    id="TC_SEC_RC4_BV_02",
    title="A 0x0C answering an encrypted request is encrypted",
    purpose="Ensure that, when the tester repeats the last accepted sequence number in an RC4-encrypted read, "
            "the DUT's 0x0C is encrypted on the wire and decrypts to 0C and its current number",
    requirements=["REQ-SEC-019"],
    pics=RC4,
    pixit=["rc4_variant"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read BT01 with c, RC4-encrypted", "0x0C carrying c (or c+1) after decryption; the wire bytes are not "
            "0C and that number in clear")],
)
def test_rc4_seq_error_encrypted(tc, session, plan):
    """Sources: REQ-SEC-019: TS 104 001 Annex F (clause unknown); MEP-DG App. B pp.255-257 (app §2.2, §4.5) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=c, resync=False, encrypt=True))
        clear = [bytes([ResponseCode.INVALID_SEQUENCE]) + (n % MOD).to_bytes(SEQ_LEN, "big") for n in (c, c + 1)]
        tc.check(ex.response_pdu is None or ex.response_pdu[:1 + SEQ_LEN] not in clear,
                 "the 0x0C to an RC4-encrypted request is sent in clear (REQ-SEC-019: '0x0C is encrypted', "
                 "MEP-DG:12946)", stop=True)
        # an answer that does not decrypt and verify under the suite's power-line RC4 construction is no evidence
        # against the DUT (ASM-SEC-03/06 are unverified)
        tc.require(r is not None, f"the answer to an RC4-encrypted read repeating the accepted number does not "
                                  f"decrypt and verify under the suite's RC4 construction ({raw_head(ex)}; {ASM})")
        if r.ok:  # a replay executed: REQ-SEC-010, judged by the sequence-number cases
            dut.judge(False, f"an encrypted read repeating the accepted number {c} was executed", "REQ-SEC-010",
                      stop=True)
        tc.check(r.code == ResponseCode.INVALID_SEQUENCE,
                 f"an encrypted read repeating the accepted number was answered {verdict_of(r, ex)}, not an "
                 f"encrypted 0x0C (REQ-SEC-019, {ASM})")
