"""APP write services: full and partial write, count rules, refusals (TS 104 001 Clause 9).

Every case works on a "scratch" table (osgpct/dut.py SCRATCH: ET03 utility serial number, else BT05
device identification) that BT00 lists as written, and writes its original content back at the end.

Sources (osgpct/requirements.yaml): MEP-DG Table 2.5 p.10-11, Table 2.7 p.12 and the write example p.17.
"""

from __future__ import annotations

from osgp.app import ResponseCode, bt, table_name
from osgp.tables import schema
from osgpct.dut import DEFINED_CODES, Dut, hexs
from osgpct.testcase import testcase


def scratch_setup(dut: Dut) -> tuple[int, bytes, int, int, bytes]:
    """(table, original image, field offset, field size, a different valid content for the field)."""
    tid, path, kind = dut.scratch()[0]
    r = dut.read(tid)
    dut.tc.require(r.ok, f"scratch table {table_name(tid)}: full read answered {r.describe()}")
    off, size = schema(tid).field_offset(path, dut.dims())
    dut.tc.require(len(r.data) >= off + size, f"{table_name(tid)} is too short ({len(r.data)} bytes) to hold {path}")
    new_field = Dut.variant(kind, r.data[off:off + size], dut.tc.rng.randrange(64))
    dut.tc.observe(f"scratch table {table_name(tid)}, field {path} at [{off}:+{size}]")
    return tid, r.data, off, size, new_field


def changed(image: bytes, off: int, data: bytes) -> bytes:
    return image[:off] + data + image[off + len(data):]


def diff(a: bytes, b: bytes) -> str:
    where = [i for i in range(max(len(a), len(b))) if a[i:i + 1] != b[i:i + 1]]
    return "no difference" if not where else f"{len(where)} byte(s) differ, first at offset {where[0]}"


