"""Robustness of the OSGP application layer: malformed and oversized requests (TS 104 001 Clause 9).

Every malformed request is authenticated (sequence number and digest are right), so it reaches the DUT's
services. A request cut before its count (inside its code, table id or offset) is refused (REQ-APP-020, our
reading: a departure is a deviation). A request whose count (Length) field is missing or shorter than 2 bytes
gets no error code: "If this field is missing or less than 2 bytes, then the interpreted value will be
indeterminate. No error will be returned in this case." (MEP-DG:537-539, REQ-APP-012). Either way the DUT keeps
serving.

Sources (osgpct/requirements/APP.yaml): MEP-DG Tables 2.5-2.7 p.10-12 (codes, layouts); the power-line size limit
is not documented (ASM-APP-05, pixit.max_apdu).
"""

from __future__ import annotations

from osgp.app import FullRead, FullWrite, PartialRead, PartialWrite, RawRequest, ResponseCode, bt, encode_request
from osgp.errors import DeviceTimeout
from osgpct.dut import DEFINED_CODES, ERROR_CODES, SCRATCH, Dut, hexs
from osgpct.probes import NO_DATA_CODES, still_answers
from osgpct.testcase import testcase


def judge_refusal_data(tc, r, what: str, unlisted_req: str) -> None:
    """Data on a refusal: a FAIL of REQ-APP-015 for 0x01-0x05/0x0B; for 0x06-0x0A, which the guide does not list,
    a failed check of ``unlisted_req`` (an inferred rule: a deviation)."""
    if not r.data or r.code in (ResponseCode.OK, ResponseCode.INVALID_SEQUENCE) or r.code not in DEFINED_CODES:
        return
    if r.code in NO_DATA_CODES:
        tc.check(False, f"the answer to {what} carries data {hexs(r.data)} (REQ-APP-015: 0x{r.code:02X} has no "
                 "response data)", req="REQ-APP-015")
    else:
        tc.check(False, f"the answer to {what}, C12.18 code 0x{r.code:02X}, carries data {hexs(r.data)} (MEP-DG "
                 f"does not list that code; a refusal without data is our reading, {unlisted_req})",
                 req=unlisted_req)


def malformed(dut: Dut) -> list[tuple[str, bytes]]:
    """(description, message) of each request cut before its count field (REQ-APP-020)."""
    read = encode_request(FullRead(bt(1)))
    pread = encode_request(PartialRead(bt(1), 0, 4))
    return [
        ("empty message", b""),
        ("full read: code only", read[:1]),
        ("full read: 1-byte table id", read[:2]),
        ("partial read: 2-byte offset", pread[:5]),
    ]


def count_cut(dut: Dut, target: int | None) -> list[tuple[str, bytes]]:
    """(description, message) of each request whose count field is missing or 1 byte (REQ-APP-012); the writes
    aim at ``target`` (a scratch table BT00 lists as written), none when there is no such table."""
    pread = encode_request(PartialRead(bt(1), 0, 4))
    out = [("partial read: no count", pread[:6]), ("partial read: 1-byte count", pread[:7])]
    if target is not None:
        write = encode_request(FullWrite(target, b"\x5a\xa5\x5a\xa5"))
        pwrite = encode_request(PartialWrite(target, 0, b"\x5a\xa5\x5a\xa5"))
        out += [("full write: no count", write[:3]), ("full write: 1-byte count", write[:4]),
                ("partial write: no count", pwrite[:6]), ("partial write: 1-byte count", pwrite[:7])]
    return out


