"""Pending-table procedures BP12-BP15 (TS 104 001 Clause 5, Annex C; OPG p.8-12).

Each case puts changed copies of two harmless tables (ET03 utility serial number, BT54 calendar id) in pending
form with PEDs weeks away, acts on them with the procedure under test, then clears whatever it left pending and
writes both tables back as they were.
"""

from __future__ import annotations

from osgp.app import bt
from osgp.tables import Ped
from osgp.tables.procedures import (
    BP12_ACTIVATE_ALL_PENDING,
    BP13_ACTIVATE_SPECIFIC_PENDING,
    BP14_CLEAR_ALL_PENDING,
    BP15_CLEAR_SPECIFIC_PENDING,
)
from osgpct.dut import (
    BAD_PARAM,
    OK,
    PARTIAL,
    UNKNOWN,
    Dut,
    same_content,
)
from osgpct.testcase import testcase
from osgpct.usecases.control import (
    PED_A,
    PED_B,
    PED_UNUSED,
    is_pending,
    pend,
    pending_candidates,
    pending_records,
    unpend,
)

PICS = "PICS_PENDING"


def _check_activated(tc, dut: Dut, change, activated: bool, why: str, req: str) -> None:
    now = dut.read_decoded(change.table_id)
    pending_now = is_pending(dut, change.table_id)
    if activated:
        tc.check(same_content(now, change.changed), f"{why}: {change.name} does not hold the pending content",
                 req=req)
        tc.check(not pending_now, f"{why}: BT04 still lists {change.name} as pending", req=req)
    else:
        tc.check(same_content(now, change.before), f"{why}: {change.name} changed although it was not to be "
                 "activated", req=req)


@testcase(
    id="TC_PRC_PND_BV_01",
    title="BP12 activates every pending table, manual (PED code 2) ones included",
    purpose="Ensure that, when two tables are pending, one with a manual PED (code 2) and one with a relative PED "
            "weeks away, BP12 posts result 0 and the DUT activates both at once: each base table holds its pending "
            "content and BT04 lists neither as pending",
    requirements=["REQ-PRC-027"],
    pics=PICS,
    initial="ET03 and BT54 writable and not pending",
    steps=[("Read ET03 and BT54", "0x00"),
           ("Write pending ET03 (manual PED) and pending BT54 (relative PED, weeks away)", "0x00; BT04 lists both"),
           ("Start BP12", "result 0"),
           ("Read ET03, BT54 and BT04", "both hold the pending content; neither is still pending"),
           ("Clear what is pending, write ET03 and BT54 back", "0x00")],
)
def test_bp12_activate_all(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.10 (tbl §5.4, §11.3 PR-11) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP12_ACTIVATE_ALL_PENDING)
    with tc.step(1):
        a, b = pending_candidates(dut)[:2]
    try:
        with tc.step(2):
            pend(dut, a, Ped.manual())
            pend(dut, b, PED_B)
        with tc.step(3):
            res = dut.run(BP12_ACTIVATE_ALL_PENDING, what="BP12")
            tc.check(res.result == OK, f"BP12 posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-027")
        with tc.step(4):
            _check_activated(tc, dut, a, True, "after BP12 (manual PED)", "REQ-PRC-027")
            _check_activated(tc, dut, b, True, "after BP12 (relative PED weeks away)", "REQ-PRC-027")
    finally:
        with tc.step(5):
            unpend(dut, [a, b])