@testcase(
    id="TC_APP_WRITE_BV_01",
    title="Full write is acknowledged by 0x00 alone and read back unchanged",
    purpose="Ensure that, when the tester fully writes a writable table (no C12.18 checksum after the data), the DUT "
            "answers 0x00 with no data and a following read returns the written bytes",
    requirements=["REQ-APP-009", "REQ-APP-014", "REQ-APP-015"],
    initial="BT00 lists ET03 or BT05 as written; its content is restored at the end.",
    steps=[("Read the scratch table", "0x00"),
           ("Full write of the table with a changed field", "0x00 alone"),
           ("Full read", "the bytes written"),
           ("Write the original content back", "0x00")],
)
def test_full_write_roundtrip(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.7 p.12, write example p.17 (app §2.1,
    §2.2); MEP-DG examples pp.15-17, digests recomputed (app §2.1, tbl §10); MEP-DG Table 2.5 p.10-11."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tid, original, off, _, new_field = scratch_setup(dut)
    new = changed(original, off, new_field)
    with dut.restoring(tid, original):
        with tc.step(2):
            r = dut.write(tid, new)
            tc.check(r.ok, f"full write of {table_name(tid)} answered {r.describe()} (REQ-APP-009)", stop=True,
                     req="REQ-APP-009")
        with tc.step(3):
            back = dut.read(tid)
            tc.check(back.ok, f"read after the write answered {back.describe()} (REQ-APP-009)", stop=True,
                     req="REQ-APP-009")
            tc.check(back.data == new, f"{table_name(tid)} read back {hexs(back.data)} after writing {hexs(new)}: "
                     f"{diff(back.data, new)} (REQ-APP-009)", req="REQ-APP-009")
    with tc.step(4):
        pass  # the restore ran above; a failure to restore is recorded there


@testcase(
    id="TC_APP_WRITE_BV_02",
    title="Partial write changes exactly count bytes at offset",
    purpose="Ensure that, when the tester writes count bytes at an offset inside a table, the DUT answers 0x00 and "
            "changes exactly those bytes, leaving every other byte of the table unchanged",
    requirements=["REQ-APP-010"],
    pics="PICS_PARTIAL_WRITE",
    initial="BT00 lists ET03 or BT05 as written; its content is restored at the end.",
    steps=[("Read the scratch table", "0x00"),
           ("Partial write of a few bytes inside a field, at an offset > 0", "0x00"),
           ("Full read", "those bytes changed, all others as before"),
           ("Write the original content back", "0x00")],
)
def test_partial_write_exact(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.7 p.12, example p.17 (app §2.1)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tid, original, off, size, new_field = scratch_setup(dut)
        tc.require(size >= 3, f"scratch field of {size} bytes is too short for a write inside it")
    k = min(4, size - 2)
    at = off + 1
    data = new_field[1:1 + k]
    with dut.restoring(tid, original):
        with tc.step(2):
            r = dut.write_partial(tid, at, data)
            tc.check(r.ok, f"partial write {table_name(tid)}[{at}:+{k}] answered {r.describe()} (REQ-APP-010)",
                     stop=True, req="REQ-APP-010")
        with tc.step(3):
            back = dut.read(tid)
            tc.check(back.ok, f"read after the write answered {back.describe()} (REQ-APP-010)", stop=True,
                     req="REQ-APP-010")
            want = changed(original, at, data)
            tc.check(back.data == want, f"after writing {hexs(data)} at {at}, {table_name(tid)} reads "
                     f"{hexs(back.data)}; expected {hexs(want)}: {diff(back.data, want)} (REQ-APP-010)",
                     req="REQ-APP-010")
    with tc.step(4):
        pass


@testcase(
    id="TC_APP_WRITE_BV_03",
    title="Write count rules: a smaller count writes only count bytes, excess data past the table is ignored",
    purpose="Ensure that, when a full write's count is smaller than the table, the DUT writes only the first count "
            "bytes (also when more data follows than the count: it may then refuse, but never writes past count); "
            "and when its count runs past the end of the table, the DUT accepts it and ignores the excess",
    requirements=["REQ-APP-011"],
    initial="BT00 lists ET03 or BT05 as written; its content is restored at the end.",
    steps=[("Read the scratch table (S bytes)", "0x00"),
           ("Full write with count c < S and c data bytes", "0x00"),
           ("Full read", "bytes 0..c-1 changed, bytes c..S-1 as before"),
           ("Full write with count c but the whole changed image (S bytes) as data", "0x00 or a refusal"),
           ("Full read", "unchanged: only count bytes may be written (MEP-DG:534-536)"),
           ("Full write of the changed image plus 8 bytes, count S+8", "0x00"),
           ("Full read", "the changed image, still S bytes"),
           ("Write the original content back", "0x00")],
)
def test_write_count_rules(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.7 p.12 write-count rules (app §2.1, tbl §4.1):
    'If this field is set to a value that is smaller than the size of the table being written to, then only <count>
    bytes will be written' (MEP-DG:534-536); 'if this is set to a value that is larger than the size of the target
    table, then the additional data passed will be ignored' (MEP-DG:532-534). Data longer than the count is covered
    by neither as to acceptance: 0x00 or a refusal are both accepted, more than count bytes written is not."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tid, original, off, size, new_field = scratch_setup(dut)
        tc.require(size >= 2, "scratch field too short")
    new = changed(original, off, new_field)
    c = off + size // 2
    want = new[:c] + original[c:]
    with dut.restoring(tid, original):
        with tc.step(2):
            r = dut.write(tid, new[:c], count=c)
            tc.check(r.ok, f"full write of {table_name(tid)} ({len(new)} bytes) with count {c} and {c} data bytes "
                     f"answered {r.describe()}: a smaller count writes the first count bytes (REQ-APP-011)", stop=True,
                     req="REQ-APP-011")
        with tc.step(3):
            back = dut.read(tid)
            tc.check(back.ok, f"read after the write answered {back.describe()} (REQ-APP-011)", stop=True,
                     req="REQ-APP-011")
            tc.check(back.data == want, f"after a full write with count {c}, {table_name(tid)} reads "
                     f"{hexs(back.data)}; only bytes 0..{c - 1} may change: expected {hexs(want)} "
                     f"({diff(back.data, want)}) (REQ-APP-011)", req="REQ-APP-011")
        with tc.step(4):
            r = dut.write(tid, new, count=c)
            how = "accepted" if r.ok else "refused"
            tc.observe(f"full write with count {c} and {len(new)} data bytes answered {r.describe()} ({how}: the guide "
                       "does not say whether data longer than the count is accepted)")
        with tc.step(5):
            back = dut.read(tid)
            tc.check(back.ok, f"read after the write answered {back.describe()} (REQ-APP-011)", stop=True,
                     req="REQ-APP-011")
            tc.check(back.data == want, f"after a full write with count {c} carrying {len(new)} data bytes ({how}, "
                     f"{r.describe()}), {table_name(tid)} reads {hexs(back.data)}; bytes {c}.. may not change: "
                     f"expected {hexs(want)} ({diff(back.data, want)}): 'only <count> bytes will be written' "
                     "(REQ-APP-011)", req="REQ-APP-011")
        with tc.step(6):
            extra = bytes(tc.rng.randrange(256) for _ in range(8))
            r = dut.write(tid, new + extra)
            tc.check(r.ok, f"full write of {table_name(tid)} with {len(new) + 8} bytes ({len(new)}-byte table) "
                     f"answered {r.describe()}: the excess is to be ignored, without error (REQ-APP-011)",
                     req="REQ-APP-011")
        with tc.step(7):
            back = dut.read(tid)
            tc.check(back.ok, f"read after the write answered {back.describe()} (REQ-APP-011)", stop=True,
                     req="REQ-APP-011")
            if r.ok:
                tc.check(back.data == new, f"after writing the image plus 8 bytes, {table_name(tid)} reads "
                         f"{hexs(back.data)}; expected the image {hexs(new)} (REQ-APP-011)", req="REQ-APP-011")
    with tc.step(8):
        pass


def count_cut(tid: int, offset: int, partial_read: bool, partial_write: bool) -> list[tuple[str, bytes]]:
    """Requests whose 2-byte count (Length) field is missing or 1 byte long (MEP-DG:537-539)."""
    t, o = tid.to_bytes(2, "big"), offset.to_bytes(3, "big")
    out = [("full write: no count", b"\x40" + t), ("full write: 1-byte count", b"\x40" + t + b"\x00")]
    if partial_write:
        out += [("partial write: no count", b"\x4f" + t + o),
                ("partial write: 1-byte count", b"\x4f" + t + o + b"\x00")]
    if partial_read:
        out += [("partial read: no count", b"\x3f" + t + o),
                ("partial read: 1-byte count", b"\x3f" + t + o + b"\x00")]
    return out


@testcase(
    id="TC_APP_WRITE_BI_01",
    title="A request whose count field is missing or short gets no error code; short data is answered",
    purpose="Ensure that, when a write or partial read lacks its 2-byte count or carries one byte of it, the DUT "
            "returns no error code (the count it takes is indeterminate) and keeps serving; and that a write "
            "announcing more bytes than it carries is answered with a defined response code",
    requirements=["REQ-APP-012", "REQ-APP-021"],
    initial="BT00 lists ET03 or BT05 as written; its content is restored at the end.",
    steps=[("Read the scratch table (S bytes)", "0x00"),
           ("Send 40 <tid>, 40 <tid> 00, and (per PICS) 4F/3F <tid> <offset> with no count and a 1-byte count",
            "no error code: 0x00, content undefined"),
           ("Read BT00", "0x00: the DUT still serves"),
           ("Full write with count S carrying S/2 data bytes; partial write with count k+4 carrying k bytes "
            "(PICS_PARTIAL_WRITE)", "a response code 0x00..0x0C"),
           ("Read BT00", "0x00: the DUT still serves"),
           ("Write the original content back", "0x00")],
)
def test_write_short_data(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.7 p.12: 'If this field is missing or less than
    2 bytes, then the interpreted value will be indeterminate. No error will be returned in this case.'
    (MEP-DG:537-539, REQ-APP-012). Data shorter than the count is covered by no source: a defined code is asked
    (REQ-APP-021, inferred)."""
    from osgp.app import RawRequest, field_safe

    dut = Dut(tc, session, plan)
    with tc.step(1):
        tid, original, off, size, new_field = scratch_setup(dut)
    new = changed(original, off, new_field)
    with dut.restoring(tid, original):
        with tc.step(2):
            for what, msg in count_cut(tid, off, dut.partial_read, dut.partial_write):
                if not (plan.pixit.unsafe_codes or field_safe(msg, session.config.apdu_prefix)):
                    tc.observe(f"{what} not sent (field safety, ASM-APP-01)")
                    continue
                r = dut.ask(what, session.send_message, msg, request=RawRequest(msg))
                tc.observe(f"{what} ({hexs(msg)}) answered {r.describe()}")
                tc.check(r.ok, f"{what} ({hexs(msg)}) answered {r.describe()}: 'No error will be returned in this "
                         "case' (REQ-APP-012, MEP-DG:537-539)", req="REQ-APP-012")
        with tc.step(3):
            r = dut.read(bt(0))
            tc.check(r.ok, f"after the requests with a missing or short count, a read of BT00 answered "
                     f"{r.describe()}: the DUT must keep serving (REQ-APP-012)", stop=True, req="REQ-APP-012")
        with tc.step(4):
            r = dut.write(tid, new[:len(new) // 2], count=len(new))
            tc.check(r.code in DEFINED_CODES, f"full write with count {len(new)} and {len(new) // 2} data bytes "
                     f"answered {r.describe()} (REQ-APP-021, inferred)", req="REQ-APP-021")
            tc.observe(f"full write with short data answered {r.describe()}")
            if dut.partial_write:
                k = max(1, min(4, size - 1))
                r = dut.write_partial(tid, off, new_field[:k], count=k + 4)
                tc.check(r.code in DEFINED_CODES, f"partial write with count {k + 4} and {k} data bytes answered "
                         f"{r.describe()} (REQ-APP-021, inferred)", req="REQ-APP-021")
                tc.observe(f"partial write with short data answered {r.describe()}")
            else:
                tc.observe("PICS_PARTIAL_WRITE false: partial write with short data not sent")
        with tc.step(5):
            r = dut.read(bt(0))
            tc.check(r.ok, f"after the writes with short data, a read of BT00 answered {r.describe()}: the DUT "
                     "should keep serving (no source states it: REQ-APP-021, inferred)", req="REQ-APP-021")
    with tc.step(6):
        pass


@testcase(
    id="TC_APP_WRITE_BI_02",
    title="Writes to a missing table or beyond a table's end change nothing",
    purpose="Ensure that, when the tester writes to a table BT00 does not list, or at an offset beyond the end of a "
            "writable table, the DUT refuses the first (with any error code: none is documented), may refuse or "
            "ignore the second, and nothing changes: the missing table still reads 0x05",
    requirements=["REQ-APP-019", "REQ-APP-018"],
    initial="BT00 lists ET03 or BT05 as written; BT00's bitmap leaves at least one basic table id unused.",
    steps=[("Full write of 4 bytes to a basic table BT00 does not list", "a refusal (any error code)"),
           ("Read that table", "0x05: the write created nothing"),
           ("Partial write at 16 bytes past the end of the scratch table (PICS_PARTIAL_WRITE)",
            "a refusal (any code) or 0x00 with the data ignored"),
           ("Read the scratch table", "unchanged")],
)
def test_write_out_of_range(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.5 codes 0x04/0x05; which code for which case
    (app §7 TP-APDU-05) [NOT FOUND]: REQ-APP-019 is ambiguous and every reading it lists is accepted; OPG:1070 for
    the 0x05 of an unimplemented table (REQ-APP-018)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        missing = next((n for n in range(2, 8 * b.dim_std_tbls_used) if n not in b.std_tbls_used), None)
        tc.require(missing is not None, "BT00 lists every basic table id of its bitmap")
        r = dut.write(bt(missing), bytes(4))
        tc.check(not r.ok, f"full write to {table_name(missing)} (not listed in BT00) answered {r.describe()}; a "
                 "refusal expected (REQ-APP-019: any error code)", req="REQ-APP-019")
        tc.observe(f"full write to {table_name(missing)} answered {r.describe()}")
    with tc.step(2):
        r = dut.read(bt(missing))
        if r.ok:
            tc.check(False, f"{table_name(missing)}, not listed in BT00, reads as present after a write to it "
                     f"({r.describe()}): the write created it (REQ-APP-019)", req="REQ-APP-019")
        else:
            tc.check(r.code == ResponseCode.IAR, f"read of {table_name(missing)} (not implemented) after the refused "
                     f"write answered {r.describe()}; 'Inappropriate Action Requested' (0x05) expected (REQ-APP-018)",
                     req="REQ-APP-018")
    if not dut.partial_write:
        tc.observe("PICS_PARTIAL_WRITE false: the write beyond the end is not sent")
        return
    with tc.step(3):
        tid, original, _, _, _ = scratch_setup(dut)
        at = len(original) + 16
        r = dut.write_partial(tid, at, b"\x55\xaa")
        how = "answered 0x00 (data ignored as excess, REQ-APP-019 reading 2)" if r.ok else "refused"
        tc.observe(f"partial write {table_name(tid)}[{at}:+2], past the end of the {len(original)}-byte table, "
                   f"{how}: {r.describe()}")
    with tc.step(4):
        back = dut.read(tid)
        tc.check(back.ok, f"read of {table_name(tid)} answered {back.describe()} (REQ-APP-019)", stop=True,
                 req="REQ-APP-019")
        ok = back.data == original
        tc.check(ok, f"{table_name(tid)} changed after a write beyond its end: {diff(back.data, original)} "
                 "(REQ-APP-019)", req="REQ-APP-019")
        if not ok:
            dut.restore(tid, original)
