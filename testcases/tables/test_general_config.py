"""BT00 General Configuration, BT01 identification and BT03 status (TS 104 001 Clause 5, Annex A).

Sources (osgpct/requirements.yaml): OPG p.19, p.45-49; MEP-DG p.194-196; C12.19 GEN_CONFIG layout per Aclara and
termineter for the bitmaps from offset 19.
"""

from __future__ import annotations

from osgp.app import ResponseCode, bt, et, table_name
from osgp.tables import BT03_MFG_STATUS, Dimensions, schema
from osgpct.dut import Dut, hexs
from osgpct.testcase import Verdict, testcase

#: ISO 646 (CHAR_FORMAT 1) and ISO 8859-1 (CHAR_FORMAT 2) graphic characters, plus space and NUL padding.
_CHARSETS = {1: frozenset(range(0x20, 0x7F)) | {0}, 2: frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))
             | {0}}
_MFG_ITEM = {name: n for n, name in BT03_MFG_STATUS.items()}
NI_FORMAT_MAX = 13  # ANSI C12.19 non-integer format codes 0 (FLOAT64) .. 13 (FLOAT_CHAR21); 8 = INT32


def _write_only(tid: int) -> bool:
    """Tables the guides document as write-only (BT07 procedure initiate): a refused read is no fault."""
    try:
        return schema(tid).access.startswith("write only")
    except KeyError:
        return False


