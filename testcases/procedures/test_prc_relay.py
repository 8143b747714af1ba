"""Remote disconnect and reconnect of the load contactor (TS 104 001 Clauses 7-8, Annex D), and BP08.

The procedure that operates the contactor over power line is NOT FOUND in any readable source: its number is
pixit.disconnect_procedure (default EP02 = 2050) and its parameter a UINT8, 0 open / 1 close (ASM-PRC-06).
Every case waits the 10 s spacing (MEP-DG p.134) before its first operation and leaves the contactor closed and
the BT03 'load disconnect changed state' latch as it found it.
"""

from __future__ import annotations

from osgp.tables.procedures import BP08_CLEAR_MFG_STATUS
from osgpct.dut import (
    CONFLICT,
    MFG_ITEM,
    OK,
    PARTIAL,
    RELAY_SPACING_S,
    TIMING,
    UNKNOWN,
    Dut,
)
from osgpct.testcase import testcase
from osgpct.usecases.control import (
    RELAY_CLOSED,
    RELAY_CLOSING,
    RELAY_OPENED,
    RELAY_OPENING,
    RELAY_PARAMS,
    operate_relay,
    relay_cycle,
    relay_kept_closed,
    relay_spacing,
    relay_status,
    watch_relay,
)

ASM = ("rests on ASM-PRC-06: the disconnect procedure is pixit.disconnect_procedure with a UINT8 0 open / 1 close; "
       "check the PIXIT if the DUT uses another command")
PICS = "PICS_PROCEDURES and PICS_DISCONNECT"
LATCH = "load_disconnect_changed_state"


def runs(values: list[int]) -> str:
    """[3, 3, 2] -> '3 x2, 2'."""
    out: list[str] = []
    for v in values:
        if out and out[-1].split(" x")[0] == str(v):
            n = int(out[-1].split(" x")[1]) + 1 if " x" in out[-1] else 2
            out[-1] = f"{v} x{n}"
        else:
            out.append(str(v))
    return "[" + ", ".join(out) + "]"


