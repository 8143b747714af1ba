"""Sequence-number state across a power interruption (TS 104 001 Annex F; app-layer digest §9 item 5).

The power cycle is a capability of the test harness, not of the protocol: the loopback driver has it
(the reference device's power_cycle); on a bench it needs a driver that switches the DUT's supply.
Without it the case is INCONC, never FAIL.

What is stated is the replay rule (REQ-SEC-010, MEP-DG:488-489: the previous number used again, or a lower
one, gets 0x0C); no source makes a power interruption an exception to it. Persistence itself (REQ-SEC-016)
is NOT FOUND, so how the DUT keeps its number (saved, or resumed further ahead and resynchronised through
0x0C) is the DUT's.
"""

from __future__ import annotations

from osgpct.dut import MOD, Dut
from osgpct.testcase import testcase

LEGACY = '(PICS_SEC_DIGEST or PICS_SEC_RC4) and PICS_SEC_MODE != "aes128"'
HALF = 1 << 31


@testcase(
    id="TC_SEC_SEQ_BO_01",
    title="The sequence number survives a power interruption",
    purpose="Ensure that, when the DUT is switched off and on again after accepting sequence number c, it refuses "
            "c again with 0x0C, does not fall back to a number behind c (so that no number up to c can be "
            "replayed), and accepts the number after the one its 0x0C carries",
    requirements=["REQ-SEC-010", "REQ-SEC-016"],
    pics=LEGACY,
    initial="The harness can power-cycle the DUT (loopback, or a driver that switches the supply)",
    steps=[("Read BT01 (learns the DUT's current sequence number c)", "0x00"),
           ("Power-cycle the DUT (1 s outage)", "the DUT answers again afterwards"),
           ("Read BT01 with c again", "0x0C carrying N, N not behind c (N = c, c+1, or further ahead)"),
           ("If N is behind c: read BT01 with N+1 (at most c, a number the DUT accepted or skipped before)",
            "0x0C: a number up to the last accepted one is not executed again"),
           ("Read BT01 with N+1 (when N is not behind c)", "0x00")],
)
def test_sequence_survives_power_cycle(tc, session, plan):
    """Sources: REQ-SEC-010: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4, §7 TP-SEQ-01, TP-SEQ-03)
    [READ]; REQ-SEC-016: TS 104 001 Annex F (clause unknown); persistence rule (app §9 item 5) [NOT FOUND]."""
    dut = Dut(tc, session, plan)
    tc.require(session.can_power_cycle, "the test harness cannot power-cycle the DUT with this driver "
                                        f"({type(session.driver).__name__}); REQ-SEC-016 needs a switched supply")
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        session.power_cycle(1.0)
    with dut.step(3):
        r = dut.expect_refused(c, None, "the number accepted last, before the power cycle",
                               "REQ-SEC-010: the previous sequence number used again gets 0x0C (MEP-DG:488-489)")
        tc.require(r is not None and r.expected_seq is not None,
                   "no 0x0C carrying a number: the DUT's number after the power cycle cannot be learnt")
        n = r.expected_seq
        behind = 0 < (c - n) % MOD < HALF
        if (n - c) % MOD > 1 and not behind:
            tc.observe(f"after the power cycle the DUT's 0x0C carries {n}, {(n - c) % MOD} ahead of {c}: it resumed "
                       "further ahead (no number is accepted twice that way)")
        tc.check(not behind, f"after the power cycle the 0x0C carries {n}, behind the number {c} accepted before it "
                             "(REQ-SEC-016: the sequence-number state is lost; inferred)", req="REQ-SEC-016")
    with dut.step(4):
        if behind:
            replay = (n + 1) % MOD
            dut.expect_refused(replay, None, f"{(c - replay) % MOD} below the number {c} accepted before the power "
                                             "cycle", "REQ-SEC-010: a number up to the last accepted one is not "
                                                      "executed again")
            return
    with dut.step(5):
        dut.expect_accepted((n + 1) % MOD, f"the number after the {n} the 0x0C carried",
                            "REQ-SEC-016: the DUT serves requests again after the power cycle; inferred")
