"""APP read services: table ids, full read, partial read, overrun, size limit (TS 104 001 Clause 9).

Sources (osgpct/requirements.yaml): MEP-DG Tables 2.5-2.7 p.10-12 and examples pp.15-17; OPG p.7-9 (full and
partial read services, overrun rule).
"""

from __future__ import annotations

from osgp.app import bt, et, table_name
from osgp.tables import schema
from osgpct.dut import Dut, hexs
from osgpct.testcase import testcase

#: Tables whose content does not move by itself (no clock, counter or register inside), preferred for
#: comparing reads taken at different moments.
STATIC_CANDIDATES = (bt(0), bt(1), bt(20), bt(21), bt(22), bt(50), bt(60), bt(61), bt(62), bt(70), bt(71),
                     et(3), et(11), et(29))
#: Start of the reference read of the 3-byte offset probe: below 256, so its offset's upper bytes are zero.
REF_OFF = 240


def static_tables(dut: Dut) -> dict[int, bytes]:
    """Listed candidate tables whose full read fits one answer and gives the same bytes twice."""
    out: dict[int, bytes] = {}
    for tid in STATIC_CANDIDATES:
        if not dut.listed(tid):
            continue
        a = dut.read(tid)
        if not a.ok or not a.data or len(a.data) > dut.budget:
            continue
        b = dut.read(tid)
        if b.ok and b.data == a.data:
            out[tid] = a.data
    dut.tc.require(out, "no listed table gave the same content twice in one answer (needed to compare reads)")
    return out