@testcase(
    id="TC_PRC_RLY_BV_01",
    title="A remote disconnect opens the contactor and a remote connect closes it again",
    purpose="Ensure that, when the tester disconnects the load by the disconnect procedure and 10 s later connects "
            "it again, and the DUT accepts each command (result 0; another result leaves the case inconclusive: the "
            "command is NOT FOUND, ASM-PRC-06), ET23.94 goes from 3 (opening) to 2 (opened), the BT03 'load "
            "disconnect changed state' flag is set, then ET23.94 goes from 1 (closing) to 0 (closed), never reading "
            "a value outside 0-3",
    requirements=["REQ-PRC-036", "REQ-PRC-037"],
    pics=PICS,
    pixit=["disconnect_procedure"],
    initial="The contactor is closed (ET23.94 = 0)",
    steps=[("Read ET23.94; wait 10 s (spacing from any earlier operation)", "0 (closed)"),
           ("Disconnect (procedure parameter 0)", "result 0 (else INCONC, ASM-PRC-06)"),
           ("Read ET23.94 until it reads 2 (at most 30 s)", "3 (opening) then 2 (opened); nothing else"),
           ("Read BT03", "'load disconnect changed state' set"),
           ("Wait 10 s; connect (parameter 1)", "result 0 (else INCONC, ASM-PRC-06)"),
           ("Read ET23.94 until it reads 0 (at most 30 s)", "1 (closing) then 0 (closed); nothing else")],
)
def test_disconnect_reconnect(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8, Annex D (clause unknown); MEP-DG p.96 ET23.94, OPG p.46 BT03 (tbl §8.17,
    §9.6, §11.5 AL-02) [READ]; command not found, see ASM-PRC-06."""
    dut = Dut(tc, session, plan)
    dut.require_table(2048 + 23, "ET23.94 disconnect status")
    with dut.mfg_latch_kept(LATCH), relay_kept_closed(dut):
        with tc.step(1):
            relay_spacing(dut)
        with tc.step(2):
            res = dut.posted(operate_relay(dut, close=False), "disconnect")
            # The command itself is NOT FOUND (ASM-PRC-06, docs/requirements.md): a DUT that does not accept it
            # may use another one; only a command the DUT accepted (result 0) and did not carry out is a FAIL.
            tc.require(res.result == OK, f"disconnect posted {res.result} ({res.meaning}), not 0: the DUT did not "
                       f"accept the command ({ASM})")
        with tc.step(3):
            seen = watch_relay(dut, RELAY_OPENED)
            tc.check(all(0 <= v <= 3 for v in seen), f"after the disconnect ET23.94 read {runs(seen)}: a value outside "
                     "0-3", req="REQ-PRC-037")
            tc.check(all(v in (RELAY_OPENING, RELAY_OPENED) for v in seen), f"after the disconnect ET23.94 read "
                     f"{runs(seen)}: only 3 (opening) then 2 (opened) are expected", req="REQ-PRC-036")
            tc.check(seen[-1] == RELAY_OPENED, f"the disconnect was accepted (result 0) but ET23.94 never read 2 "
                     f"(opened): {runs(seen)}", stop=True, req="REQ-PRC-036")
        with tc.step(4):
            tc.check(MFG_ITEM[LATCH] in dut.bt03_mfg(), "after the disconnect the BT03 'load disconnect changed "
                     "state' flag is clear", req="REQ-PRC-036")
        with tc.step(5):
            relay_spacing(dut)
            res = dut.posted(operate_relay(dut, close=True), "connect")
            tc.require(res.result == OK, f"connect posted {res.result} ({res.meaning}), not 0: the DUT did not accept "
                       f"the command ({ASM})")
        with tc.step(6):
            seen = watch_relay(dut, RELAY_CLOSED)
            tc.check(all(v in (RELAY_CLOSING, RELAY_CLOSED) for v in seen), f"after the connect ET23.94 read "
                     f"{runs(seen)}: only 1 (closing) then 0 (closed) are expected", req="REQ-PRC-037")
            tc.check(seen[-1] == RELAY_CLOSED, f"the connect was accepted (result 0) but ET23.94 never read 0 "
                     f"(closed): {runs(seen)}", req="REQ-PRC-037")


@testcase(
    id="TC_PRC_RLY_BO_01",
    title="A second contactor operation within 10 s is refused (result 4 or 3) or carried out only 10 s later",
    purpose="Ensure that, when the tester connects the load right after disconnecting it, the DUT either refuses "
            "the connect (result 4 timing constraint, or 3 conflict: REQ-PRC-010 is ambiguous) or defers it, and in "
            "no case closes the contactor less than 10 s after it opened",
    requirements=["REQ-PRC-038", "REQ-PRC-010"],
    pics=PICS,
    pixit=["disconnect_procedure"],
    initial="The contactor is closed (ET23.94 = 0)",
    steps=[("Read ET23.94; wait 10 s (spacing from any earlier operation)", "0 (closed)"),
           ("Disconnect; read ET23.94", "result 0; 3 (opening) or 2 (opened)"),
           ("Connect at once", "result 4 or 3 (refused), or 0/1 (deferred)"),
           ("Read ET23.94 until 10 s after the disconnect was sent", "never 1 (closing) or 0 (closed)"),
           ("Connect again if it was refused; read ET23.94 until 0", "0 (closed)")],
)
def test_operations_spacing(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.134 (tbl §8.17, §9.6, §11.5 DC-01) [READ];
    result 4 per MEP-DG p.51, C12.19 (tbl §5.3, §11.3 PR-04) [READ]; command ASM-PRC-06."""
    dut = Dut(tc, session, plan)
    dut.require_table(2048 + 23, "ET23.94 disconnect status")
    with dut.mfg_latch_kept(LATCH), relay_kept_closed(dut):
        with tc.step(1):
            relay_spacing(dut)
        with tc.step(2):
            sent = dut.session.clock.now()
            c = operate_relay(dut, close=False)
            tc.require(c.echoed and c.result.result == OK, f"disconnect: {c.describe()} ({ASM})")
            v = relay_status(dut)
            tc.require(v in (RELAY_OPENING, RELAY_OPENED), f"after the disconnect ET23.94 reads {v}, not 3 or 2: the "
                       "contactor did not open (REQ-PRC-036), so the spacing cannot be observed")
        with tc.step(3):
            c2 = operate_relay(dut, close=True)
            tc.require(c2.accepted and c2.echoed, f"connect: {c2.describe()}")
            tc.check(c2.result.result in (OK, PARTIAL, TIMING, CONFLICT), f"the connect 0 s after a disconnect posted "
                     f"result {c2.result.result} ({c2.result.meaning}): neither a refusal (4 timing constraint, 3 "
                     "conflict) nor accepted to be carried out later (0/1)", req="REQ-PRC-010")
        with tc.step(4):
            early = []
            while True:
                start = dut.session.clock.now()
                v = relay_status(dut)
                end = dut.session.exchanges[-1].finished or start
                if end >= sent + RELAY_SPACING_S:
                    break
                if v in (RELAY_CLOSING, RELAY_CLOSED):
                    early.append((round(end - sent, 2), v))
                dut.wait(1.0, "the 10 s spacing after the disconnect")
            tc.check(not early, f"the contactor was closing/closed less than 10 s after the disconnect was sent "
                     f"(s after, ET23.94): {early}", req="REQ-PRC-038")
        with tc.step(5):
            deferred = c2.result.result in (OK, PARTIAL)
            if not deferred:
                relay_spacing(dut)
                c3 = operate_relay(dut, close=True)
                tc.require(c3.echoed and c3.result.result == OK, f"connect after 10 s: {c3.describe()}")
            seen = watch_relay(dut, RELAY_CLOSED)
            if deferred:
                tc.check(seen[-1] == RELAY_CLOSED, f"the connect accepted within the 10 s (result "
                         f"{c2.result.result}) was never carried out: ET23.94 read {runs(seen)}", req="REQ-PRC-010")
            else:
                tc.require(seen[-1] == RELAY_CLOSED, f"the connect sent after the 10 s did not close the contactor: "
                           f"ET23.94 read {runs(seen)} (REQ-PRC-037, judged by TC_PRC_RLY_BV_01)")


@testcase(
    id="TC_PRC_RLY_BI_01",
    title="The disconnect procedure with an undefined command is refused and leaves the contactor alone",
    purpose="Ensure that, when the tester starts the disconnect procedure with command 7 (neither 0 open nor 1 "
            "close), the DUT refuses it (result 2; or 3-5, or a non-zero response code to the BT07 write: "
            "REQ-PRC-008 is ambiguous) and ET23.94 stays 0 (closed)",
    requirements=["REQ-PRC-008"],
    pics=PICS,
    pixit=["disconnect_procedure"],
    initial="The contactor is closed (ET23.94 = 0)",
    steps=[("Read ET23.94; wait 10 s", "0 (closed)"), ("Disconnect procedure with command 7", "refused (result 2)"),
           ("Read ET23.94 for 5 s", "0 (closed) throughout")],
)
def test_relay_bad_command(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.51, C12.19 result codes (tbl §5.3,
    §11.3 PR-04) [READ]; command layout ASM-PRC-06."""
    dut = Dut(tc, session, plan)
    dut.require_table(2048 + 23, "ET23.94 disconnect status")
    with dut.mfg_latch_kept(LATCH), relay_kept_closed(dut):
        with tc.step(1):
            relay_spacing(dut)
        with tc.step(2):
            c = dut.call(dut.pixit.disconnect_procedure, RELAY_PARAMS.encode({"command": 7}, dut.dims()))
            tc.require(not c.accepted or c.echoed, f"disconnect procedure with command 7: {c.describe()}; BT08 does "
                       "not hold its result (REQ-PRC-003)")
            tc.require(not (c.accepted and c.result.result == UNKNOWN), f"the disconnect procedure is unknown to the "
                       f"DUT ({c.describe()}): {ASM}")
            tc.check(c.refused, f"command 7 was not refused: {c.describe()} (a refusal is result 2 'invalid "
                     f"parameter', or 3-5, or a non-zero response code) ({ASM})", req="REQ-PRC-008")
        with tc.step(3):
            seen = [relay_status(dut)]
            for _ in range(5):
                dut.wait(1.0, "a contactor reaction to the refused command")
                seen.append(relay_status(dut))
            tc.check(all(v == RELAY_CLOSED for v in seen), f"after the refused command ET23.94 read {seen}",
                     req="REQ-PRC-008")


@testcase(
    id="TC_PRC_BP08_BV_01",
    title="BP08 clears the BT03 'load disconnect changed state' flag once the contactor is back",
    purpose="Ensure that, when the contactor has been disconnected and connected again (setting the BT03 'load "
            "disconnect changed state' flag), BP08 (clear manufacturer status flags) posts result 0 and the flag "
            "reads clear afterwards",
    requirements=["REQ-PRC-022"],
    pics=PICS,
    pixit=["disconnect_procedure"],
    initial="The contactor is closed (ET23.94 = 0)",
    steps=[("Disconnect and, 10 s later, connect again", "the contactor is closed; the flag is set"),
           ("Start BP08", "result 0"), ("Read BT03", "the flag is clear")],
)
def test_bp08_clears_latch(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 procedure names, OPG p.45-47 (tbl §9.4)
    [READ]; latched vs live per flag (tbl §12 item 12) [NOT FOUND]."""
    dut = Dut(tc, session, plan)
    dut.require_table(2048 + 23, "ET23.94 disconnect status")
    dut.require_procedure(BP08_CLEAR_MFG_STATUS)
    with relay_kept_closed(dut):
        with tc.step(1):
            relay_spacing(dut)
            cycle = relay_cycle(dut)
            tc.require(cycle.closing and cycle.closing[-1] == RELAY_CLOSED,
                       f"disconnect/connect did not complete: {cycle.open_call.describe()}, ET23.94 {cycle.opening}, "
                       f"{cycle.close_call.describe() if cycle.close_call else 'no connect'}, {cycle.closing}")
            tc.require(MFG_ITEM[LATCH] in dut.bt03_mfg(), "the 'load disconnect changed state' flag is not set after "
                       "a disconnect/connect cycle (REQ-PRC-036): nothing for BP08 to clear")
        with tc.step(2):
            res = dut.run(BP08_CLEAR_MFG_STATUS, what="BP08")
            tc.check(res.result == OK, f"BP08 posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-022")
        with tc.step(3):
            after = dut.bt03_mfg()
            tc.check(MFG_ITEM[LATCH] not in after, "after BP08 the 'load disconnect changed state' flag is still set "
                     "although the contactor is closed again", req="REQ-PRC-022")
