"""Sequence-number state across a power interruption (TS 104 001 Annex F; app-layer digest §9 item 5).

The power cycle is a capability of the test harness, not of the protocol: the loopback driver has it
(the reference device's power_cycle); on a bench it needs a driver that switches the DUT's supply.
Without it the case is INCONC, never FAIL.
"""

from __future__ import annotations

from osgpct.dut import MOD, Dut
from osgpct.testcase import testcase

LEGACY = '(PICS_SEC_DIGEST or PICS_SEC_RC4) and PICS_SEC_MODE != "aes128"'


@testcase(
    id="TC_SEC_SEQ_BO_01",
    title="The sequence number survives a power interruption",
    purpose="Ensure that, when the DUT is switched off and on again after accepting sequence number c, it refuses "
            "c again with 0x0C carrying c and accepts c+1: no request accepted before the interruption can be "
            "replayed after it",
    requirements=["REQ-SEC-016"],
    pics=LEGACY,
    initial="The harness can power-cycle the DUT (loopback, or a driver that switches the supply)",
    steps=[("Read BT01 (learns the DUT's current sequence number c)", "0x00"),
           ("Power-cycle the DUT (1 s outage)", "the DUT answers again afterwards"),
           ("Read BT01 with c again", "0x0C carrying c"),
           ("Read BT01 with c+1", "0x00")],
)
def test_sequence_survives_power_cycle(tc, session, plan):
    """Source: REQ-SEC-016: TS 104 001 Annex F (clause unknown); persistence rule (app §9 item 5) [NOT FOUND]:
    the requirement is inferred, so a FAIL names it."""
    dut = Dut(tc, session, plan)
    tc.require(session.can_power_cycle, "the test harness cannot power-cycle the DUT with this driver "
                                        f"({type(session.driver).__name__}); REQ-SEC-016 needs a switched supply")
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        session.power_cycle(1.0)
    with dut.step(3):
        dut.expect_refused(c, c, "the number accepted before the power cycle",
                       "REQ-SEC-016 [inferred]: the sequence number survives a power interruption")
    with dut.step(4):
        dut.expect_accepted((c + 1) % MOD, "the next number after the power cycle",
                        "REQ-SEC-016 [inferred]")
