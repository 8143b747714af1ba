"""The BT07/BT08 procedure mechanism: numbering, echo of number and PSN, result codes, repeated PSN,
unknown procedures, invalid parameters, authorisation (TS 104 001 Clause 5, Annexes C-D).

Procedures used to probe the mechanism are chosen so that they change nothing on the DUT: numbers the DUT's
BT00 does not list (unknown procedures), BP15 with a PED no pending table carries, EP16 by 0 s.
"""

from __future__ import annotations

from osgp.app import ResponseCode, bt
from osgp.tables import Ped, decode_procedure_response, procedure
from osgp.tables.procedures import (
    BP04_RESET_LIST_POINTERS,
    BP05_UPDATE_LAST_READ,
    BP10_SET_DATE_TIME,
    BP15_CLEAR_SPECIFIC_PENDING,
)
from osgpct.dut import (
    BAD_PARAM,
    CONFLICT,
    EP,
    EP16_CLOCK_DELTA,
    OK,
    PARTIAL,
    POST_DELAY_S,
    REFUSALS,
    UNKNOWN,
    Dut,
    procedure_name,
    set_to,
)
from osgpct.testcase import testcase
from osgpct.usecases.control import slew_status
from osgpct.usecases.metering import lp_status

from .test_prc_clock import local_offset_s, restore_clock_either
from .test_prc_lists import check_log_untouched, clear_overflow, overflowed_log

#: A basic (standard, MFG flag clear) procedure number that no edition of C12.19 defines: the standard procedures
#: "comply with the ANSI C12.19-1997 specification" (MEP-DG:2293), whose procedures are numbered far below it, so no
#: DUT can implement it as a standard procedure (REQ-PRC-006).
NO_STANDARD_BP = 2000
#: A PED that no pending table of the campaign carries (relative, 9 weeks 6 days 23:59:58)
UNUSED_PED = Ped.relative(weeks=9, days=6, hours=23, minutes=59, seconds=58)


def unlisted(dut: Dut, extended: bool) -> int:
    return dut.unlisted_procedure(extended)


def harmless_known(dut: Dut) -> list[tuple[int, bytes, str]]:
    """Listed procedures that change nothing with these parameters."""
    out = []
    if dut.lists_procedure(BP15_CLEAR_SPECIFIC_PENDING):
        out.append((BP15_CLEAR_SPECIFIC_PENDING, procedure(15).encode_params({"ped": UNUSED_PED}),
                    "BP15 with a PED no pending table carries"))
    if dut.lists_procedure(EP16_CLOCK_DELTA):
        out.append((EP16_CLOCK_DELTA, procedure(EP16_CLOCK_DELTA).encode_params({"delta": 0}), "EP16 by 0 s"))
    return out


