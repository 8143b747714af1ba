"""Robustness of the OSGP application layer: malformed and oversized requests (TS 104 001 Clause 9).

Every malformed request is authenticated (sequence number and digest are right), so it reaches the DUT's
services; each must get a defined error code, change nothing, and leave the DUT serving.

Sources (osgpct/requirements.yaml): MEP-DG Tables 2.5-2.7 p.10-12 (codes, layouts); the power-line size limit is
not documented (ASM-APP-05, pixit.max_apdu).
"""

from __future__ import annotations

from osgp.app import FullRead, FullWrite, PartialRead, PartialWrite, RawRequest, ResponseCode, bt, encode_request
from osgp.errors import DeviceTimeout
from osgpct.dut import DEFINED_CODES, ERROR_CODES, SCRATCH, Dut, hexs
from osgpct.testcase import testcase


def malformed(dut: Dut, target: int) -> list[tuple[str, bytes, str]]:
    """(description, message, requirement) of each malformed request; the write bodies aim at `target`."""
    read = encode_request(FullRead(bt(1)))
    pread = encode_request(PartialRead(bt(1), 0, 4))
    write = encode_request(FullWrite(target, b"\x5a\xa5\x5a\xa5"))
    pwrite = encode_request(PartialWrite(target, 0, b"\x5a\xa5\x5a\xa5"))
    return [
        ("empty message", b"", "REQ-APP-020"),
        ("full read: code only", read[:1], "REQ-APP-020"),
        ("full read: 1-byte table id", read[:2], "REQ-APP-020"),
        ("partial read: no count", pread[:6], "REQ-APP-020"),
        ("partial read: 1-byte count", pread[:7], "REQ-APP-020"),
        ("partial read: 2-byte offset", pread[:5], "REQ-APP-020"),
        ("full write: no count", write[:3], "REQ-APP-020"),
        ("full write: 1-byte count", write[:4], "REQ-APP-020"),
        ("partial write: no count", pwrite[:6], "REQ-APP-020"),
        ("partial write: 1-byte count", pwrite[:7], "REQ-APP-020"),
    ]


