"""APP request and response codes; byte order of table data (TS 104 001 Clause 9).

Sources (osgpct/requirements.yaml): MEP-DG Table 2.5 p.10-11 (response codes), Tables 2.6-2.7 p.12 (request
codes and layouts), ET52 example pp.44-46 and OPG p.5 (LSB-first table data); C12.18 service codes per
termineter.
"""

from __future__ import annotations

from osgp.app import FullRead, FullWrite, RawRequest, ResponseCode, bt, encode_request, et, field_safe, table_name
from osgp.errors import DecodeError, DeviceTimeout, DutProtocolError
from osgp.session import ResponseNotAuthentic
from osgp.tables import schema
from osgpct.dut import SCRATCH, Dut, hexs
from osgpct.testcase import testcase

#: Request codes defined by neither OSGP nor ANSI C12.18 (C12.18 uses 0x20-0x7F).
UNKNOWN_CODES = (0x00, 0x01, 0x0F, 0x10, 0x1F, 0x80, 0x9A, 0xC3, 0xFE, 0xFF)
#: Response codes MEP-DG Table 2.5 gives "No response data" (MEP-DG:552-553): 0x01-0x05 and 0x0B. 0x06-0x0A are C12.18
#: codes the guide does not list, so data after them is not judged (REQ-APP-015).
NO_DATA_CODES = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0x0B})
#: ANSI C12.18 services that belong to the optical port session, not to OSGP on power line.
OPTICAL_SERVICES = {0x20: "identify", 0x21: "terminate", 0x50: "logon", 0x51: "security", 0x52: "logoff",
                    0x60: "negotiate", 0x70: "wait"}


def target(dut: Dut) -> int:
    """The table the probes aim at: a scratch table when BT00 lists one as written, else BT01."""
    return next((t for t, _, _ in SCRATCH if dut.listed(t) and dut.writable(t)), bt(1))