@testcase(
    id="TC_TBL_BT00_BV_01",
    title="BT00 is readable and its length matches its own bitmap dimensions",
    purpose="Ensure that, when the tester reads BT00 in full, the DUT returns a General Configuration table of at "
            "least its 19-byte header (whether the C12.19 sets of the sizes at offsets 13-16 follow is noted)",
    requirements=["REQ-TBL-001", "REQ-TBL-005"],
    steps=[("Full read of BT00", "0x00 with at least 19 bytes"),
           ("Compare the length with the header and the C12.19 sets BT00.13-16 size", "noted: equal (REQ-TBL-005 "
            "reading 1) or not (reading 2, bytes from offset 19 reserved, MEP-DG:10139); both conform")],
)
def test_bt00_length(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.48-49, MEP-DG p.194-196 (tbl §8.1); C12.19
    GEN_CONFIG layout per Aclara (tbl §8.1) [READ]; MEP-DG:10139 calls everything from offset 19 'reserved for
    internal use', so REQ-TBL-005 is ambiguous: both readings accept any length from 19 bytes (the step 1 check);
    which reading the DUT takes is noted."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        r = dut.read(bt(0))
        tc.check(r.ok, f"BT00 read answered {r.describe()} (REQ-TBL-001)", stop=True, req="REQ-TBL-001")
        tc.check(len(r.data) >= 19, f"BT00 is {len(r.data)} bytes, shorter than its 19-byte header (REQ-TBL-001)",
                 stop=True, req="REQ-TBL-001")
    with tc.step(2):
        header = schema(bt(0))
        dims = Dimensions.from_tables({bt(0): header.decode_partial(r.data[:19], Dimensions.from_tables({}))})
        expected = header.size(dims)
        # Both readings of REQ-TBL-005 accept any length from 19 bytes, which step 1 judges: only the reading is noted.
        if len(r.data) == expected:
            tc.observe(f"BT00 is {expected} bytes: the header plus the C12.19 sets of the sizes at offsets 13-16 "
                       "(REQ-TBL-005 reading 1)")
        else:
            tc.observe(f"BT00 is {len(r.data)} bytes, not the {expected} that the C12.19 sets of the sizes at offsets "
                       f"13-16 (std tables {r.data[13]}, mfg tables {r.data[14]}, std procs {r.data[15]}, mfg procs "
                       f"{r.data[16]}) would give: its bytes from offset 19 are read as reserved for internal use "
                       "(MEP-DG:10139, REQ-TBL-005 reading 2)")


@testcase(
    id="TC_TBL_BT00_BV_02",
    title="BT00 declares the OSGP data formats",
    purpose="Ensure that, when the tester reads BT00, the DUT declares DATA_ORDER 0 (LSB first), CHAR_FORMAT 1 or 2, "
            "INT_FORMAT 0, TM_FORMAT 2, NI_FORMAT1 and NI_FORMAT2 8 (INT32, the guides' value) or another ANSI C12.19 "
            "non-integer format code (0-13), and DATA_ACCESS_METHOD 1 or 3 when it declares partial reads",
    requirements=["REQ-TBL-002", "REQ-TBL-003", "REQ-TBL-004"],
    steps=[("Full read of BT00 and decode", "0x00"),
           ("Check the format fields", "DATA_ORDER 0, CHAR_FORMAT 1|2, INT_FORMAT 0, TM_FORMAT 2, NI formats 8 "
            "(another C12.19 code 0-13 is noted)"),
           ("Compare with the declared PICS (PICS_PARTIAL_READ)", "DATA_ACCESS_METHOD 1 or 3 if partial reads are "
            "declared; mismatches are noted")],
)
def test_bt00_formats(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.48, ISO 646 / ISO 8859-1 among the TS
    normative references (tbl §8.1, §11.1 DM-01, DM-02); OPG p.5-7, p.48 (tbl §2.2, §11.1 DM-03); OPG p.5, p.48
    (tbl §8.1, §11.1 DM-04)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
    with tc.step(2):
        tc.check(b.data_order == 0, f"BT00 DATA_ORDER is {b.data_order}; OSGP table data is LSB first (0) "
                 "(REQ-TBL-002)", req="REQ-TBL-002")
        tc.check(b.char_format in (1, 2), f"BT00 CHAR_FORMAT is {b.char_format}; 1 (ISO 646) or 2 (ISO 8859-1) "
                 "expected (REQ-TBL-002)", req="REQ-TBL-002")
        tc.check(b.int_format == 0, f"BT00 INT_FORMAT is {b.int_format}; 0 (two's complement) expected (REQ-TBL-002)",
                 req="REQ-TBL-002")
        tc.check(b.tm_format == 2, f"BT00 TM_FORMAT is {b.tm_format}; 2 (UINT8 fields) expected (REQ-TBL-003)",
                 req="REQ-TBL-003")
        # REQ-TBL-004 is ambiguous: 8 = INT32 "for this meter" (OPG:177), or, the rows being VCI 'P', another
        # ANSI C12.19 non-integer format code (0-13; 14 and 15 are not assigned, tables-and-procedures.md BT00.2).
        ni = (b.ni_format1, b.ni_format2)
        tc.check(all(0 <= f <= NI_FORMAT_MAX for f in ni), f"BT00 NI_FORMAT1/NI_FORMAT2 are {ni[0]}/{ni[1]}: not "
                 "a C12.19 non-integer format code (0-13; the guides give 8, INT32) (REQ-TBL-004)", req="REQ-TBL-004")
        if ni != (8, 8):
            tc.observe(f"BT00 NI_FORMAT1/NI_FORMAT2 are {ni[0]}/{ni[1]}, not the guides' 8 (INT32): REQ-TBL-004 "
                       "reading 2; this suite's codec sizes NI_FMAT fields as INT32, so TC_TBL_SIZE_CA_01 cannot "
                       "judge the table sizes (INCONC there)")
    with tc.step(3):
        tc.observe_pics(b)
        if dut.partial_read:
            tc.check(b.data_access_method in (1, 3), f"PICS_PARTIAL_READ is declared but BT00 DATA_ACCESS_METHOD is "
                     f"{b.data_access_method}; 1 or 3 expected (REQ-TBL-002)", req="REQ-TBL-002")


@testcase(
    id="TC_TBL_BT00_CA_01",
    title="BT00 used-table bitmaps: listed tables answer 0x00, unlisted ones 0x05",
    purpose="Ensure that, when BT00 carries the C12.19 used-table sets of the sizes its header declares and the "
            "tester reads every basic and extended table id they cover, the DUT answers 0x00 for each table whose bit "
            "is set and 0x05 for each table whose bit is clear (a BT00 whose bytes from offset 19 are reserved "
            "promises nothing: mismatches are noted)",
    requirements=["REQ-TBL-006", "REQ-APP-018"],
    pixit=["max_apdu"],
    steps=[("Read BT00", "0x00; the bitmaps decode; declared PICS compared with what BT00 shows; BT00 is 19 bytes + "
            "the C12.19 sets (REQ-TBL-006 reading 1) or not (reading 2: the bits are not judged)"),
           ("Full read of every basic table id 0 .. 8×BT00.13−1", "0x00 where listed (0x04 for a table longer than "
            "one answer; any code but 0x05 for a write-only table such as BT07), 0x05 where not listed"),
           ("Full read of every extended table id 2048 .. 2048+8×BT00.14−1", "the same")],
)
def test_bitmap_scan(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); C12.19 bitmaps (Aclara, termineter), OPG p.24
    (tbl §6, §8.1, §11.1 DM-05); OPG:2404-2419 'each bit in the set represents a specific Basic Table'; MEP-DG:10139
    reserves BT00 from offset 19 (REQ-TBL-006 ambiguous: reading 1 when BT00 is exactly header + the sets its
    header sizes, else reading 2); OPG p.24, p.28, p.53, documented fallback BT21 to BT20 (tbl §4.2)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        tc.observe_pics(b)
        raw = dut.read(bt(0))
        tc.require(raw.ok, f"BT00 read answered {raw.describe()}")
        header = schema(bt(0))
        sets_len = header.size(Dimensions.from_tables({bt(0): header.decode_partial(raw.data[:19],
                                                                                     Dimensions.from_tables({}))}))
        c1219 = len(raw.data) == sets_len
        if not c1219:
            tc.observe(f"BT00 is {len(raw.data)} bytes, not the {sets_len} of its header plus the C12.19 sets: its "
                       "bytes from offset 19 are read as reserved (MEP-DG:10139, REQ-TBL-006 reading 2); the bits "
                       "promise nothing and only REQ-APP-018 (an absent table answers 0x05) is judged")

    def mismatch(ok: bool, reason: str, req: str = "REQ-TBL-006") -> None:
        """A bitmap/answer mismatch: a failed check under reading 1 (C12.19 sets), a note under reading 2."""
        if c1219:
            tc.check(ok, reason, req=req)
        elif not ok:
            tc.observe(f"{reason} — not judged: REQ-TBL-006 reading 2")

    def scan(ids: list[int]) -> None:
        for tid in ids:
            if tid == bt(0):
                continue
            r = dut.read(tid)
            size = dut.size(tid) if dut.listed(tid) and not r.ok else None
            if dut.listed(tid):
                if not r.ok and r.code != ResponseCode.ISC and not _write_only(tid) and (size is None
                                                                                        or size > dut.budget):
                    # Longer than one answer (or of unknown size): any refusal is allowed (REQ-APP-005 readings);
                    # a partial read shows whether the table is there.
                    there = dut.partial_read and dut.read_partial(tid, 0, 1).ok
                    mismatch(there or not dut.partial_read, f"{table_name(tid)} is listed in BT00, refused a full read "
                             f"({r.describe()}, {size or 'unknown'} bytes) and a partial read of its first byte "
                             "(REQ-TBL-006)")
                    tc.observe(f"{table_name(tid)}: {r.describe()} to a full read (longer than one answer)")
                elif r.code == ResponseCode.ONP:
                    mismatch(size is None, f"{table_name(tid)} is listed in BT00 but a full read answered 0x04 "
                             f"although it is {size} bytes (REQ-TBL-006)")
                    tc.observe(f"{table_name(tid)}: 0x04 to a full read")
                elif not r.ok and _write_only(tid):
                    mismatch(r.code != ResponseCode.IAR, f"{table_name(tid)} is listed in BT00 but a read answered "
                             "0x05 (not implemented) (REQ-TBL-006)")
                    tc.observe(f"{table_name(tid)} (write-only per the guides) refused a read: {r.describe()}")
                elif r.code == ResponseCode.ISC:
                    tc.record(Verdict.INCONC, f"{table_name(tid)} is listed but the key of the plan may not read it "
                              "(0x03)")
                else:
                    mismatch(r.ok, f"{table_name(tid)} is listed in BT00 but a read answered {r.describe()} "
                             "(REQ-TBL-006: C12.19 bitmaps)")
            elif r.ok:
                mismatch(False, f"{table_name(tid)} is not listed in BT00 but a read answered {r.describe()}: an "
                         "unlisted table is served (REQ-TBL-006)")
            elif r.code != ResponseCode.IAR:
                # An unlisted table is absent under reading 1 (0x05, REQ-APP-018); under reading 2 a refusal other
                # than 0x05 may come from a table that exists.
                mismatch(False, f"{table_name(tid)} is not listed in BT00 but a read answered {r.describe()}; 0x05 "
                         "expected for a table that is not implemented (REQ-APP-018)", req="REQ-APP-018")

    with tc.step(2):
        scan([bt(n) for n in range(8 * b.dim_std_tbls_used)])
    with tc.step(3):
        scan([et(n) for n in range(8 * b.dim_mfg_tbls_used)])


@testcase(
    id="TC_TBL_BT01_BV_01",
    title="BT01 identification: length, serial number, character set and packed firmware version",
    purpose="Ensure that, when the tester reads BT01, the DUT returns 24 bytes when BT00 ID_FORM is 1 (32 when 0), "
            "a BCD serial number of digits 0-9, MANUFACTURER and ED_MODEL in the BT00 character set, and a firmware "
            "version packed MSB first as x.yy.zz with x ≤ 9, yy ≤ 99, zz ≤ 31",
    requirements=["REQ-TBL-007", "REQ-TBL-008"],
    steps=[("Read BT00 and BT01", "0x00"),
           ("Check the length against ID_FORM", "24 (ID_FORM 1) or 32 (ID_FORM 0)"),
           ("Check the serial number and the character fields", "BCD digits 0-9; characters of CHAR_FORMAT"),
           ("Decode bytes 14-15 MSB first", "x ≤ 9, yy ≤ 99, zz ≤ 31; compared with the plan's firmware version")],
)
def test_bt01_identity(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.19, MEP-DG p.196 (tbl §8.2); OPG p.19,
    examples 0x3018 = 3.00.24, 0x3155 = 3.10.21 (tbl §8.2, §10.6)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        tc.require(dut.listed(bt(1)), "BT00 does not list BT01")
        r = dut.read(bt(1))
        tc.check(r.ok, f"BT01 read answered {r.describe()} (REQ-TBL-007)", stop=True, req="REQ-TBL-007")
        data = r.data
    with tc.step(2):
        want = 24 if b.id_form == 1 else 32
        tc.check(len(data) == want, f"BT01 is {len(data)} bytes; BT00 ID_FORM {b.id_form} makes it {want} "
                 "(REQ-TBL-007)", stop=True, req="REQ-TBL-007")
        value = dut.decode(bt(1), data, requirement="REQ-TBL-007")
    with tc.step(3):
        s, dims = schema(bt(1)), dut.dims()
        if b.id_form == 1:
            off, n = s.field_offset("mfg_serial_number", dims)
            nibbles = [x for byte in data[off:off + n] for x in (byte >> 4, byte & 0xF)]
            tc.check(all(x <= 9 for x in nibbles), f"BT01 serial number {hexs(data[off:off + n])} holds nibbles "
                     "other than BCD digits 0-9 (REQ-TBL-007)", req="REQ-TBL-007")
        charset = _CHARSETS.get(b.char_format, _CHARSETS[2])
        for path in ("manufacturer", "ed_model") + (("mfg_serial_number",) if b.id_form == 0 else ()):
            off, n = s.field_offset(path, dims)
            bad = [c for c in data[off:off + n] if c not in charset]
            tc.check(not bad, f"BT01.{path} {hexs(data[off:off + n])} holds bytes outside CHAR_FORMAT "
                     f"{b.char_format}: {hexs(bytes(bad))} (REQ-TBL-007)", req="REQ-TBL-007")
    with tc.step(4):
        if value is None:
            return
        x, yy, zz = value.fw_major, value.fw_minor, value.fw_build
        tc.check(x <= 9 and yy <= 99 and zz <= 31, f"BT01 firmware version {x}.{yy}.{zz} (bytes 14-15) is out of "
                 "range: x ≤ 9, yy ≤ 99, zz ≤ 31 (REQ-TBL-008)", req="REQ-TBL-008")
        shown = f"{x}.{yy:02d}.{zz:02d}"
        declared = plan.dut.firmware
        if declared:
            if declared.strip() == shown:
                tc.observe(f"firmware version {shown} as the plan declares")
            else:
                tc.observe(f"BT01 shows firmware {shown}; the plan declares {declared}")


@testcase(
    id="TC_TBL_BT03_BV_01",
    title="BT03 is 4 + BT00.17 bytes",
    purpose="Ensure that, when the tester reads BT03, the DUT returns the mode byte, the two standard status bytes, "
            "the extended byte and exactly BT00.17 (DIM_MFG_STATUS_USED) manufacturer status bytes",
    requirements=["REQ-TBL-009"],
    steps=[("Read BT00 and BT03", "0x00"),
           ("Compare the length", "4 + BT00.17 bytes")],
)
def test_bt03_length(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.45-47, C12.19 ST3 (tbl §8.3); OPG:2266 the
    manufacturer set is 'dimensioned by BT00.17' from offset 4 (the guides differ only on BT00.17's value, 4 or 9)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        tc.require(dut.listed(bt(3)), "BT00 does not list BT03")
        r = dut.read(bt(3))
        tc.check(r.ok, f"BT03 read answered {r.describe()}", stop=True)
    with tc.step(2):
        want = 4 + b.dim_mfg_status_used
        tc.check(len(r.data) == want, f"BT03 is {len(r.data)} bytes; 4 + BT00.17 ({b.dim_mfg_status_used}) = {want} "
                 "(REQ-TBL-009: the manufacturer set is 'dimensioned by BT00.17', OPG:2266)")


@testcase(
    id="TC_TBL_BT03_BV_02",
    title="BT03 'event log unread entries' follows BT74 NBR_UNREAD_ENTRIES",
    purpose="Ensure that, when the tester reads BT74's unread-entry count and BT03, the DUT's BT03 manufacturer "
            "status 'event log unread entries' is set exactly when BT74 NBR_UNREAD_ENTRIES is non-zero",
    requirements=["REQ-TBL-010"],
    pics="PICS_EVENT_LOG",
    steps=[("Read BT74.NBR_UNREAD_ENTRIES, BT03, BT74.NBR_UNREAD_ENTRIES again", "the two BT74 readings agree"),
           ("Compare", "BT03 item 28 set ⇔ unread entries > 0")],
)
def test_bt03_event_log_flag(tc, session, plan):
    """Source: TS 104 001 Clause 5, Clauses 7-8 (clause unknown); OPG p.47 (tbl §9.3, §11.5 EV-04) [READ]; live
    rather than latched [INFERRED]."""
    dut = Dut(tc, session, plan)
    item = _MFG_ITEM["event_log_unread_entries"]
    with tc.step(1):
        tc.require(dut.listed(bt(3)) and dut.listed(bt(74)), "BT00 does not list BT03 and BT74")
        tc.require(dut.bt00().dim_mfg_status_used * 8 > item, "BT03 has no manufacturer status byte for item 28")
        for _ in range(3):
            u1 = dut.read_field(bt(74), "nbr_unread_entries")
            r = dut.read(bt(3))
            tc.require(r.ok, f"BT03 read answered {r.describe()}")
            u2 = dut.read_field(bt(74), "nbr_unread_entries")
            if u1 == u2:
                break
        tc.require(u1 == u2, "BT74 NBR_UNREAD_ENTRIES kept changing around the BT03 read")
        value = dut.decode(bt(3), r.data)
        tc.require(value is not None, "BT03 does not decode")
    with tc.step(2):
        flag = item in value.ed_mfg_status
        tc.observe(f"BT74 unread entries {u1}, BT03 flag {'set' if flag else 'clear'}")
        tc.check(flag == (u1 > 0), f"BT03 'event log unread entries' is {'set' if flag else 'clear'} while BT74 "
                 f"NBR_UNREAD_ENTRIES is {u1} (REQ-TBL-010, inferred: the flag is live, not latched)")