@testcase(
    id="TC_PRC_PND_BV_02",
    title="BP13 activates only the pending tables whose PED matches",
    purpose="Ensure that, when two tables are pending with different PEDs A and B, BP13 with PED A posts result 0 "
            "and the DUT activates the table with PED A only; the other stays pending and its base table unchanged",
    requirements=["REQ-PRC-028"],
    pics=PICS,
    steps=[("Read ET03 and BT54", "0x00"),
           ("Write pending ET03 with PED A and pending BT54 with PED B", "0x00; BT04 lists both"),
           ("Start BP13 with PED A", "result 0"),
           ("Read ET03, BT54 and BT04", "ET03 activated; BT54 unchanged and still pending with PED B"),
           ("Clear what is pending, write the tables back", "0x00")],
)
def test_bp13_activate_specific(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.10 (tbl §5.4, §11.3 PR-11) [READ]; parameter
    layout in ASM-PRC-04."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP13_ACTIVATE_SPECIFIC_PENDING)
    with tc.step(1):
        a, b = pending_candidates(dut)[:2]
    try:
        with tc.step(2):
            pend(dut, a, PED_A)
            pend(dut, b, PED_B)
        with tc.step(3):
            res = dut.run(BP13_ACTIVATE_SPECIFIC_PENDING, {"ped": PED_A}, what="BP13 with PED A")
            tc.require(res.result not in (BAD_PARAM, UNKNOWN), f"BP13 with a PED posted {res.result} ({res.meaning}): "
                       "the DUT may select the tables by another parameter (REQ-PRC-028 reading 2; the PED parameter "
                       "is ASM-PRC-04), so what it activates cannot be judged")
            tc.check(res.result == OK, f"BP13 posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-028")
        with tc.step(4):
            _check_activated(tc, dut, a, True, "after BP13 with its PED", "REQ-PRC-028")
            _check_activated(tc, dut, b, False, "after BP13 with another PED", "REQ-PRC-028")
            tc.check(is_pending(dut, b.table_id, PED_B),
                     f"after BP13 with PED A, {b.name} (PED B) is no longer pending", req="REQ-PRC-028")
    finally:
        with tc.step(5):
            unpend(dut, [a, b])


@testcase(
    id="TC_PRC_PND_BV_03",
    title="BP14 clears every pending table and leaves the base tables as they are",
    purpose="Ensure that, when two tables are pending, BP14 posts result 0, BT04 then lists no pending table and "
            "both base tables keep their content",
    requirements=["REQ-PRC-029"],
    pics=PICS,
    steps=[("Read ET03 and BT54", "0x00"),
           ("Write pending ET03 (manual PED) and pending BT54 (relative PED)", "0x00; BT04 lists both"),
           ("Start BP14", "result 0"),
           ("Read BT04, ET03 and BT54", "no table still pending; ET03 and BT54 unchanged"),
           ("Clear what is pending, write the tables back", "0x00")],
)
def test_bp14_clear_all(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.10-12 (tbl §5.4, §9.9) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP14_CLEAR_ALL_PENDING)
    with tc.step(1):
        a, b = pending_candidates(dut)[:2]
    try:
        with tc.step(2):
            pend(dut, a, Ped.manual())
            pend(dut, b, PED_A)
        with tc.step(3):
            res = dut.run(BP14_CLEAR_ALL_PENDING, what="BP14")
            tc.check(res.result == OK, f"BP14 posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-029")
        with tc.step(4):
            bt04 = dut.read_decoded(bt(4))
            left = [f"{r.table_number} ({r.ped})" for r in bt04.activations if r.still_pending]
            tc.check(not left, f"after BP14 BT04 still lists pending tables: {left}", req="REQ-PRC-029")
            if bt04.std_pending or bt04.mfg_pending:  # OPG:456-459 also reads as "has a pending form" (REQ-TBL-012)
                tc.observe(f"after BP14 the BT04 pending bitmaps still flag {sorted(bt04.std_pending)} / "
                           f"{sorted(bt04.mfg_pending)} with no pending record: the capability reading of REQ-TBL-012")
            _check_activated(tc, dut, a, False, "after BP14", "REQ-PRC-029")
            _check_activated(tc, dut, b, False, "after BP14", "REQ-PRC-029")
    finally:
        with tc.step(5):
            unpend(dut, [a, b])


@testcase(
    id="TC_PRC_PND_BV_04",
    title="BP15 clears the pending state of the tables whose PED matches, and posts 1 when none does",
    purpose="Ensure that, when two tables are pending with PEDs A and B, BP15 with PED A posts result 0, the table "
            "with PED A is no longer pending and its base table is unchanged, the other stays pending; and that BP15 "
            "with a PED no table carries posts result 1",
    requirements=["REQ-PRC-030"],
    pics=PICS,
    steps=[("Read ET03 and BT54", "0x00"),
           ("Write pending ET03 with PED A and pending BT54 with PED B", "0x00; BT04 lists both"),
           ("Start BP15 with PED A", "result 0"),
           ("Read BT04, ET03", "ET03 no longer pending and unchanged; BT54 still pending with PED B"),
           ("Start BP15 with a PED no table carries", "result 1"),
           ("Clear what is pending, write the tables back", "0x00")],
)
def test_bp15_clear_specific(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.12 (tbl §5.4, §11.3 PR-12) [READ]; number BP15
    is not stated, see ASM-PRC-04."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP15_CLEAR_SPECIFIC_PENDING)
    with tc.step(1):
        a, b = pending_candidates(dut)[:2]
    try:
        with tc.step(2):
            pend(dut, a, PED_A)
            pend(dut, b, PED_B)
        with tc.step(3):
            res = dut.run(BP15_CLEAR_SPECIFIC_PENDING, {"ped": PED_A}, what="BP15 with PED A")
            tc.require(res.result not in (BAD_PARAM, UNKNOWN), f"BP15 with a PED posted {res.result} ({res.meaning}): "
                       "the PED-matching clear of OPG p.12 may have another number than 15 (ASM-PRC-04), so it cannot "
                       "be judged")
            tc.check(res.result == OK, f"BP15 posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-030")
        with tc.step(4):
            tc.check(not is_pending(dut, a.table_id, PED_A), f"after BP15 with PED A, {a.name} is still pending",
                     req="REQ-PRC-030")
            _check_activated(tc, dut, a, False, "after BP15", "REQ-PRC-030")
            tc.check(is_pending(dut, b.table_id, PED_B), f"after BP15 with PED A, {b.name} (PED B) is no longer "
                     "pending", req="REQ-PRC-030")
        with tc.step(5):
            res = dut.run(BP15_CLEAR_SPECIFIC_PENDING, {"ped": PED_UNUSED}, what="BP15 with an unused PED")
            tc.check(res.result == PARTIAL, f"BP15 with a PED no pending table carries posted {res.result} "
                     f"({res.meaning}), not 1 ('No pending table was found that matched the request', OPG:530)",
                     req="REQ-PRC-030")
            tc.observe(f"pending records left: {len(pending_records(dut))}")
    finally:
        with tc.step(6):
            unpend(dut, [a, b])