@testcase(
    id="TC_APP_CODE_BV_01",
    title="The four OSGP request codes are recognised",
    purpose="Ensure that, when the tester sends a full read (0x30), a partial read (0x3F), a full write (0x40) and "
            "a partial write (0x4F) with valid layouts, the DUT never answers 0x01 (unrecognised)",
    requirements=["REQ-APP-002", "REQ-APP-014"],
    steps=[("0x30 full read of BT01", "0x00"),
           ("0x3F partial read of BT01[0:+4]", "not 0x01"),
           ("0x40 full write of a table with its own current content", "not 0x01 (0x00 on a writable table)"),
           ("0x4F partial write of its first byte, unchanged", "not 0x01")],
)
def test_codes_recognised(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Tables 2.6-2.7 p.12 (app §2.1); MEP-DG examples
    pp.15-17, digests recomputed (app §2.1, tbl §10)."""
    dut = Dut(tc, session, plan)
    tid = target(dut)
    with tc.step(1):
        r = dut.read(bt(1))
        tc.check(r.ok, f"0x30 full read of BT01 answered {r.describe()} (REQ-APP-002)", req="REQ-APP-002")
    with tc.step(2):
        r = dut.read_partial(bt(1), 0, 4)
        tc.check(r.code != ResponseCode.ERR, f"0x3F partial read answered {r.describe()} (REQ-APP-002)",
                 req="REQ-APP-002")
    with tc.step(3):
        cur = dut.read(tid)
        tc.require(cur.ok, f"{table_name(tid)} read answered {cur.describe()}")
        r = dut.write(tid, cur.data)
        tc.check(r.code != ResponseCode.ERR, f"0x40 full write of {table_name(tid)} answered {r.describe()} "
                 "(REQ-APP-002)", req="REQ-APP-002")
        if dut.writable(tid):
            tc.check(r.ok, f"0x40 full write of {table_name(tid)} (written per BT00) with its own content and no "
                     f"checksum answered {r.describe()} (REQ-APP-014)", req="REQ-APP-014")
    with tc.step(4):
        r = dut.write_partial(tid, 0, cur.data[:1])
        tc.check(r.code != ResponseCode.ERR, f"0x4F partial write of {table_name(tid)} answered {r.describe()} "
                 "(REQ-APP-002)", req="REQ-APP-002")


@testcase(
    id="TC_APP_CODE_BI_01",
    title="Unknown request codes are answered 0x01 or 0x02 and have no effect",
    purpose="Ensure that, when the tester sends requests whose code neither OSGP nor C12.18 defines (carrying the "
            "body of a write), the DUT answers 0x01 or 0x02 alone and changes nothing",
    requirements=["REQ-APP-016", "REQ-APP-015", "REQ-APP-021"],
    steps=[("Read the target table (a scratch table, else BT01)", "0x00"),
           ("Send codes 0x00, 0x01, 0x0F, 0x10, 0x1F, 0x80, 0x9A, 0xC3, 0xFE, 0xFF and two random codes of "
            "0x80-0xFF (codes of 0x50 and up only with an APDU envelope or pixit.unsafe_codes), each followed by a "
            "write body for the target with changed data", "0x01 or 0x02 with no data"),
           ("Read the target table", "unchanged")],
)
def test_unknown_codes(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.5 p.10-11 (app §2.2, §7 TP-APDU-04)."""
    dut = Dut(tc, session, plan)
    tid = target(dut)
    with tc.step(1):
        before = dut.read(tid)
        tc.require(before.ok, f"{table_name(tid)} read answered {before.describe()}")
    body = encode_request(FullWrite(tid, bytes(b ^ 0x5A for b in before.data)))[1:]
    codes = list(UNKNOWN_CODES) + [tc.rng.randrange(0x81, 0xFE) for _ in range(2)]
    if not plan.pixit.unsafe_codes:  # field safety: the APDU's first byte stays 0x00-0x4F (ASM-APP-01)
        kept = [c for c in codes if field_safe(bytes([c]), session.config.apdu_prefix)]
        if kept != codes:
            tc.observe(f"codes {', '.join(f'0x{c:02X}' for c in codes if c not in kept)} not sent: without an APDU "
                       "envelope they would lead the APDU, where a 14908-1 node takes them as network management, "
                       "diagnostics or a network variable (pixit.unsafe_codes: true sends them)")
        codes = kept
    with tc.step(2):
        for code in codes:
            msg = bytes([code]) + body
            if not field_safe(bytes([code]), session.config.apdu_prefix):
                # Sent on pixit.unsafe_codes without an envelope: the 14908-1 node may take the code as network
                # management, diagnostics or a network variable (low:175-179, REQ-APP-016 reading 3), so a 14908
                # answer or no OSGP answer at all is accepted.
                try:
                    r = dut.ask(f"request code 0x{code:02X}", session.send_message, msg, request=RawRequest(msg))
                except (DutProtocolError, DeviceTimeout) as e:
                    tc.observe(f"request code 0x{code:02X} without an envelope got no OSGP answer ({e}): a 14908-1 "
                               "message, not an OSGP request (REQ-APP-016 reading 3)")
                    continue
            else:
                r = dut.ask(f"request code 0x{code:02X}", session.send_message, msg, request=RawRequest(msg))
            # REQ-APP-016 is ambiguous: MEP-DG:465-466 names 0x01 'Unrecognized request' and 0x02 'Unsupported
            # request' without saying which answers an unknown code, so both readings are accepted.
            tc.check(r.code in (ResponseCode.ERR, ResponseCode.SNS), f"unknown request code 0x{code:02X} answered "
                     f"{r.describe()}; 0x01 or 0x02 expected (REQ-APP-016)", req="REQ-APP-016")
            tc.check(r.code in range(0x0D), f"response code 0x{r.code:02X} is not defined (REQ-APP-021)",
                     req="REQ-APP-021")
            tc.check(r.code not in NO_DATA_CODES or not r.data,
                     f"error response {r.describe()} to code 0x{code:02X} carries data {hexs(r.data)}; MEP-DG gives "
                     "'No response data' for it (REQ-APP-015)", req="REQ-APP-015")
    with tc.step(3):
        after = dut.read(tid)
        tc.check(after.ok, f"{table_name(tid)} read answered {after.describe()} (REQ-APP-016)", stop=True,
                 req="REQ-APP-016")
        tc.check(after.data == before.data, f"{table_name(tid)} changed after the unknown requests (REQ-APP-016)",
                 req="REQ-APP-016")
        if after.data != before.data and dut.writable(tid):
            dut.restore(tid, before.data)


@testcase(
    id="TC_APP_CODE_BI_02",
    title="C12.18 optical-port services are not served over OSGP",
    purpose="Ensure that, when the tester sends the C12.18 identify, terminate, logon, security, logoff, negotiate "
            "and wait services, the DUT answers 0x02 (or 0x01) alone and keeps serving",
    requirements=["REQ-APP-017", "REQ-APP-015"],
    steps=[("Send 0x20, 0x21, 0x50, 0x51, 0x52, 0x60, 0x70 with their C12.18 parameters", "0x02 or 0x01, no data"),
           ("Read BT01", "0x00")],
)
def test_optical_services(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.5 code 0x02, C12.18 codes per termineter
    (app §2.1-2.2) [READ]; their status on PLC [INFERRED]."""
    dut = Dut(tc, session, plan)
    params = {0x20: b"", 0x21: b"", 0x50: b"\x00\x02" + b"OSGPCT    ", 0x51: bytes(20), 0x52: b"",
              0x60: b"\x00\x40\x01\x06", 0x70: b"\x05"}
    services = dict(OPTICAL_SERVICES)
    if not plan.pixit.unsafe_codes:  # field safety: the APDU's first byte stays 0x00-0x4F (ASM-APP-01)
        services = {c: n for c, n in services.items() if field_safe(bytes([c]), session.config.apdu_prefix)}
        left = [f"{n} (0x{c:02X})" for c, n in OPTICAL_SERVICES.items() if c not in services]
        if left:
            tc.observe(f"C12.18 {', '.join(left)} not sent: without an APDU envelope their code would lead the APDU, "
                       "where a 14908-1 node takes it as network management or diagnostics (pixit.unsafe_codes: true "
                       "sends them)")
    with tc.step(1):
        for code, name in services.items():
            msg = bytes([code]) + params[code]
            r = dut.ask(f"C12.18 {name}", session.send_message, msg, request=RawRequest(msg))
            tc.check(r.code in (ResponseCode.SNS, ResponseCode.ERR), f"C12.18 {name} (0x{code:02X}) answered "
                     f"{r.describe()}; 0x02 (or 0x01) expected (REQ-APP-017, inferred: their status on power line "
                     "is not documented)", req="REQ-APP-017")
            tc.check(r.code not in NO_DATA_CODES or not r.data,
                     f"answer {r.describe()} to C12.18 {name} carries data {hexs(r.data)}; MEP-DG gives 'No response "
                     "data' for it (REQ-APP-015)", req="REQ-APP-015")
    with tc.step(2):
        r = dut.read(bt(1))
        tc.check(r.ok, f"read of BT01 after the C12.18 services answered {r.describe()} (REQ-APP-017)",
                 req="REQ-APP-017")


@testcase(
    id="TC_APP_CODE_BI_03",
    title="An invalid sequence number is answered 0x0C with exactly 4 bytes",
    purpose="Ensure that, when the tester repeats the sequence number of its previous request, the DUT answers with "
            "the code 0x0C followed by exactly 4 bytes (its current sequence number) and nothing else",
    requirements=["REQ-APP-015"],
    steps=[("Read BT01 (a fresh session starts at sequence number 0 and adopts the number of the DUT's 0x0C)",
            "0x00; any 0x0C on the way carries exactly 4 bytes"),
           ("Read BT01 again with the same sequence number, without resynchronising", "0x0C and exactly 4 bytes")],
)
def test_seq_error_shape(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.5 p.10-11 response data column (app §2.2).
    What the 4 bytes must hold is judged by the SEC test cases."""
    with tc.step(1):
        try:  # a fresh session starts at sequence number 0: the DUT's first answer is normally a 0x0C
            r = session.read(bt(1))
        except ResponseNotAuthentic as e:
            tc.inconc(f"the answer to a BT01 read did not authenticate ({e})")
        except DecodeError as e:
            tc.fail(f"the answer to a BT01 read is malformed: {e} (REQ-APP-015)", req="REQ-APP-015")
        tc.require(r.ok, f"BT01 read answered {r.describe()}")
        used = session.seq
    with tc.step(2):
        msg = encode_request(FullRead(bt(1)))
        try:
            r = session.send_message(msg, request=RawRequest(msg), seq=used, resync=False)
        except ResponseNotAuthentic as e:
            tc.inconc(f"the answer to a repeated sequence number did not authenticate ({e})")
        except DecodeError as e:
            tc.fail(f"the answer to a repeated sequence number is malformed: {e} (REQ-APP-015)", req="REQ-APP-015")
        tc.require(r.code == ResponseCode.INVALID_SEQUENCE, f"a repeated sequence number was answered "
                   f"{r.describe()}; the SEC test cases judge that")
        tc.check(r.expected_seq is not None, "0x0C came without its 4-byte sequence number (REQ-APP-015)",
                 req="REQ-APP-015")


@testcase(
    id="TC_APP_ORDER_BV_01",
    title="Table data is least significant byte first",
    purpose="Ensure that, when the tester reads the 4-byte OSGP sequence number the DUT keeps at ET04 offset 0, the "
            "DUT sends it least significant byte first, as BT00 DATA_ORDER 0 declares: it equals the sequence "
            "number the DUT just accepted",
    requirements=["REQ-APP-013"],
    steps=[("Read BT00", "DATA_ORDER 0"),
           ("Read ET04.sequence_number (full read, or partial read of the field)", "0x00"),
           ("Decode LSB first", "within 2 of the sequence number of that very request (INCONC when neither byte "
            "order gives it: ET04.0 is then not that counter, ASM-TBL-02)")],
)
def test_lsb_first(tc, session, plan):
    """Source: TS 104 001 Clause 5 and Clause 9 (clause unknown); MEP-DG Table 2.7, ET52 example pp.44-46; OPG p.5
    (app §2.4, tbl §2.2). ET04 offset 0 = sequence number: MEP-DG p.54 (rests on ASM-TBL-02)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        tc.observe(f"BT00 DATA_ORDER {b.data_order}")
        tc.require(dut.listed(et(4)), "BT00 does not list ET04: no counter known to both sides to check the byte "
                   "order against")
    with tc.step(2):
        off, n = schema(et(4)).field_offset("sequence_number", dut.dims())
        if dut.partial_read:
            r = dut.read_partial(et(4), off, n)
        else:
            r = dut.read(et(4))
        used = session.seq
        tc.require(r.ok and len(r.data) >= off + n if not dut.partial_read else r.ok and len(r.data) == n,
                   f"ET04 sequence number read answered {r.describe()}")
        raw = r.data[:n] if dut.partial_read else r.data[off:off + n]
    with tc.step(3):
        # That ET04.0 is the OSGP sequence number is MEP-DG's field meaning for NES meters (ASM-TBL-02), so the value
        # is a known one only if it matches the request's number in one byte order. Matching LSB first: PASS;
        # matching only MSB first: the DUT sends that counter big-endian (FAIL); matching neither: ET04.0 is not
        # that counter on this DUT, and the byte order cannot be judged from it (INCONC).
        le, be = int.from_bytes(raw, "little"), int.from_bytes(raw, "big")
        near = lambda v: (used - v) % 2**32 <= 2 or (v - used) % 2**32 <= 1  # noqa: E731
        tc.require(near(le) or near(be), f"ET04.sequence_number bytes {hexs(raw)} give {le} LSB first and {be} MSB "
                   f"first, neither near the sequence number {used} of the request that read them: ET04.0 is not "
                   "the OSGP sequence number on this DUT (ASM-TBL-02), so it cannot show the byte order")
        tc.check(near(le), f"ET04.sequence_number bytes {hexs(raw)} read LSB first give {le}, but MSB first {be}, "
                 f"the sequence number {used} of the request that read them: the DUT sends table data big-endian "
                 "(REQ-APP-013, MEP-DG:541 'LSB (Least Significant Byte first)')", req="REQ-APP-013")