@testcase(
    id="TC_APP_ROB_BI_01",
    title="Malformed requests get a defined answer, change nothing they must not, and the DUT keeps serving",
    purpose="Ensure that, when the tester sends authenticated requests cut short before their count, requests whose "
            "count field is missing or 1 byte long, reads with a count far past any table, and table ids with "
            "reserved bits set, the DUT refuses the first without data, answers the second with no error code, "
            "answers the reads with a defined code, refuses the ids, leaves the target table as it was after the "
            "refused ones, and answers a valid read after each",
    requirements=["REQ-APP-020", "REQ-APP-021", "REQ-APP-015", "REQ-APP-018", "REQ-APP-012"],
    initial="Count-cut writes aim at a scratch table (ET03/BT05) when BT00 lists one as written, else are not sent.",
    steps=[("Read the target table", "0x00"),
           ("Send each request cut before its count (empty, code only, table id or offset cut) and read BT00 after "
            "each", "a refusal 0x01..0x0B without data; BT00 answered"),
           ("Partial read of BT01 with count 0xFFFF at offset 0, and at offset 0xFFFFFF", "a defined code"),
           ("Full read of ids 0x2001, 0x4001, 0x8001 (reserved bits over BT01)", "an error code, not BT01"),
           ("Read the target table", "unchanged"),
           ("Send partial reads of BT01 and writes of the scratch table with the count missing or 1 byte long; read "
            "BT00 after each; restore the scratch table", "no error code (0x00, content undefined: MEP-DG:537-539); "
            "BT00 answered")],
)
def test_malformed_requests(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); request layouts MEP-DG Table 2.7 (app §2.1) [READ]; refusal
    rule [INFERRED]; a missing or short count, no error (MEP-DG:537-539) [READ]; MEP-DG Table 2.5, C12.18 code
    list (app §2.2); OPG p.24 (unimplemented table 0x05)."""
    from osgp.app import field_safe

    dut = Dut(tc, session, plan)
    scratch = next((t for t, _, _ in SCRATCH if dut.listed(t) and dut.writable(t)), None)
    target = scratch if scratch is not None else bt(1)

    def safe(what: str, msg: bytes) -> bool:
        if plan.pixit.unsafe_codes or field_safe(msg, session.config.apdu_prefix):
            return True
        tc.observe(f"{what} not sent: without an APDU envelope its APDU would start with the sequence number, a "
                   "byte the tester does not choose (ASM-APP-01; pixit.unsafe_codes: true sends it)")
        return False

    with tc.step(1):
        before = dut.read(target)
        tc.require(before.ok, f"read of the target table answered {before.describe()}")
    with tc.step(2):
        for what, msg in malformed(dut):
            if not safe(what, msg):
                continue
            r = dut.ask(what, session.send_message, msg, request=RawRequest(msg))
            tc.check(r.code in DEFINED_CODES, f"{what} ({hexs(msg) or 'no bytes'}) answered {r.describe()}, not a "
                     "code of 0x00-0x0C (REQ-APP-021)", req="REQ-APP-021")
            tc.check(r.code != ResponseCode.OK, f"{what} ({hexs(msg) or 'no bytes'}) answered {r.describe()}; a "
                     "refusal expected (REQ-APP-020: cut before its count)", req="REQ-APP-020")
            judge_refusal_data(tc, r, what, "REQ-APP-020")
            after = dut.read(bt(0))
            tc.check(after.ok, f"after {what}, a read of BT00 answered {after.describe()} (REQ-APP-020: the DUT "
                     "keeps serving)", req="REQ-APP-020", stop=True)
    with tc.step(3):
        for off in (0, 0xFFFFFF):
            r = dut.read_partial(bt(1), off, 0xFFFF)
            tc.check(r.code in DEFINED_CODES, f"partial read BT01[{off}:+65535] answered {r.describe()} "
                     "(REQ-APP-021)", req="REQ-APP-021")
            tc.observe(f"partial read BT01[{off}:+65535] answered {r.describe()}")
    with tc.step(4):
        for tid in (0x2001, 0x4001, 0x8001):
            r = dut.read(tid)
            tc.check(r.code in ERROR_CODES, f"read of table id 0x{tid:04X} (reserved bits over BT01) answered "
                     f"{r.describe()}; no table has that id, a refusal is expected (REQ-APP-018)", req="REQ-APP-018")
    with tc.step(5):
        back = dut.read(target)
        tc.check(back.ok and back.data == before.data, "the target table changed after the refused requests "
                 "(REQ-APP-020: no effect)", req="REQ-APP-020")
        if back.ok and back.data != before.data and dut.writable(target):
            dut.restore(target, before.data)
    with tc.step(6):
        if scratch is None:
            tc.observe("no scratch table (ET03/BT05) listed as written: the count-cut writes are not sent (a "
                       "write with an indeterminate count could change any other table)")
        try:
            for what, msg in count_cut(dut, scratch):
                if not safe(what, msg):
                    continue
                r = dut.ask(what, session.send_message, msg, request=RawRequest(msg))
                tc.check(r.code == ResponseCode.OK, f"{what} ({hexs(msg)}) answered {r.describe()}; MEP-DG:537-539: "
                         "a missing or short count is indeterminate and \"No error will be returned\" (REQ-APP-012)",
                         req="REQ-APP-012")
                tc.observe(f"{what} ({hexs(msg)}) answered {r.describe()} (content undefined)")
                after = dut.read(bt(0))
                tc.check(after.ok, f"after {what}, a read of BT00 answered {after.describe()} (REQ-APP-012: the "
                         "DUT keeps serving)", req="REQ-APP-012", stop=True)
        finally:
            if scratch is not None:
                dut.restore(scratch, before.data)


@testcase(
    id="TC_APP_ROB_BI_02",
    title="A request longer than the power-line limit does not disturb the DUT",
    purpose="Ensure that, when the tester sends authenticated requests whose APDU exceeds pixit.max_apdu by 1 and by "
            "200 bytes, the DUT refuses or drops them and still answers a valid read right after each",
    requirements=["REQ-APP-026", "REQ-LNK-012"],
    pixit=["max_apdu"],
    steps=[("Read BT00", "0x00"),
           ("Send a write of BT01's own content padded to max_apdu + 1 APDU bytes", "a defined code, or no answer"),
           ("Read BT00 (twice if not answered)", "answered (REQ-LNK-012), 0x00 (REQ-APP-026)"),
           ("Send the same padded to max_apdu + 200 APDU bytes", "a defined code, or no answer"),
           ("Read BT00 (twice if not answered)", "answered (REQ-LNK-012), 0x00 (REQ-APP-026)")],
)
def test_oversize_request(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); PLC size limit (app §2.5) [NOT FOUND]; 229-byte APDU bound
    (low §1.1) [READ]. Rests on ASM-APP-05 (pixit.max_apdu). REQ-LNK-012: lon-stack-dx lcs_tsa.c, a REQUEST is
    answered by a RESPONSE (low §2.1) [READ]: whatever became of the oversized request, the valid read after it
    is a request like any other."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        r = dut.read(bt(1))
        tc.require(r.ok, f"BT01 read answered {r.describe()}")
        image = r.data
        tc.require(dut.read(bt(0)).ok, "BT00 read refused")
    for n, extra in ((2, 1), (4, 200)):
        with tc.step(n):
            length = dut.request_budget + extra  # message bytes: the APDU is max_apdu + extra
            msg = encode_request(FullWrite(bt(1), image, len(image)))
            msg += bytes(tc.rng.randrange(256) for _ in range(length - len(msg)))
            try:
                r = dut.ask(f"{length}-byte request", session.send_message, msg, request=RawRequest(msg))
                tc.check(r.code in DEFINED_CODES, f"the oversized request answered {r.describe()} (REQ-APP-026)",
                         req="REQ-APP-026")
                tc.observe(f"request of {plan.pixit.max_apdu + extra} APDU bytes answered {r.describe()}")
            except DeviceTimeout:
                tc.observe(f"request of {plan.pixit.max_apdu + extra} APDU bytes dropped (no answer)")
        with tc.step(n + 1):
            after = still_answers(lambda: dut.read(bt(0)))
            tc.check(after is not None, f"after a request of {plan.pixit.max_apdu + extra} APDU bytes the DUT, which "
                     "answered before, answers no valid read of BT00 in two transactions (REQ-LNK-012: a REQUEST is "
                     "answered by a RESPONSE)", req="REQ-LNK-012", stop=True)
            tc.check(after.ok, f"after the oversized request a read of BT00 answered {after.describe()} "
                     "(REQ-APP-026, rests on ASM-APP-05)", req="REQ-APP-026")
