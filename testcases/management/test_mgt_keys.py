"""Key management (TS 104 001 Annex F): a key change takes effect, a key change that does not authenticate
changes nothing, a key never travels in clear.

How a power-line DUT changes keys is NOT FOUND (ASM-MGT-03): the suite drives the reference device's EP80
(key id + 16-byte key, ASM-DEV-03) when pixit.key_change = ep80, and is inconclusive otherwise. A key only
travels in an encrypted request (ASM-DEV-03), so a campaign in digest mode cannot change keys: the cases that
need a successful change are not applicable there. Every case puts the plan's full key back, also when it stops
early.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from osgp.app import ResponseCode
from osgpct.dut import NO_AUTH, OK, Dut
from osgpct.testcase import testcase
from osgpct.usecases.admin import change_key, full_key, key_works, new_key, put_key_back, require_ep80

ASM = "rests on ASM-MGT-03/ASM-DEV-03 (key change by EP80, pixit.key_change = ep80)"
LATCH = "invalid_password"  # set by the 0x0B answers these cases provoke; cleared again (BP08) if it was clear


@contextlib.contextmanager
def _key_kept(tc, dut: Dut, old: bytes, other: bytes, step: int) -> Iterator[None]:
    """Run the block; then, in step ``step``, make sure the plan's full key is in force again."""
    try:
        yield
    finally:
        with tc.step(step):
            put_key_back(dut, old, [other])
            r = key_works(dut, old)
            tc.require(r.ok, f"after the case the plan's full key answers {r.describe()}")




@testcase(
    id="TC_MGT_KEY_BV_01",
    title="After a key change the old key is refused and the new one accepted",
    purpose="Ensure that, when the tester changes the DUT's full key to a new value, the DUT answers requests "
            "digested with the old key 0x0B and executes requests digested with the new key",
    requirements=["REQ-MGT-026"],
    pics='PICS_KEY_CHANGE and PICS_SEC_MODE != "digest"',
    pixit=["key_change"],
    initial="The plan's full key is in force; it is put back at the end",
    steps=[("Read BT01 with the plan's full key", "0x00"),
           ("Change the full key to a new random key (EP80, encrypted)", "0x00; BT08 (read with the new key) result 0"),
           ("Read BT01 with the old key", "0x0B"), ("Read BT01 with the new key", "0x00 and BT01"),
           ("Change the full key back (EP80 under the new key)", "result 0; the plan's key works again")],
)
def test_key_change(tc, session, plan):
    """Source: TS 104 001 Annex F key management (clause unknown); key-change messages (app §4.7, §9 item 7)
    [NOT FOUND]; 14908 key update by replace/increment, lon-stack-ex (app §3) [READ]."""
    dut = Dut(tc, session, plan)
    require_ep80(dut)
    old = full_key(dut)
    new = new_key(dut, old)
    with tc.step(1):
        r = key_works(dut, None)
        tc.require(r.ok, f"BT01 read with the plan's full key answered {r.describe()}")
    with dut.mfg_latch_kept(LATCH), _key_kept(tc, dut, old, new, 5):
        with tc.step(2):
            kc = change_key(dut, "full", new)
            tc.require(kc.result is not None, f"key change: {kc.describe()} ({ASM})")
            tc.check(kc.done, f"key change: {kc.describe()} ({ASM})", req="REQ-MGT-026", stop=True)
        with tc.step(3):
            r = key_works(dut, old)
            tc.check(r.code == ResponseCode.AUTH_FAILURE, f"after the key change a read digested with the old key "
                     f"answered {r.describe()}, not 0x0B", req="REQ-MGT-026")
        with tc.step(4):
            r = key_works(dut, new)
            tc.check(r.ok, f"after the key change a read digested with the new key answered {r.describe()}",
                     req="REQ-MGT-026")