@testcase(
    id="TC_PRC_BT08_BV_01",
    title="BT08 echoes the number and PSN of the procedure written to BT07, with a C12.19 result code",
    purpose="Ensure that, when the tester starts basic and extended procedures by full writes of BT07, the DUT "
            "posts in BT08 the procedure number (2048 + n for EPn) and PSN written, a result code 0-6 and no more "
            "response data than BT00 MAX_RESP_DATA_LEN",
    requirements=["REQ-PRC-001", "REQ-PRC-002", "REQ-PRC-003", "REQ-PRC-005", "REQ-PRC-015"],
    pics="PICS_PROCEDURES",
    initial="DUT reachable with the full key; no pending table carries the PED used by BP15",
    steps=[("Read BT00: procedure bitmaps and MAX_RESP_DATA_LEN", "0x00, BT00 decodes"),
           ("Start a basic procedure that changes nothing (BP15 with an unused PED, else an unlisted BP) by a "
            "full write of BT07", "0x00; BT08 shows that number and PSN, result 0-6, data <= MAX_RESP_DATA_LEN"),
           ("Start an extended procedure (EP16 by 0 s, else an unlisted EP: number 2048 + n)",
            "0x00; BT08 shows 2048 + n and the PSN, result 0-6, data <= MAX_RESP_DATA_LEN"),
           ("Repeat both with new PSNs", "each BT08 echoes its own call")],
)
def test_bt08_echo(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.49-51, OPG p.12, EP17 = 0x0811 example
    p.51, C12.19 (termineter, Aclara) (tbl §2.1, §5.1-5.3, §11.3 PR-02) [READ]; BT00 offset 10 OPG p.48."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        max_resp = dut.bt00().max_resp_data_len
    known = harmless_known(dut)
    basic = next(((n, p, w) for n, p, w in known if n < EP), (unlisted(dut, False), b"", "an unlisted BP"))
    ext = next(((n, p, w) for n, p, w in known if n >= EP), (unlisted(dut, True), b"", "an unlisted EP"))

    def probe(number: int, params: bytes, what: str) -> None:
        c = dut.call(number, params)
        tc.check(c.accepted, f"{what}: BT07 full write answered {c.write.describe()} (REQ-PRC-001)", stop=True,
                 req="REQ-PRC-001")
        tc.require(c.result is not None, f"{what}: BT08 not readable or shorter than 4 bytes")
        r = c.result
        tc.check(r.number == number, f"{what}: BT08 shows procedure {r.number} ({procedure_name(r.number)}), "
                 f"not {number} ({procedure_name(number)}) (REQ-PRC-002/003)", req="REQ-PRC-002")
        tc.check(r.psn == c.psn, f"{what}: BT08 shows PSN {r.psn}, not the PSN {c.psn} written (REQ-PRC-003)",
                 req="REQ-PRC-003")
        tc.check(0 <= r.result <= 6 or r.meaning is not None,
                 f"{what}: result code {r.result} is none of the C12.19 codes 0-6 (REQ-PRC-005)", req="REQ-PRC-005")
        tc.check(len(r.data) <= max_resp, f"{what}: {len(r.data)} bytes of response data exceed BT00 "
                 f"MAX_RESP_DATA_LEN {max_resp} (REQ-PRC-015)", req="REQ-PRC-015")
        tc.observe(c.describe())

    with tc.step(2, title=f"Start {basic[2]} ({procedure_name(basic[0])}) by a full write of BT07"):
        probe(*basic)
    with tc.step(3, title=f"Start {ext[2]} ({procedure_name(ext[0])}, number {ext[0]})"):
        probe(*ext)
    with tc.step(4):
        probe(*basic)
        probe(*ext)


@testcase(
    id="TC_PRC_BT08_TI_01",
    title="The result of a procedure is in BT08 within 1 s of the BT07 write",
    purpose="Ensure that, when a BT07 write starting a procedure has been answered, the DUT posts that "
            "procedure's result (its number and PSN) in BT08 no later than 1 s afterwards",
    requirements=["REQ-PRC-004", "REQ-PRC-003"],
    pics="PICS_PROCEDURES",
    steps=[("Start an unlisted (unknown) procedure by a full write of BT07", "0x00"),
           ("Read BT08 until it echoes the call, for at most 1 s after the write was answered",
            "BT08 echoes number and PSN within 1 s")],
)
def test_bt08_within_one_second(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.49-50 'up to 1 second' (tbl §5.2)
    [READ]."""
    dut = Dut(tc, session, plan)
    number = unlisted(dut, True)
    with tc.step(1):
        c = dut.call(number)
        tc.require(c.accepted, f"BT07 write answered {c.write.describe()}")
    with tc.step(2):
        r = c.result
        previous = (c.psn - 1) % 256  # a slow DUT may still show the call before (this number, the PSN before)
        wrong_psn = r is not None and r.number == number and r.psn not in (c.psn, previous)
        tc.check(not wrong_psn, f"BT08 shows {procedure_name(number)} with PSN {r.psn if r else None}, not the PSN "
                 f"{c.psn} written: {c.describe()}", req="REQ-PRC-003")
        if not wrong_psn:
            tc.check(c.echoed, f"{c.bt08_reads} BT08 read(s) over {POST_DELAY_S:g} s after the write never showed "
                     f"{procedure_name(number)} PSN {c.psn}: {c.describe()}", req="REQ-PRC-004")


@testcase(
    id="TC_PRC_RES_BI_01",
    title="A procedure the DUT does not know gets result 6",
    purpose="Ensure that, when the tester starts a basic procedure number that no C12.19 standard procedure has, "
            "the DUT posts result 6 (unrecognised procedure); and that a basic and an extended procedure the BT00 "
            "bitmaps do not list get result 6 too (our reading of the bitmaps: a deviation, not a FAIL)",
    requirements=["REQ-PRC-006", "REQ-PRC-007", "REQ-PRC-005"],
    pics="PICS_PROCEDURES",
    steps=[("Read BT00 and pick the highest basic and extended numbers the bitmaps leave clear", "0x00"),
           ("Start the unlisted basic procedure", "0x00 to the write; BT08 result 6 (REQ-PRC-007)"),
           ("Start the unlisted extended procedure", "0x00 to the write; BT08 result 6 (REQ-PRC-007)"),
           (f"Start basic procedure {NO_STANDARD_BP}, which no C12.19 standard procedure has",
            "0x00 to the write; BT08 result 6 (REQ-PRC-006)")],
)
def test_unknown_procedure(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.51, C12.19 (tbl §5.3, §11.3 PR-03)
    [READ]; bitmaps C12.19 STD/MFG_PROC_USED (tbl §6, §8.1) [INFERRED]."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        numbers = [unlisted(dut, False), unlisted(dut, True)]
    for step, number in zip((2, 3), numbers, strict=True):
        with tc.step(step, title=f"Start {procedure_name(number)} (number {number}), not listed in BT00"):
            res = dut.run(number, what=procedure_name(number))
            tc.check(0 <= res.result <= 6, f"{procedure_name(number)} posted result {res.result}, none of the C12.19 "
                     "codes 0-6 (no procedure definition adds codes for a number the DUT does not list)",
                     req="REQ-PRC-005")
            # A DUT may implement a procedure its bitmap leaves clear: that a clear bit means "unknown" is our
            # reading of the C12.19 bitmaps (REQ-PRC-007, inferred), so another code is a deviation.
            tc.check(res.result == UNKNOWN, f"{procedure_name(number)} is not in the BT00 bitmaps but the DUT posted "
                     f"result {res.result} ({res.meaning}) instead of 6 (unrecognised)", req="REQ-PRC-007")
    with tc.step(4):
        if dut.lists_procedure(NO_STANDARD_BP):
            tc.observe(f"BT00 lists BP{NO_STANDARD_BP}: not probed")
            return
        res = dut.run(NO_STANDARD_BP, what=f"BP{NO_STANDARD_BP}")
        tc.check(res.result == UNKNOWN, f"basic procedure {NO_STANDARD_BP} is no C12.19 standard procedure (the "
                 "standard procedures 'comply with the ANSI C12.19-1997 specification', MEP-DG:2293), so the DUT "
                 f"cannot know it, but it posted result {res.result} ({res.meaning}) instead of 6 "
                 "('Unrecognized procedure, procedure ignored')", req="REQ-PRC-006")


@testcase(
    id="TC_PRC_RES_BI_02",
    title="A known procedure given an invalid parameter is refused (result 2, or another refusal) and does nothing",
    purpose="Ensure that, when the tester starts BP04 and BP05 with a LIST code that names no list and EP16 with a "
            "truncated parameter, the DUT refuses each (result 2; or another refusal result 3-5, or a non-zero "
            "response code to the BT07 write: REQ-PRC-008 is ambiguous) and neither resets the history log "
            "pointers nor starts a clock adjustment",
    requirements=["REQ-PRC-008"],
    pics="PICS_PROCEDURES",
    pixit=["bp05_list_codes", "ep16_layout", "test_timeout_s"],
    steps=[("Read the BT74 header (unread count, overflow flag)", "0x00"),
           ("BP04 with a LIST code that is none of pixit.bp05_list_codes", "refused (result 2-5 or a non-zero "
                                                                            "write code); BT74 not reset"),
           ("BP05 with such a LIST code", "refused; BT74 unread not lowered, overflow not cleared"),
           ("EP16 with 2 parameter bytes instead of an INT32", "refused; ET54.71 does not show a running slew")],
)
def test_invalid_parameters(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.51, C12.19 result codes (tbl §5.3, §11.3
    PR-04) [READ]. LIST codes ASM-PRC-02, EP16 layout ASM-PRC-05."""
    dut = Dut(tc, session, plan)
    codes = dut.pixit.bp05_list_codes
    bad_list = next(c for c in (0xEE, 0xED, 0xEC) if c not in (codes.history_log, codes.self_read, codes.load_profile))
    log = plan.pics.get("PICS_EVENT_LOG") and dut.listed(bt(74))
    try:
        with tc.step(1):
            before = overflowed_log(dut) if log else None
        for step, number, params in ((2, BP04_RESET_LIST_POINTERS, bytes([bad_list])),
                                     (3, BP05_UPDATE_LAST_READ, bytes([bad_list, 1, 0]))):
            with tc.step(step):
                if not dut.lists_procedure(number):
                    tc.observe(f"BT00 does not list {procedure_name(number)}: not probed")
                    continue
                c = dut.call(number, params)
                tc.require(not c.accepted or c.echoed, f"{procedure_name(number)} LIST {bad_list}: {c.describe()}; "
                           "BT08 does not hold its result (REQ-PRC-003)")
                tc.check(c.refused, f"{procedure_name(number)} with LIST code {bad_list} (no such list) was not "
                         f"refused: {c.describe()} (a refusal is result 2 'invalid parameter', or 3-5, or a non-zero "
                         "response code)")
                if before is not None:
                    before = check_log_untouched(tc, dut, before, f"{procedure_name(number)} with a LIST code naming "
                                                 "no list", "REQ-PRC-008")
        with tc.step(4):
            if not dut.lists_procedure(EP16_CLOCK_DELTA):
                tc.observe("BT00 does not list EP16: not probed")
                return
            c = dut.call(EP16_CLOCK_DELTA, b"\x05\x00")
            tc.require(not c.accepted or c.echoed, f"EP16 with a 2-byte parameter: {c.describe()}; BT08 does not hold "
                       "its result (REQ-PRC-003)")
            tc.check(c.refused, f"EP16 with 2 parameter bytes (an INT32 delta needs 4, ASM-PRC-05) was not refused: "
                     f"{c.describe()}")
            if dut.listed(2048 + 54):
                tc.check(slew_status(dut) != 1, "EP16 with 2 parameter bytes was given but ET54.71 shows a clock "
                         "adjustment in progress")
    finally:
        if log:
            clear_overflow(dut)


@testcase(
    id="TC_PRC_RES_BI_03",
    title="Reset list pointers of a list the DUT does not keep is refused or a no-op, and changes nothing",
    purpose="Ensure that, when the tester starts BP04 for the self-read list on a DUT whose BT00 does not list BT26 "
            "(it keeps no self-read list), the DUT posts result 3 (conflicts with the device setup), 2 (invalid "
            "parameter) or 0 (nothing to reset) (REQ-PRC-009 is ambiguous), and neither the history log (BT74) nor "
            "the load profile (BT63) is reset",
    requirements=["REQ-PRC-009"],
    pics="PICS_PROCEDURES",
    pixit=["bp05_list_codes", "test_timeout_s"],
    steps=[("Read BT00; read the BT74 header (overflow set where the tester can cause it) and the BT63 status",
            "BT26 not listed, BP04 listed"),
           ("BP04 with the self-read LIST code", "result 3, 2 or 0"),
           ("Read the BT74 header and the BT63 status", "neither list reset")],
)
def test_conflicting_procedure(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.51, C12.19 result codes (tbl §5.3, §11.3
    PR-04) [READ]; LIST codes ASM-PRC-02."""
    dut = Dut(tc, session, plan)
    log = plan.pics.get("PICS_EVENT_LOG") and dut.listed(bt(74))
    lp = plan.pics.get("PICS_LOAD_PROFILE") and dut.listed(bt(63))
    try:
        with tc.step(1):
            tc.require(not dut.listed(bt(26)), "BT00 lists BT26: the DUT keeps a self-read list, no conflict to probe")
            dut.require_procedure(BP04_RESET_LIST_POINTERS)
            h = overflowed_log(dut) if log else None
            st = lp_status(dut) if lp else None
        with tc.step(2):
            res = dut.run(BP04_RESET_LIST_POINTERS, bytes([dut.pixit.bp05_list_codes.self_read]),
                          what="BP04 for the self-read list")
            tc.check(res.result in (CONFLICT, BAD_PARAM, OK), f"BP04 for a self-read list the DUT does not keep "
                     f"posted result {res.result} ({res.meaning}): neither 3 (conflicts with the device setup), 2 "
                     "(invalid parameter) nor 0 (nothing to reset)", req="REQ-PRC-009")
        with tc.step(3):
            if h is not None:
                check_log_untouched(tc, dut, h, "BP04 for the self-read list (which the DUT does not keep)",
                                    "REQ-PRC-009")
            if st is not None:
                st2 = lp_status(dut)
                started = (st2.last_block_seq_nbr - st.last_block_seq_nbr) % (1 << 32)
                touched = ((st.nbr_unread_blocks > started and st2.nbr_unread_blocks <= started)
                           or (st.overflow_flag and not st2.overflow_flag))
                tc.check(not touched, "BP04 for the self-read list reset the load profile: BT63 unread "
                         f"{st.nbr_unread_blocks} -> {st2.nbr_unread_blocks} ({started} blocks started since), "
                         f"overflow {int(st.overflow_flag)} -> {int(st2.overflow_flag)}", req="REQ-PRC-009")
            if h is None and st is None:
                tc.observe("neither BT74 nor BT63 is kept: that nothing changed could not be observed")
    finally:
        if log:
            clear_overflow(dut)


@testcase(
    id="TC_PRC_AUTH_BI_01",
    title="A procedure started with the read-only key is refused and does nothing",
    purpose="Ensure that, when the tester starts BP04 (reset the history log pointers) in a request authenticated "
            "with the read-only key, the DUT refuses it (0x03 or 0x0B to the write, or a refusal result, 5 'no "
            "authorization' above all) and the history log is not reset; a DUT whose read key may run BP04 (the PLC "
            "key rights are the DUT's own, ASM-SEC-08) leaves the case inconclusive",
    requirements=["REQ-PRC-011"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG",
    pixit=["bp05_list_codes", "test_timeout_s"],
    initial="The plan holds a key of access level 'read'; the read key may run BP10/EP16 at most (OPG p.13)",
    steps=[("Read the BT74 header with the full key", "0x00; at least one unread entry; overflow set where the "
                                                       "tester can cause it"),
           ("BP04 for the history log, written with the read key", "0x03 or 0x0B, or BT08 result 5 (2-4)"),
           ("Read the BT74 header", "the unread entries are still unread; the overflow flag still set")],
)
def test_read_key_procedure(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.51, C12.19 result codes (tbl §5.3, §11.3
    PR-04) [READ]; read-key rights OPG p.13."""
    dut = Dut(tc, session, plan)
    keys = [plan.security.key()] + [k for k in plan.security.keys if k is not plan.security.key()]
    index = next((i for i, k in enumerate(keys) if k.access == "read"), None)
    tc.require(index is not None, "the plan has no key of access level 'read'")
    dut.require_procedure(BP04_RESET_LIST_POINTERS)
    try:
        with tc.step(1):
            h = overflowed_log(dut)  # many DUTs log procedure calls: gives the reset something to reset
            tc.require(h.nbr_unread_entries > 0, "BT74 has no unread entry, so a reset could not be seen")
        with tc.step(2):
            c = dut.call(BP04_RESET_LIST_POINTERS, bytes([dut.pixit.bp05_list_codes.history_log]), key_index=index,
                         read_kw={})
            tc.require(not c.accepted or c.echoed, f"BP04 with the read key: {c.describe()}; BT08 does not hold its "
                       "result (REQ-PRC-003)")
            refused = (c.write.code in (ResponseCode.NO_PERMISSION, ResponseCode.AUTH_FAILURE)
                       or (c.accepted and c.result.result in REFUSALS))
            ran = c.accepted and c.result.result in (OK, PARTIAL)
            tc.require(refused or not ran, f"BP04 written with the read-only key ran: {c.describe()}. Which keys "
                       "may run which procedure over power line is not stated (PLC key "
                       "levels NOT FOUND, ASM-SEC-08; REQ-PRC-011 reading 3), so a read key with that right cannot "
                       "be judged")
            tc.check(refused, f"BP04 written with the read-only key was neither refused (0x03/0x0B to the write, or "
                     f"result 5 'no authorization', or 2-4) nor run: {c.describe()}", req="REQ-PRC-011")
        with tc.step(3):
            check_log_untouched(tc, dut, h, "the BP04 refused to the read key", "REQ-PRC-011")
    finally:
        clear_overflow(dut)


@testcase(
    id="TC_PRC_PSN_BI_01",
    title="A BT07 write repeating the previous PSN is refused with 0x04 and does not run again",
    purpose="Ensure that, when the tester writes BT07 twice in a row with the same PSN, the DUT answers the second "
            "write 0x04, leaves BT08 with the first call's result, and accepts the next write with a new PSN",
    requirements=["REQ-PRC-013"],
    pics="PICS_PROCEDURES",
    steps=[("Start an unlisted procedure A with PSN p", "0x00; BT08 shows A, p, result 6"),
           ("Write BT07 with another unlisted procedure B and the same PSN p", "0x04"),
           ("Read BT08", "still A with PSN p: B did not run"),
           ("Start B with PSN p + 1", "0x00; BT08 shows B, p + 1")],
)
def test_repeated_psn(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.50 (tbl §4.2, §5.1, §11.3 PR-05;
    app §2.1) [READ]."""
    dut = Dut(tc, session, plan)
    a, b = unlisted(dut, True), unlisted(dut, False)
    with tc.step(1):
        first = dut.call(a)
        tc.require(first.accepted and first.echoed, f"first call: {first.describe()}")
    with tc.step(2):
        again = dut.call(b, psn=first.psn)
        tc.check(again.write.code == ResponseCode.ONP, f"BT07 write repeating PSN {first.psn} answered "
                 f"{again.write.describe()}, not 0x04 (operation not possible)")
    with tc.step(3):
        r = dut.session.read(bt(8))
        tc.require(r.ok, f"BT08 read answered {r.describe()}")
        shown = decode_procedure_response(r.data) if len(r.data) >= 4 else None
        tc.check(shown is not None and shown.number == a and shown.psn == first.psn,
                 f"after the refused repeat BT08 shows {shown}: the procedure written with the repeated PSN ran")
    with tc.step(4):
        nxt = dut.call(b, psn=first.psn + 1)
        tc.check(nxt.accepted and nxt.echoed, f"a new PSN after the refusal: {nxt.describe()}")


@testcase(
    id="TC_PRC_PSN_BI_02",
    title="A repeated PSN does not set the clock twice",
    purpose="Ensure that, when the tester sets the clock by BP10 and 5 s later writes the same BP10 with the same "
            "PSN, the DUT answers 0x04 and its clock is not set back to the first time",
    requirements=["REQ-PRC-013"],
    pics="PICS_PROCEDURES and PICS_SET_TIME",
    steps=[("Read BT52; BP10 to the DUT time + 60 s with PSN p", "result 0"),
           ("Wait 5 s; write the same BP10 with the same PSN p", "0x04"),
           ("Read BT52", "the clock is 60 s ahead of where it was (not 55 s: the repeat did not run)"),
           ("Put the clock back (BP10, new PSN)", "result 0")],
)
def test_repeated_psn_not_executed(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); MEP-DG p.50 (tbl §4.2, §5.1, §11.3 PR-05;
    app §2.1) [READ]; BP10 layout ASM-PRC-03."""
    dut = Dut(tc, session, plan)
    c0 = None
    offset = local_offset_s(dut)
    try:
        with tc.step(1):
            dut.require_clock_runs()
            c0 = dut.clock()
            params = dut.bp10_params(c0.utc + 60)
            first = dut.call(BP10_SET_DATE_TIME, params)
            tc.require(first.echoed and first.result.result == OK, f"BP10: {first.describe()}")
            ok, how = set_to(dut.clock(), c0.utc + 60, first)
            tc.require(ok, f"the first BP10 did not set the clock to the UTC time sent ({how}; REQ-MGT-003, and "
                       "REQ-PRC-025: the DUT may take BP10's fields as local time): a repeat cannot be told")
        with tc.step(2):
            dut.wait(5, "time for a repeated BP10 to show")
            again = dut.call(BP10_SET_DATE_TIME, params, psn=first.psn)
            tc.check(again.write.code == ResponseCode.ONP, f"BP10 repeating PSN {first.psn} answered "
                     f"{again.write.describe()}, not 0x04")
        with tc.step(3):
            ok, how = set_to(dut.clock(), c0.utc + 60, first)
            tc.check(ok, f"{how} of the first BP10: the repeated BP10 set the clock again")
    finally:
        if c0 is not None:
            with tc.step(4):
                restore_clock_either(dut, c0, offset)