@testcase(
    id="TC_APP_READ_BV_01",
    title="Table ids: basic table n is id n, extended table n is id 2048 + n",
    purpose="Ensure that, when the tester reads ids 0x0000, 0x0001, 0x0803 and 0x0804 in OSGP requests carried as "
            "14908-1 explicit messages, the DUT answers in the same envelope with BT00, BT01, ET03 and ET04, the "
            "table ids being read big-endian",
    requirements=["REQ-APP-001", "REQ-APP-003", "REQ-APP-004"],
    pixit=["apdu_prefix"],
    initial="The DUT is commissioned at the plan's address; BT00 lists BT01 (and ET03/ET04 where implemented).",
    steps=[("Full read of id 0x0000 and 0x0001", "0x00; the answers decode as BT00 and as BT01 at the size BT00 "
            "implies (a DUT reading the id little-endian would answer table 0x0100 = 256: 0x05)"),
           ("Full read of id 0x0803 (ET03) when BT00 lists ET03", "0x00; decodes as ET03 (143 bytes)"),
           ("Full read of id 0x0804 (ET04) when BT00 lists ET04", "0x00; ET04 holds the Neuron ID, subnet and node the "
            "plan addresses the DUT with (else INCONC: those fields are judged by REQ-MGT-006/-007)")],
)
def test_table_ids(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG ET04 offset 12 bit 0 p.56-57 (app §3); OPG p.7-8,
    MEP-DG p.38-41 (tbl §2.1, app §2.3); MEP-DG Table 2.7 p.12 (app §2.1, §2.4)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        dut.bt00()  # id 0x0000 answered and decoded
        tc.require(dut.listed(bt(1)), "BT00 does not list BT01")
        r = dut.read(bt(1))
        tc.check(r.ok, f"read of id 0x0001 (BT01) answered {r.describe()} (REQ-APP-004)", stop=True, req="REQ-APP-004")
        dut.decode(bt(1), r.data, requirement="REQ-APP-004")
    with tc.step(2):
        if dut.listed(et(3)):
            r = dut.read(et(3))
            tc.check(r.ok, f"read of id 0x0803 (ET03) answered {r.describe()} (REQ-APP-004)", req="REQ-APP-004")
            if r.ok:
                dut.decode(et(3), r.data)  # layout rests on ASM-TBL-02: a mismatch is INCONC here (Dut.judge)
        else:
            tc.observe("BT00 does not list ET03: id 0x0803 not exercised")
    with tc.step(3):
        if not dut.listed(et(4)):
            tc.observe("BT00 does not list ET04: the address cross-check is not exercised")
            return
        r = dut.read(et(4))
        tc.check(r.ok, f"read of id 0x0804 (ET04) answered {r.describe()} (REQ-APP-004)", stop=True, req="REQ-APP-004")
        # The ET04 layout and field meanings are MEP-DG's for NES meters (ASM-TBL-02), not the table-id rule: a
        # table that does not decode, or fields that differ from the plan, are judged by the cases citing the ET04
        # requirements (REQ-MGT-006/-007); here they are INCONC naming those (Dut.judge).
        value = dut.decode(et(4), r.data)
        if value is None:
            return
        a = plan.address
        if a.neuron_id is not None:
            dut.judge(value.transceiver_id == a.neuron_id,
                      f"id 0x0804 returned a table whose Neuron ID (ET04.4) is {value.transceiver_id.hex()}, not the "
                      f"DUT's {a.neuron_id.hex()} (ET04 layout rests on ASM-TBL-02)", "REQ-MGT-007")
        dut.judge((value.subnet_id, value.node_id) == (a.subnet, a.node),
                  f"ET04 subnet/node {value.subnet_id}/{value.node_id} differ from the address the DUT answered on "
                  f"({a.subnet}/{a.node}) (ET04 layout rests on ASM-TBL-02)", "REQ-MGT-006")


@testcase(
    id="TC_APP_READ_BV_02",
    title="Full read returns count = table size and exactly count bytes",
    purpose="Ensure that, when the tester fully reads each table BT00 lists, the DUT answers 0x00 with a count equal "
            "to the size the DUT's own dimensions imply and exactly that many bytes (a table too long for one answer "
            "may be refused, with any error code, and read in parts)",
    requirements=["REQ-APP-005", "REQ-APP-014"],
    pixit=["max_apdu"],
    steps=[("Read BT00 and the dimension tables", "0x00, they decode"),
           ("Full read of every table BT00 lists that has a known layout", "0x00, count = bytes received = size "
            "(at least the known part for open-ended tables); a refusal without data only when the table exceeds one "
            "answer")],
)
def test_full_read_count(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); OPG p.9 full read service, MEP-DG Table 2.7 p.12 (tbl §4.1,
    app §2.1); MEP-DG examples pp.15-17 (no C12.18 checksum)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        dims = dut.dims()
    with tc.step(2):
        checked = []
        for tid in dut.listed_tables():
            try:
                s = schema(tid)
            except KeyError:
                tc.observe(f"{table_name(tid)}: no layout known to the suite, length not judged")
                continue
            size = dut.size(tid, dims)
            if size is None:
                tc.observe(f"{table_name(tid)}: size not computable from the dimensions read")
                continue
            r = dut.read(tid)
            if not r.ok and not r.data and size > dut.budget:
                # No source gives the code that refuses a table too long for one answer (MEP-DG:465-469 lists
                # 0x04 and 0x05 without that case): any refusal without data is accepted.
                tc.observe(f"{table_name(tid)} ({size} bytes) refused in one answer with {r.describe()}: longer "
                           f"than {dut.budget} data bytes (pixit.max_apdu {plan.pixit.max_apdu})")
                continue
            if not tc.check(r.ok, f"full read of {table_name(tid)} (listed in BT00, {size} bytes) answered "
                            f"{r.describe()} (REQ-APP-005)", req="REQ-APP-005"):
                continue
            if s.open_ended:
                tc.check(len(r.data) >= size, f"full read of {table_name(tid)} returned {len(r.data)} bytes, fewer "
                         f"than the {size} of its known fields (REQ-APP-005)", req="REQ-APP-005")
            else:
                tc.check(len(r.data) == size, f"full read of {table_name(tid)} returned {len(r.data)} bytes; the "
                         f"table is {size} bytes for the dimensions the DUT declares (REQ-APP-005)", req="REQ-APP-005")
            checked.append(table_name(tid))
        tc.observe(f"full reads judged: {', '.join(checked)}")


@testcase(
    id="TC_APP_READ_BV_03",
    title="Partial read returns the bytes of the full read from offset on",
    purpose="Ensure that, when the tester reads a table in part at offsets and counts drawn at random, the DUT "
            "answers 0x00 with the requested count and the same bytes as the full read at that offset, the 3-byte "
            "offset and 2-byte count being read big-endian",
    requirements=["REQ-APP-006", "REQ-APP-003"],
    pics="PICS_PARTIAL_READ",
    steps=[("Find tables whose content is stable (two equal full reads)", "at least one"),
           ("Partial reads at offset 0, 1, the last byte and random offsets/counts inside each table",
            "0x00, count = requested, data = slice of the full read"),
           ("Partial read [o:+16] at o = 266.. (offset bytes 00 01 xx, whose bytes differ from those at xx) between "
            "two reads starting at offset 240", "0x00, data = the bytes at o of the reads from 240 (offset read MSB "
            "first, all 3 bytes)")],
)
def test_partial_read_slice(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); OPG p.9 partial read service, MEP-DG examples pp.15-16
    (tbl §4.1, app §6.2); MEP-DG Table 2.7 p.12 (app §2.1, §2.4)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        images = static_tables(dut)
    with tc.step(2):
        for tid, image in images.items():
            spans = {(0, min(4, len(image))), (1, min(2, len(image) - 1)), (len(image) - 1, 1)}
            for _ in range(3):
                off = tc.rng.randrange(len(image))
                spans.add((off, tc.rng.randint(1, len(image) - off)))
            for off, count in sorted(spans):
                if count <= 0:
                    continue
                r = dut.read_partial(tid, off, count)
                if not tc.check(r.ok, f"partial read {table_name(tid)}[{off}:+{count}] answered {r.describe()} "
                                "(REQ-APP-006)", req="REQ-APP-006"):
                    continue
                want = image[off:off + count]
                tc.check(r.data == want, f"partial read {table_name(tid)}[{off}:+{count}] returned {hexs(r.data)}; "
                         f"the full read has {hexs(want)} there (REQ-APP-006)", req="REQ-APP-006")
    with tc.step(3):
        # Reference bytes independent of the offset's upper bytes: a partial read starting below 256 (offset bytes
        # 00 00 xx, whose low byte step 2 has judged) that runs across 256 holds the bytes at the probe offset
        # (00 01 xx). The probe must return them: a DUT ignoring the upper offset bytes answers from offset xx (its
        # "alias", checked to hold other bytes), one reading the offset LSB first from xx 01 00 (past the end).
        longs = [t for t in dut.listed_tables() if (dut.size(t) or 0) >= REF_OFF + 64]
        if not longs:
            tc.observe(f"no listed table of {REF_OFF + 64} bytes or more: offsets of 256+ not exercised")
            return
        for long in longs[:4]:  # the first table whose bytes at 256+ differ from their low-byte aliases
            n = min(dut.budget, dut.size(long) - REF_OFF)
            for _ in range(2):  # the table may change between the reads (a log entry): compare twice at most
                a = dut.read_partial(long, REF_OFF, n)
                off = 0x10A
                for o in range(0x10A, REF_OFF + n - 16, 13):  # the first offset whose low-byte alias differs
                    alias = dut.read_partial(long, o & 0xFF, 16)
                    if a.ok and alias.ok and alias.data != a.data[o - REF_OFF:o - REF_OFF + 16]:
                        off, telling = o, True
                        break
                else:
                    telling = False
                r = dut.read_partial(long, off, 16)
                b = dut.read_partial(long, REF_OFF, n)
                if a.ok and b.ok and a.data == b.data:
                    break
            if not (a.ok and b.ok and a.data == b.data and len(a.data) == n):
                tc.observe(f"{table_name(long)}[{REF_OFF}:+{n}] could not be read twice alike ({a.describe()}, "
                           f"{b.describe()})")
                continue
            if telling:
                break
            tc.observe(f"{table_name(long)}: the bytes at offsets 266.. equal those at their low-byte aliases")
        tc.require(a.ok and b.ok and a.data == b.data and len(a.data) == n,
                   "no table of 256+ bytes could be read twice alike from offset 240")
        if not telling:
            tc.observe("a DUT ignoring the upper offset bytes would not be told apart by these tables")
        want = a.data[off - REF_OFF:off - REF_OFF + 16]
        tc.check(r.ok, f"partial read {table_name(long)}[{off}:+16] answered {r.describe()} (REQ-APP-006)",
                 stop=True, req="REQ-APP-006")
        tc.check(r.data == want, f"partial read {table_name(long)}[{off}:+16] (offset bytes "
                 f"{hexs(off.to_bytes(3, 'big'))}) returned {hexs(r.data)}; the read [{REF_OFF}:+{n}] before and "
                 f"after holds {hexs(want)} there: the 3-byte offset is not read MSB first (REQ-APP-003)",
                 req="REQ-APP-003")


@testcase(
    id="TC_APP_READ_BV_04",
    title="Partial read past the end of a table is padded with zeros, without error",
    purpose="Ensure that, when a partial read runs past the end of a table or starts at or beyond it, the DUT "
            "answers 0x00 with the table's last bytes followed by zeros (or, when nothing of the table lies there, "
            "zeros or a refusal without data, whatever its code), never bytes of another table",
    requirements=["REQ-APP-007", "REQ-APP-008"],
    pics="PICS_PARTIAL_READ",
    steps=[("Full read of a stable table of size S (twice, equal); partial read [S-4 : +4]", "0x00; the last 4 bytes "
            "(else INCONC: REQ-APP-006)"),
           ("Partial read [S-4 : +12]", "0x00, 12 bytes: the last 4 bytes of the table then 8 zero bytes"),
           ("Partial read [S : +8] and [S+64 : +8]", "0x00 with 8 zero bytes, or a refusal without data")],
)
def test_partial_read_overrun(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); OPG p.9 partial read service and overrun rule (tbl §4.1);
    out-of-range offset code (app §7 TP-APDU-05) [INFERRED]."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        images = static_tables(dut)
        tid, image = max(((t, i) for t, i in images.items() if len(i) >= 4), key=lambda x: len(x[1]),
                         default=(None, b""))
        tc.require(tid is not None, "no stable table of 4 bytes or more")
        size = len(image)
        # Precondition: a partial read inside the table gives its bytes (REQ-APP-006, judged by TC_APP_READ_BV_03);
        # otherwise the overrun below could not be told from a wrong offset: INCONC here (Dut.judge).
        inside = dut.read_partial(tid, size - 4, 4)
        dut.judge(inside.ok and inside.data == image[-4:], f"partial read {table_name(tid)}[{size - 4}:+4] inside "
                  f"the table answered {inside.describe()} {hexs(inside.data)}, not its last 4 bytes "
                  f"{hexs(image[-4:])}", "REQ-APP-006", stop=True)
    with tc.step(2):
        r = dut.read_partial(tid, size - 4, 12)
        tc.check(r.ok, f"partial read {table_name(tid)}[{size - 4}:+12] running 8 bytes past the end answered "
                 f"{r.describe()}; an overrun is no error (REQ-APP-007)", stop=True, req="REQ-APP-007")
        want = image[-4:] + bytes(8)
        tc.check(r.data == want, f"partial read {table_name(tid)}[{size - 4}:+12] returned {hexs(r.data)}; expected "
                 f"the last 4 table bytes then 8 zeros: {hexs(want)} (REQ-APP-007)", req="REQ-APP-007")
    with tc.step(3):
        for off in (size, size + 64):
            r = dut.read_partial(tid, off, 8)
            if r.ok:
                tc.check(r.data == bytes(8), f"partial read {table_name(tid)}[{off}:+8], at or past the end of the "
                         f"{size}-byte table, returned {hexs(r.data)}: only zeros may come back (REQ-APP-008, "
                         "inferred)", req="REQ-APP-008")
            else:
                # No source describes a read starting at or past the end, nor a code for it: any refusal without
                # data is accepted (REQ-APP-008 is inferred, so even a departure is a deviation).
                tc.observe(f"partial read {table_name(tid)}[{off}:+8] past the end refused with {r.describe()}")
                tc.check(not r.data, f"partial read {table_name(tid)}[{off}:+8] past the end was refused with "
                         f"{r.describe()} carrying data {hexs(r.data)} (REQ-APP-008, inferred)", req="REQ-APP-008")


@testcase(
    id="TC_APP_READ_BV_05",
    title="A read of the power-line size limit returns every requested byte",
    purpose="Ensure that, when the tester reads as many bytes as one answer within pixit.max_apdu can carry, the "
            "DUT returns all of them in one response",
    requirements=["REQ-APP-022"],
    pics="PICS_PARTIAL_READ",
    pixit=["max_apdu"],
    steps=[("Pick a listed table at least as long as one full answer", "one exists"),
           ("Partial read of that many bytes at offset 0", "0x00 with exactly that many bytes")],
)
def test_read_at_size_limit(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); PLC limit (app §2.5, §9 item 2) [NOT FOUND]; 14908 APDU of
    229 bytes fits any addressing (low §1.1) [READ]. Rests on ASM-APP-05 (pixit.max_apdu)."""
    dut = Dut(tc, session, plan)
    n = dut.budget
    with tc.step(1):
        tid = next((t for t in dut.listed_tables() if (dut.size(t) or 0) >= n), None)
        tc.require(tid is not None, f"no table BT00 lists is {n} bytes or longer")
    with tc.step(2):
        r = dut.read_partial(tid, 0, n)
        tc.check(r.ok, f"partial read {table_name(tid)}[0:+{n}] (an answer of {plan.pixit.max_apdu} APDU bytes) "
                 f"answered {r.describe()} (REQ-APP-022, rests on ASM-APP-05)", stop=True, req="REQ-APP-022")
        tc.check(len(r.data) == n, f"partial read {table_name(tid)}[0:+{n}] returned {len(r.data)} bytes "
                 "(REQ-APP-022, rests on ASM-APP-05)", req="REQ-APP-022")
