"""Keys, access levels, key usage counters and the declared security mode (TS 104 001 Annex F; MEP-DG p.13,
ET04 p.56-67, ET54 p.137).
"""

from __future__ import annotations

from osgp.app import ResponseCode, et
from osgp.security import AUTH_FAILURE
from osgpct.dut import PROBE, STATE_TABLE, Dut, altered, clear_auth_failure, verdict_of
from osgpct.testcase import testcase

USAGE = ("unicast_key_usage_count",)  # ET54.82, present from firmware 3.13 / 3.80 on
MODE_VALUE = {"aes128": 2, "rc4": 0, "digest": 0}  # ET04.127: 0 RC4 (digest family), 2 OSGP-AES-128-PSK


@testcase(
    id="TC_SEC_KEY_BI_01",
    title="A request authenticated only by the read key cannot write",
    purpose="Ensure that, when the tester writes ET03 with a request authenticated by the read-only key, the DUT "
            "refuses it (0x03 'No permission for specified request', or 0x0B: neither reading is excluded) and the "
            "table keeps its content, while reads with that key are served",
    requirements=["REQ-SEC-028", "REQ-SEC-029"],
    initial="The plan holds a key with access 'read' (security.keys); ET03 is writable with the full key only "
            "(MEP-DG p.53-55, ASM-SEC-08).",
    steps=[("Read BT01 with the session, then read ET03", "0x00 both"),
           ("Read BT01 with the read key", "0x00"),
           ("Full write of ET03 (another utility serial number) with the read key", "refused: 0x03 (or 0x0B)"),
           ("Read ET03 back", "unchanged")],
)
def test_read_key_cannot_write(tc, session, plan):
    """Sources: REQ-SEC-028: TS 104 001 Annex F (clause unknown); MEP-DG p.13 and App. C (MAK/MBK rights) (app §4.1,
    tbl §3.2) [READ]; PLC key levels and code 0x03 [INFERRED]; REQ-SEC-029: TS 104 001 Annex F (clause unknown);
    MEP-DG p.11 (0x0B/0x0C), ET54 p.137 counters (app §4.4, §7) [READ]; generalisation to all codes [INFERRED]."""
    dut = Dut(tc, session, plan)
    read_key = dut.key_for("read")
    tc.require(read_key is not None, "the plan names no key with access 'read': the DUT's read-only level cannot "
                                     "be exercised (PICS_SEC_MULTIKEY is not declarable yet)")
    with dut.step(1):
        dut.sync()
        before = dut.read_state()
    with dut.step(2):
        r, ex = dut.attempt(lambda: session.request(PROBE, key=read_key, resync=False))
        tc.require(r is not None and r.ok, f"precondition: a read with the read key answered {verdict_of(r, ex)}")
    with dut.step(3):
        r, ex = dut.attempt(lambda: session.write(STATE_TABLE, altered(before), key=read_key, resync=False))
        refused = clear_auth_failure(ex) or (r is not None and r.code in (ResponseCode.ISC, AUTH_FAILURE))
        tc.check(refused, f"an ET03 write authenticated by the read key was answered {verdict_of(r, ex)}, neither "
                          "0x03 nor 0x0B (REQ-SEC-028: basic access is read-only for ET03, MEP-DG:576-580; key levels "
                          "rest on ASM-SEC-08)", req="REQ-SEC-028")
        if refused and not (r is not None and r.code == ResponseCode.ISC):
            tc.observe("the DUT refuses a write beyond the read key's rights with 0x0B (authentication failure), "
                       "not 0x03 (no permission): both readings of REQ-SEC-028 conform")
    with dut.step(4):
        dut.check_unchanged(before, "a write authenticated by the read key changed the table "
                                    "(REQ-SEC-028: basic access allows read-only access to ET03, MEP-DG:576-580)")