@testcase(
    id="TC_APP_ROB_BI_01",
    title="Malformed requests get a defined error code, change nothing, and the DUT keeps serving",
    purpose="Ensure that, when the tester sends authenticated requests cut short inside their fixed fields, reads "
            "with a count far past any table, and table ids with reserved bits set, the DUT answers each with a "
            "defined code (a refusal without data for the cut ones), the target table is unchanged, and a valid read "
            "is answered after each",
    requirements=["REQ-APP-020", "REQ-APP-021", "REQ-APP-015", "REQ-APP-018"],
    initial="Write bodies aim at a scratch table (ET03/BT05) when BT00 lists one as written, else at BT01.",
    steps=[("Read the target table", "0x00"),
           ("Send each truncated request (empty, code only, ids/offsets/counts cut) and read BT00 after each",
            "a code 0x01..0x0B without data; BT00 answered"),
           ("Partial read of BT01 with count 0xFFFF at offset 0, and at offset 0xFFFFFF", "a defined code; if 0x00, "
            "exactly the count asked"),
           ("Full read of ids 0x2001, 0x4001, 0x8001 (reserved bits over BT01)", "an error code, not BT01"),
           ("Read the target table", "unchanged")],
)
def test_malformed_requests(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); request layouts MEP-DG Table 2.7 (app §2.1) [READ]; refusal
    rule [INFERRED]; MEP-DG Table 2.5, C12.18 code list (app §2.2); OPG p.24 (unimplemented table 0x05)."""
    dut = Dut(tc, session, plan)
    target = next((t for t, _, _ in SCRATCH if dut.listed(t) and dut.writable(t)), bt(1))
    with tc.step(1):
        before = dut.read(target)
        tc.require(before.ok, f"read of the target table answered {before.describe()}")
    with tc.step(2):
        from osgp.app import field_safe

        for what, msg, req in malformed(dut, target):
            if not (plan.pixit.unsafe_codes or field_safe(msg, session.config.apdu_prefix)):
                tc.observe(f"{what} not sent: without an APDU envelope its APDU would start with the sequence "
                           "number, a byte the tester does not choose (ASM-APP-01; pixit.unsafe_codes: true sends it)")
                continue
            r = dut.ask(what, session.send_message, msg, request=RawRequest(msg))
            tc.check(r.code in ERROR_CODES, f"{what} ({hexs(msg) or 'no bytes'}) answered {r.describe()}; a refusal "
                     f"0x01..0x0B expected ({req}, inferred; REQ-APP-021)", req="REQ-APP-021")
            tc.check(not r.data or r.code == ResponseCode.INVALID_SEQUENCE, f"the answer to {what} carries data "
                     f"{hexs(r.data)} (REQ-APP-015)", req="REQ-APP-015")
            after = dut.read(bt(0))
            tc.check(after.ok, f"after {what}, a read of BT00 answered {after.describe()} ({req})", stop=True)
    with tc.step(3):
        for off in (0, 0xFFFFFF):
            r = dut.read_partial(bt(1), off, 0xFFFF)
            tc.check(r.code in DEFINED_CODES, f"partial read BT01[{off}:+65535] answered {r.describe()} "
                     "(REQ-APP-021)", req="REQ-APP-021")
            if r.ok:
                tc.check(len(r.data) == 0xFFFF, f"partial read BT01[{off}:+65535] answered 0x00 with {len(r.data)} "
                         "bytes (REQ-APP-021)", req="REQ-APP-021")
            tc.observe(f"partial read BT01[{off}:+65535] answered {r.describe()}")
    with tc.step(4):
        for tid in (0x2001, 0x4001, 0x8001):
            r = dut.read(tid)
            tc.check(r.code in ERROR_CODES, f"read of table id 0x{tid:04X} (reserved bits over BT01) answered "
                     f"{r.describe()}; no table has that id, an error code (0x05) is expected (REQ-APP-018, inferred)",
                     req="REQ-APP-018")
    with tc.step(5):
        back = dut.read(target)
        tc.check(back.ok and back.data == before.data, "the target table changed after the malformed requests "
                 "(REQ-APP-020)", req="REQ-APP-020")
        if back.ok and back.data != before.data and dut.writable(target):
            dut.restore(target, before.data)


@testcase(
    id="TC_APP_ROB_BI_02",
    title="A request longer than the power-line limit does not disturb the DUT",
    purpose="Ensure that, when the tester sends authenticated requests whose APDU exceeds pixit.max_apdu by 1 and by "
            "200 bytes, the DUT refuses or drops them and answers a valid read right after each",
    requirements=["REQ-APP-026"],
    pixit=["max_apdu"],
    steps=[("Read BT00", "0x00"),
           ("Send a write of BT01's own content padded to max_apdu + 1 APDU bytes", "a defined code, or no answer"),
           ("Read BT00", "0x00 (answered)"),
           ("Send the same padded to max_apdu + 200 APDU bytes", "a defined code, or no answer"),
           ("Read BT00", "0x00 (answered)")],
)
def test_oversize_request(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); PLC size limit (app §2.5) [NOT FOUND]; 229-byte APDU bound
    (low §1.1) [READ]. Rests on ASM-APP-05 (pixit.max_apdu)."""
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
                tc.check(r.code in DEFINED_CODES, f"the oversized request answered {r.describe()} (REQ-APP-026)")
                tc.observe(f"request of {plan.pixit.max_apdu + extra} APDU bytes answered {r.describe()}")
            except DeviceTimeout:
                tc.observe(f"request of {plan.pixit.max_apdu + extra} APDU bytes dropped (no answer)")
        with tc.step(n + 1):
            try:
                after = dut.read(bt(0))
            except DeviceTimeout:
                tc.fail(f"after a request of {plan.pixit.max_apdu + extra} APDU bytes the DUT no longer answers a "
                        "read of BT00 (REQ-APP-026, rests on ASM-APP-05)")
            tc.check(after.ok, f"after the oversized request a read of BT00 answered {after.describe()} "
                     "(REQ-APP-026)")