@testcase(
    id="TC_MGT_KEY_BI_01",
    title="A key change that does not authenticate leaves the current key in force",
    purpose="Ensure that, when the tester sends a key change digested with a key the DUT does not hold, the DUT "
            "answers 0x0B, keeps executing requests under its current key and refuses the key that was proposed",
    requirements=["REQ-MGT-027"],
    pics="PICS_KEY_CHANGE",
    pixit=["key_change"],
    steps=[("Key change (EP80) to key N, digested with a wrong key W", "0x0B"),
           ("Read BT01 with the plan's full key", "0x00"),
           ("Read BT01 with N", "0x0B"),
           ("If N were in force: change the key back", "-")],
)
def test_key_change_bad_digest(tc, session, plan):
    """Source: TS 104 001 Annex F key management (clause unknown); key-change messages (app §4.7) [NOT FOUND]."""
    dut = Dut(tc, session, plan)
    require_ep80(dut)
    old = full_key(dut)
    proposed = new_key(dut, old)
    wrong = new_key(dut, old)
    with dut.mfg_latch_kept(LATCH), _key_kept(tc, dut, old, proposed, 4):
        with tc.step(1):
            kc = change_key(dut, "full", proposed, under=wrong)
            tc.check(kc.write.code == ResponseCode.AUTH_FAILURE, f"a key change digested with a key the DUT does not "
                     f"hold answered {kc.write.describe()}, not 0x0B", req="REQ-MGT-027")
        with tc.step(2):
            r = key_works(dut, None)
            tc.check(r.ok, f"after the refused key change the current key answers {r.describe()}",
                     req="REQ-MGT-027")
        with tc.step(3):
            r = key_works(dut, proposed)
            tc.check(r.code == ResponseCode.AUTH_FAILURE, f"after the refused key change the proposed key answers "
                     f"{r.describe()}: the change took effect", req="REQ-MGT-027")


@testcase(
    id="TC_MGT_KEY_BI_02",
    title="A key change sent without encryption is refused with result 5",
    purpose="Ensure that, when the tester sends the key change in a request that is digested but not encrypted, "
            "the DUT posts result 5 (no authorisation) and its key stays the same",
    requirements=["REQ-PRC-011", "REQ-MGT-027"],
    pics='PICS_KEY_CHANGE and PICS_SEC_MODE == "rc4"',
    pixit=["key_change"],
    steps=[("Key change (EP80) to key N in a digest-only (not RC4-encrypted) request", "0x00; BT08 result 5"),
           ("Read BT01 with the plan's full key", "0x00"), ("Read BT01 with N", "0x0B"),
           ("If N were in force: change the key back", "-")],
)
def test_key_change_in_clear(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.51, C12.19 result codes (tbl §5.3, §11.3
    PR-04) [READ]; a key never travels in clear: ASM-DEV-03 (pixit.key_change = ep80)."""
    dut = Dut(tc, session, plan)
    require_ep80(dut)
    old = full_key(dut)
    proposed = new_key(dut, old)
    with dut.mfg_latch_kept(LATCH), _key_kept(tc, dut, old, proposed, 4):
        with tc.step(1):
            kc = change_key(dut, "full", proposed, encrypt=False)
            tc.require(kc.write.ok and kc.result is not None, f"key change in clear: {kc.describe()}")
            # that a key in clear is "not authorised" is our design (ASM-DEV-03): REQ-MGT-027, a deviation
            tc.check(kc.result.result == NO_AUTH, f"a key change sent in clear posted result {kc.result.result} "
                     f"({kc.result.meaning}), not 5 (no authorisation) ({ASM})", req="REQ-MGT-027")
            if kc.result.result == OK:
                tc.observe("the new key travelled in clear and was accepted")
        # after result 5 the change must have had no effect (REQ-PRC-011, stated); after any other result the key
        # staying is our design (REQ-MGT-027)
        effect = "REQ-PRC-011" if kc.result.result == NO_AUTH else "REQ-MGT-027"
        with tc.step(2):
            r = key_works(dut, None)
            tc.check(r.ok, f"after the key change in clear (result {kc.result.result}) the current key answers "
                     f"{r.describe()}", req=effect)
        with tc.step(3):
            r = key_works(dut, proposed)
            tc.check(r.code == ResponseCode.AUTH_FAILURE, f"the key sent in clear answers {r.describe()} after result "
                     f"{kc.result.result}: the change took effect", req=effect)