@testcase(
    id="TC_SEC_KEY_BV_01",
    title="The unicast key usage count grows with every use, verified or not",
    purpose="Ensure that, when the tester sends unicast requests under the DUT's key (accepted ones, one with a "
            "wrong digest and one with a stale sequence number), ET54.82 grows by at least one per request, the "
            "refused ones included (one per request, or one per cryptographic use: REQ-SEC-030 is ambiguous)",
    requirements=["REQ-SEC-030"],
    initial="ET54 (meter status) of a firmware with the key usage fields (3.13, 3.80 and later; MEP-DG p.137, "
            "ASM-TBL-02).",
    steps=[("Read BT00, BT01, ET11 (dimensions), then ET54", "0x00; ET54.82 = u0"),
           ("Read ET54 again", "u1 = u0 + d, d >= 1 (this read)"),
           ("Read BT01 with a wrong digest, then with a replayed sequence number, then read ET54",
            "0x0B, 0x0C, then at least u1 + d + 2: the refused requests count too")],
)
def test_key_usage_counted(tc, session, plan):
    """Sources: REQ-SEC-030: TS 104 001 Annex F (clause unknown); MEP-DG ET54 p.137 (tbl §3.3, §8.13) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
        dims = dut.dims("et11")
        u0 = dut.read_decoded(et(54), USAGE, dims=dims, resync=False).unicast_key_usage_count
    with dut.step(2):
        u1 = dut.read_decoded(et(54), USAGE, dims=dims, resync=False).unicast_key_usage_count
        d = (u1 - u0) % (1 << 32)
        tc.check(d >= 1, f"ET54.82 went from {u0} to {u1} over one accepted request (REQ-SEC-030: 'number of time "
                         "unicast key has been used', MEP-DG:6880-6885)", req="REQ-SEC-030")
        if d > 1:
            tc.observe(f"ET54.82 grows by {d} per answered request: the DUT counts each cryptographic use of the key "
                       "(REQ-SEC-030 reading 2)")
    with dut.step(3):
        s = session.next_seq()
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=s, resync=False, digest_override=bytes(8)))
        tc.require(clear_auth_failure(ex), f"a read with a zeroed digest was answered {verdict_of(r, ex)}, not 0x0B")
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=session.seq, resync=False))
        tc.require(r is not None and r.code == ResponseCode.INVALID_SEQUENCE,
                   f"a read with a replayed sequence number was answered {verdict_of(r, ex)}, not 0x0C")
        u2 = dut.read_decoded(et(54), USAGE, dims=dims, resync=False).unicast_key_usage_count
        grew = (u2 - u1) % (1 << 32)
        tc.check(grew >= max(d, 1) + 2,
                 f"ET54.82 went from {u1} to {u2} (+{grew}) over three requests, one refused for its digest and one "
                 f"for its sequence number, while an answered read adds {d}: at least {max(d, 1) + 2} expected "
                 "(REQ-SEC-030: 'regardless of success or failure', MEP-DG:6880-6885)", req="REQ-SEC-030")


@testcase(
    id="TC_SEC_MODE_CA_01",
    title="ET04 and ET54 declare the security mode in force and the supported modes",
    purpose="Ensure that, when the tester reads ET04 and ET54, the DUT declares in ET04.127 the mode the "
            "campaign runs in (0 RC4, 2 OSGP-AES-128-PSK), sets that mode's bit in ET54.90 and clears reserved "
            "bit 1, lists exactly the modes its PICS declare, and keeps ET04.128 (FCM count) at most 100",
    requirements=["REQ-SEC-021", "REQ-SEC-022", "REQ-SEC-036"],
    initial="ET04 and ET54 readable (MEP-DG p.66-67, p.137; ASM-TBL-02).",
    steps=[("Read BT00, BT01, ET11 (dimensions), ET04 and ET54", "0x00 each"),
           ("Compare ET04.127 with the plan's security.mode", "2 in aes128 mode, else 0"),
           ("Check ET54.90", "the bit of ET04.127's mode set, bit 1 clear; bit 0 = PICS_SEC_RC4, bit 2 = "
            "PICS_SEC_AES"),
           ("Check ET04.128", "at most 100")],
)
def test_security_mode_declared(tc, session, plan):
    """Sources: REQ-SEC-021: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offset 127 p.66-67, ET54 offset 90 p.137
    (app §4.6, tbl §3.3) [READ]; REQ-SEC-022: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offset 127 p.66-67
    (app §4.6) [READ]; REQ-SEC-036: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offset 128 p.67 (tbl §3.3)
    [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
        dims = dut.dims("et11")
        et04 = dut.read_decoded(et(4), ("security_mode", "fcm_count"), dims=dims)
        et54 = dut.read_decoded(et(54), ("supported_security_modes",), dims=dims)
    mode = et04.security_mode
    modes = et54.supported_security_modes
    with dut.step(2):
        expected = MODE_VALUE[plan.security.mode]
        tc.check(mode == expected, f"ET04.127 reads {mode}; the DUT runs in {plan.security.mode} mode, so it should "
                                   f"read {expected} (REQ-SEC-021)", req="REQ-SEC-021")
    with dut.step(3):
        tc.check(mode in modes, f"ET54.90 lists modes {sorted(modes)}, not the mode {mode} of ET04.127 (REQ-SEC-021)",
                 req="REQ-SEC-021")
        tc.check(1 not in modes, "ET54.90 sets reserved bit 1 (REQ-SEC-021)", req="REQ-SEC-021")
        for bit, item in ((0, "PICS_SEC_RC4"), (2, "PICS_SEC_AES")):
            declared = bool(plan.pics.get(item))
            tc.check((bit in modes) == declared,
                     f"ET54.90 bit {bit} is {'set' if bit in modes else 'clear'} but the PICS declare {item} = "
                     f"{declared} (REQ-SEC-021: ET54.90 lists the supported modes, MEP-DG:6886-6891; a PICS-"
                     "consistency check)", req="REQ-SEC-021")
    with dut.step(4):
        tc.check(et04.fcm_count <= 100, f"ET04.128 (FCM messages today) reads {et04.fcm_count} > 100 (REQ-SEC-036)",
                 req="REQ-SEC-036")

