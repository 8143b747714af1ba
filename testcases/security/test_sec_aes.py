"""OSGP-AES-128-PSK mode (TS 104 001 Annex F; MEP-DG ET04 offset 127 p.66-67; NIST SP 800-38C).

The CCM layout (nonce, AAD, tag length) is assumption ASM-SEC-04 (PIXIT aes_ccm). These test cases run in a
campaign whose plan sets security.mode: aes128 (PICS_SEC_MODE == "aes128").
"""

from __future__ import annotations

from osgp.app import FullWrite, PartialWrite, ResponseCode, encode_request, encode_response, et
from osgp.security import DigestProfile, Rc4Profile, flip_bit
from osgp.tables import Dimensions, schema
from osgpct.dut import MOD, PROBE, STATE_TABLE, Dut, altered, raw_head, verdict_of
from osgpct.testcase import testcase

AES = 'PICS_SEC_MODE == "aes128"'
ASM = "rests on ASM-SEC-04: CCM layout of PIXIT aes_ccm"
FLIPS = 12


def legacy_profiles(plan) -> list[tuple[str, object]]:
    """Digest and RC4 framings under the DUT's own full key: what an AES-mode DUT must refuse."""
    key = plan.security.key().secret
    return [("digest-framed", DigestProfile([key])),
            ("RC4-encrypted", Rc4Profile([key], variant=plan.pixit.rc4_variant))]


@testcase(
    id="TC_SEC_AES_BV_01",
    title="In AES mode a CCM-protected request is executed and answered under CCM",
    purpose="Ensure that, when the DUT is in OSGP-AES-128-PSK mode and the tester reads BT01 protected with "
            "AES-128-CCM and the next sequence number, the DUT executes it and answers with a response whose "
            "CCM tag verifies and whose data is not in clear",
    requirements=["REQ-SEC-025"],
    pics=AES,
    pixit=["aes_ccm"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Read BT01 with the next sequence number", "0x00; the response verifies under CCM and differs from "
            "the plaintext response")],
)
def test_aes_valid(tc, session, plan):
    """Sources: REQ-SEC-025: TS 104 001 Annex F (clause unknown); NIST SP 800-38C among the normative references (app
    §1, §4.6) [READ]; CCM use and layout [INFERRED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        r = session.request(PROBE, resync=False)  # a response that does not verify is a FAIL (Dut.step)
        ex = session.exchanges[-1]
        tc.check(r.ok, f"an AES-protected read with the next sequence number answered {r.describe()} "
                       f"(REQ-SEC-025, {ASM})", stop=True)
        tc.check(encode_response(r, PROBE) not in ex.response_pdu,
                 f"the AES response carries the BT01 data in clear: {raw_head(ex)} (REQ-SEC-025)")


@testcase(
    id="TC_SEC_AES_BI_01",
    title="In AES mode digest-framed and RC4-framed requests are refused without execution",
    purpose="Ensure that, when the DUT is in OSGP-AES-128-PSK mode and the tester sends reads and an ET03 write "
            "framed with the digest or RC4 under the DUT's own key and the next sequence number, the DUT executes "
            "none of them: the table is unchanged and the sequence number is not used up",
    requirements=["REQ-SEC-023", "REQ-SEC-027"],
    pics=AES,
    pixit=["rc4_variant"],
    initial="ET03 (utility information) is readable and writable with the full key (MEP-DG p.53-55; ASM-TBL-02).",
    steps=[("Read BT01 and ET03 with the session (sequence number c after them)", "0x00 both"),
           ("Read BT01 with c+1, digest-framed, then RC4-encrypted, under the full key", "not 0x00"),
           ("Full write of ET03 with another serial number and c+1, digest-framed, then RC4-encrypted",
            "not 0x00"),
           ("Read BT01 with AES and c+1", "0x00: the refused requests did not use up c+1"),
           ("Read ET03 back with AES", "unchanged")],
)
def test_aes_refuses_legacy(tc, session, plan):
    """Sources: REQ-SEC-023: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offset 127 p.66-67 (app §4.6, §7 TP-
    AES-02) [READ]; REQ-SEC-027: TS 104 001 Annex F (clause unknown); AES-mode counters (app §4.6, §9 item 6) [NOT
    FOUND]: whether a rejected RC4/digest request moves the AES counter is not stated."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
        before = dut.read_state()
        c = session.seq
    s = (c + 1) % MOD
    image = altered(before)
    for n, req, what in ((2, PROBE, "read of BT01"), (3, FullWrite(STATE_TABLE, image), "ET03 write")):
        with dut.step(n):
            for name, profile in legacy_profiles(plan):
                r, ex = dut.attempt(lambda p=profile, q=req: session.request(q, seq=s, resync=False, profile=p))
                tc.check(r is None or r.code != ResponseCode.OK,
                         f"in AES mode a {name} {what} (sequence number {s}) was executed: {verdict_of(r, ex)} "
                         "(REQ-SEC-023: 'all RC4-based messages (configuration or otherwise) will be rejected', "
                         "MEP-DG:3082)", req="REQ-SEC-023")
    with dut.step(4):
        dut.expect_accepted(s, "the number the refused requests carried",
                            "REQ-SEC-027: the AES counter is not moved by rejected RC4/digest requests; design")
    with dut.step(5):
        dut.check_unchanged(before, "in AES mode a digest/RC4-framed write changed the table (REQ-SEC-023: it is "
                                    "rejected, MEP-DG:3082)")


@testcase(
    id="TC_SEC_AES_BI_02",
    title="In AES mode an RC4-framed write of ET04.127 does not switch the DUT back to RC4",
    purpose="Ensure that, when the DUT is in OSGP-AES-128-PSK mode and the tester writes 0 (RC4) to ET04.127 with "
            "RC4-framed and digest-framed partial writes, the security mode still reads 2",
    requirements=["REQ-SEC-024"],
    pics=AES + " and PICS_PARTIAL_WRITE",
    pixit=["rc4_variant"],
    initial="ET04 is readable (MEP-DG p.66-67; ASM-TBL-02).",
    steps=[("Read ET04 with AES (full read)", "ET04.127 (security mode) = 2"),
           ("Partial write ET04.127 = 0, RC4-encrypted then digest-framed, next sequence number", "not 0x00"),
           ("Read ET04 with AES", "ET04.127 = 2")],
)
def test_aes_mode_not_downgraded(tc, session, plan):
    """Sources: REQ-SEC-024: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offset 127 p.66-67 (app §4.6, §7 TP-
    AES-03) [READ]."""
    dut = Dut(tc, session, plan)
    offset = schema(et(4)).field_offset("security_mode", Dimensions.from_tables({}))[0]

    def mode() -> int:  # a full read: the check must not depend on partial-read handling
        return dut.read_decoded(et(4), ("security_mode",), dims=Dimensions.from_tables({})).security_mode

    with dut.step(1):
        dut.sync()
        tc.require(mode() == 2, "precondition: the DUT in AES mode does not read 2 (OSGP-AES-128-PSK) at ET04.127")
    with dut.step(2):
        for name, profile in reversed(legacy_profiles(plan)):
            r, ex = dut.attempt(lambda p=profile: session.request(
                PartialWrite(et(4), offset, b"\x00"), seq=session.next_seq(), resync=False, profile=p))
            tc.check(r is None or r.code != ResponseCode.OK,
                     f"a {name} write of ET04.127 = 0 was accepted: {verdict_of(r, ex)} (REQ-SEC-024)")
    with dut.step(3):
        now = mode()
        tc.check(now == 2, f"after RC4/digest-framed writes ET04.127 reads {now}, not 2: the DUT left AES mode "
                           "(REQ-SEC-024)")


@testcase(
    id="TC_SEC_AES_BI_03",
    title="In AES mode a request whose CCM tag does not verify is refused and changes nothing",
    purpose="Ensure that, when the DUT is in OSGP-AES-128-PSK mode and the tester sends an ET03 write with one "
            "bit flipped (in the ciphertext, the sequence number or the tag), the DUT executes none of them and "
            "still accepts the untouched write's number",
    requirements=["REQ-SEC-026"],
    pics=AES,
    pixit=["aes_ccm"],
    initial="ET03 (utility information) is readable and writable with the full key (MEP-DG p.53-55; ASM-TBL-02).",
    steps=[("Read BT01 and ET03 with the session (sequence number c after them)", "0x00 both"),
           (f"Send {FLIPS} copies of an ET03 write (another serial number, c+1), each with one bit flipped",
            "none answered 0x00 (0x0B expected)"),
           ("Read BT01 with c+1", "0x00: the refused writes did not use up c+1"),
           ("Read ET03 back", "unchanged")],
)
def test_aes_bad_tag(tc, session, plan):
    """Sources: REQ-SEC-026: TS 104 001 Annex F (clause unknown); AES-mode mechanics (app §4.6, §7 TP-AES-04)
    [INFERRED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
        before = dut.read_state()
        c = session.seq
    s = (c + 1) % MOD
    sent = session.config.profile.protect_request(encode_request(FullWrite(STATE_TABLE, altered(before))), s)
    n = len(sent.pdu)
    with dut.step(2):
        tag = plan.pixit.aes_ccm.tag_len
        bits = {tc.rng.randrange(8 * (n - tag), 8 * n), tc.rng.randrange(8 * (n - tag - 4), 8 * (n - tag)),
                tc.rng.randrange(8 * (n - tag - 4))}
        while len(bits) < FLIPS:
            bits.add(tc.rng.randrange(8 * n))
        executed = []
        for bit in sorted(bits):
            r, ex = dut.attempt(lambda b=bit: session.send_pdu(flip_bit(sent.pdu, b), sent))
            if r is not None and r.ok:
                executed.append(bit)
        tc.check(not executed, f"AES writes with bit(s) {executed} flipped were executed (0x00) (REQ-SEC-026, {ASM})")
    with dut.step(3):
        dut.expect_accepted(s, "the number the refused writes carried", "REQ-SEC-026")
    with dut.step(4):
        dut.check_unchanged(before, "an AES write whose tag does not verify changed the table (REQ-SEC-026)")


@testcase(
    id="TC_SEC_AES_BI_04",
    title="In AES mode replayed, stale and too-far sequence numbers are refused",
    purpose="Ensure that, when the DUT is in OSGP-AES-128-PSK mode and the tester repeats the last accepted "
            "sequence number, uses a lower one, or one beyond the window, the DUT refuses each with 0x0C carrying "
            "its current number and then accepts current+1",
    requirements=["REQ-SEC-027"],
    pics=AES,
    pixit=["seq_window", "aes_ccm"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read BT01 with c, c-1 and c+W+1", "0x0C carrying c, each time"),
           ("Read BT01 with c+1", "0x00")],
)
def test_aes_replay(tc, session, plan):
    """Sources: REQ-SEC-027: TS 104 001 Annex F (clause unknown); AES-mode counters (app §4.6, §9 item 6)
    [NOT FOUND]."""
    dut = Dut(tc, session, plan)
    w = plan.pixit.seq_window
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        for seq, why in ((c, "a replay of the accepted number"), (c - 1, "a lower number"),
                         (c + w + 1, "beyond the window")):
            dut.expect_refused(seq, c, why, f"REQ-SEC-027; {ASM}, window ASM-SEC-02")
    with dut.step(3):
        dut.expect_accepted(c + 1, "current + 1 after the refusals", "REQ-SEC-027")

