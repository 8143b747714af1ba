"""Pending tables: BT04, writes to table id + 4096 with a PED, activation by time or by BP12/BP13
(TS 104 001 Clause 5, Annex A).

Every case works on a table BT00 lists as written (osgpct/dut.py PENDING_TARGETS): BT54, whose pending form BT4150
the guides document (OPG:320-322, 336-356; its calendar id is changed), when its pending full write fits one request;
else a scratch table (ET03, else BT05), whose pending form no source documents, so that a refused write to it is
INCONC, never FAIL. Each case clears what it left pending (BP15, else BP14) and writes the base table's original
content back. The activation
procedures BP12/BP13/BP15 are used here as the pending mechanism needs them (their own behaviour is judged by the
PRC test cases).

Sources (osgpct/requirements.yaml): OPG p.8-12 (pending tables, PED, BT04, BP12-BP15).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
from collections.abc import Iterator

from osgp.app import bt, pending, table_name
from osgp.tables import Ped, Record, STimeDate, schema
from osgpct.dut import ERROR_CODES, Dut, hexs, ped_bytes
from osgpct.testcase import Verdict, testcase

EV_PENDING_ACTIVATED = 28  # C12.19 standard event "pending table activated"
MFG_EVENT = 0x800  # bit 11 of the 12-bit event code: a manufacturer event (OPG:2629-2632)


class Pend:
    """One pending-table exercise on a scratch table: original and new image, and clean-up."""

    def __init__(self, dut: Dut) -> None:
        self.dut = dut
        tc = dut.tc
        tc.require(dut.listed(bt(4)), "BT00 does not list BT04 although PICS_PENDING is declared")
        self.tid, path, kind = dut.scratch(pendable=True)[0]
        self.documented = dut.documented_pending(self.tid)
        r = dut.read(self.tid)
        tc.require(r.ok, f"{table_name(self.tid)} read answered {r.describe()}")
        self.original = r.data
        self.off, self.size = schema(self.tid).field_offset(path, dut.dims())
        self.field = Dut.variant(kind, r.data[self.off:self.off + self.size], tc.rng.randrange(64))
        self.new = r.data[:self.off] + self.field + r.data[self.off + self.size:]
        self.ped: Ped | None = None
        tc.observe(f"pending table {table_name(pending(self.tid))} (base {table_name(self.tid)}, field {path})")

    def write(self, ped: Ped) -> None:
        """Full write of the pending table: PED + new image; requires 0x00 (REQ-TBL-013) of a documented pending
        form, INCONC when a form no source documents is refused."""
        self.ped = ped
        image = self.dut.pending_image(self.tid, ped, self.new)
        w = self.dut.write(pending(self.tid), image)
        what = f"write of {table_name(pending(self.tid))} (PED {hexs(ped_bytes(ped))} + {len(self.new)}-byte image)"
        self.refused_undocumented(w, what)
        self.dut.judge(w.ok, f"{what} answered {w.describe()}", "REQ-TBL-013", stop=True)

    def refused_undocumented(self, w, what: str) -> None:
        """INCONC when the DUT refuses the pending form of a table whose pending form no source documents."""
        self.dut.tc.require(w.ok or self.documented, f"{what} answered {w.describe()}: the guides document pending "
                            "forms only for BT54 (BT4150) and ET47 (OPG:320-322), so a DUT need not have a pending "
                            f"{table_name(self.tid)}; the pending mechanism cannot be exercised on it")

    def base(self) -> bytes:
        r = self.dut.read(self.tid)
        self.dut.tc.require(r.ok, f"{table_name(self.tid)} read answered {r.describe()}")
        return r.data

    def state(self) -> str:
        """'old', 'new' or 'other' content of the base table."""
        data = self.base()
        return "old" if data == self.original else "new" if data == self.new else "other"

    def record(self, bt04: Record | None) -> Record | None:
        """The BT04 activation record of the scratch table (None if BT04 holds none)."""
        if bt04 is None:
            return None
        return next((a for a in bt04.activations if a.table_number == self.tid % 4096 and
                     (self.ped is None or a.ped == self.ped)), None)

    def listed_pending(self, bt04: Record) -> bool:
        t = self.tid
        return (t - 2048) in bt04.mfg_pending if t >= 2048 else t in bt04.std_pending

    def activate(self) -> None:
        """BP13 with the PED (BP12 when BP13 is not listed); requires result 0."""
        dut, tc = self.dut, self.dut.tc
        procs = dut.bt00().std_proc_used
        if 13 in procs:
            out = dut.call(13, ped_bytes(self.ped))
        else:
            tc.require(12 in procs, "BT00 lists neither BP12 nor BP13: pending tables cannot be activated by hand")
            out = dut.call(12)
        tc.require(out.accepted and out.echoed, f"activation procedure {out.number} not run: BT07 write answered "
                   f"{out.write.describe()}, BT08 {out.result}")
        tc.require(out.result.result == 0, f"activation procedure {out.number} posted result {out.result.result}")

    @contextlib.contextmanager
    def cleanup(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.clear()
            self.dut.restore(self.tid, self.original)

    def clear(self) -> None:
        """Leave nothing of ours pending (BP15 with the PED, else BP14)."""
        dut = self.dut
        bt04 = dut.bt04()
        rec = self.record(bt04)
        if bt04 is not None and (rec is None or not rec.still_pending):
            return
        if bt04 is None and self.ped is None:
            return
        procs = dut.bt00().std_proc_used
        if 15 in procs:
            out = dut.call(15, ped_bytes(rec.ped if rec is not None else self.ped))
            if bt04 is None:
                return  # nothing to judge the outcome against
        elif 14 in procs:
            out = dut.call(14)
        else:
            dut.tc.record(Verdict.INCONC, f"{table_name(pending(self.tid))} is left pending: BT00 lists neither "
                          "BP14 nor BP15")
            return
        if not (out.accepted and out.result is not None and out.result.result == 0):
            dut.tc.record(Verdict.INCONC, f"{table_name(pending(self.tid))} could not be cleared (procedure "
                          f"{out.number}: {out.write.describe()}, result {out.result})")


def clock_utc(dut: Dut) -> int:
    """The BT52 clock in UTC seconds (INCONC when BT52 holds no valid date: TC_TBL_CLK_BV_01 judges BT52)."""
    return dut.clock().utc


def log_seq(dut: Dut) -> int | None:
    return dut.read_field(bt(74), "last_entry_seq_nbr") if dut.plan.pics.get("PICS_EVENT_LOG") and \
        dut.listed(bt(74)) else None


def check_activation_logged(dut: Dut, p: Pend, seq_before: int | None, not_before: int | None) -> None:
    """REQ-TBL-019: BT04 last activation time updated; event 28 in BT74 (when the DUT keeps one)."""
    tc = dut.tc
    bt04 = dut.bt04()
    if bt04 is not None and not_before is not None:
        t = bt04.last_activation_time
        ok = not t.is_zero and not t.problems() and calendar.timegm(t.to_datetime().timetuple()) >= not_before - 60
        tc.check(ok, f"BT04 last activation time {t} was not updated by the activation (after "
                 f"{dt.datetime.fromtimestamp(not_before, dt.UTC):%Y-%m-%d %H:%M} UTC) (REQ-TBL-019; OPG:464 'Time "
                 "of the last activation')", req="REQ-TBL-019")
    if seq_before is None:
        return
    s1 = dut.read_field(bt(74), "last_entry_seq_nbr")
    n = dut.dims().bt71.nbr_history_entries
    last = dut.read_field(bt(74), "last_entry_element")
    d = min((s1 - seq_before) % 2**32, n, 16)
    codes = [dut.read_field(bt(74), f"entries[{(last - k) % n}]").event_code for k in range(d)]
    mfg = [c for c in codes if c & MFG_EVENT]
    if EV_PENDING_ACTIVATED not in codes and mfg:
        # Event ids are meter-specific (OPG:2630-2632): a manufacturer code may stand for the activation.
        tc.observe(f"no C12.19 event 28 among the {d} new BT74 entries, but manufacturer event code(s) {mfg}: "
                   "taken as the meter's own 'pending table activated'")
        return
    tc.check(EV_PENDING_ACTIVATED in codes, f"no 'pending table activated' event (C12.19 event 28, or a "
             f"manufacturer code) among the {d} BT74 entries logged since the write (codes {codes}) (REQ-TBL-019, "
             "inferred: the guides name no event code for it)", req="REQ-TBL-019")


@testcase(
    id="TC_TBL_PEND_BV_01",
    title="BT04 is sized by BT00 and its bitmaps agree with its records",
    purpose="Ensure that, when the tester reads BT04, the DUT returns BT00.13 + BT00.14 + 6 + 8 × BT00.18 bytes, and "
            "every table with a still-pending BT04 record is flagged in the BT04 bitmaps",
    requirements=["REQ-TBL-012"],
    pics="PICS_PENDING",
    steps=[("Read BT00 and BT04", "0x00"),
           ("Compare BT04's length", "BT00.13 + BT00.14 + 6 + 8 × BT00.18"),
           ("Compare bitmaps and records", "every table with a still-pending record has its bit set (a bit may "
            "also mean 'has a pending form', OPG:458-459)")],
)
def test_bt04_layout(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.10-11 (tbl §5.4)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        tc.require(dut.listed(bt(4)), "BT00 does not list BT04 although PICS_PENDING is declared")
        r = dut.read(bt(4))
        tc.check(r.ok, f"BT04 read answered {r.describe()} (REQ-TBL-012)", stop=True)
    with tc.step(2):
        want = b.dim_std_tbls_used + b.dim_mfg_tbls_used + 6 + 8 * b.nbr_pending
        tc.check(len(r.data) == want, f"BT04 is {len(r.data)} bytes; BT00 gives {b.dim_std_tbls_used} + "
                 f"{b.dim_mfg_tbls_used} + 6 + 8 × {b.nbr_pending} records = {want} (REQ-TBL-012)", stop=True)
        bt04 = dut.decode(bt(4), r.data, requirement="REQ-TBL-012")
        tc.require(bt04 is not None, "BT04 does not decode")
    with tc.step(3):
        # OPG:458-459 "The bit will be set for a table if that table has a pending table": a table pending now
        # (bits = records) or a table that has a pending form (bits ⊇ records). Under both, a table with a
        # still-pending record is flagged.
        flagged = set(bt04.std_pending) | {2048 + n for n in bt04.mfg_pending}
        records = {a.table_number for a in bt04.activations if a.still_pending}
        tc.check(records <= flagged, f"BT04 still-pending records name {sorted(records)} but its bitmaps flag only "
                 f"{sorted(flagged)}: {sorted(records - flagged)} not flagged (REQ-TBL-012)", req="REQ-TBL-012")
        if flagged != records:
            tc.observe(f"BT04 bitmaps flag {sorted(flagged)}, still-pending records {sorted(records)}: the bits read "
                       "as 'has a pending form' (OPG:458-459)")


@testcase(
    id="TC_TBL_PEND_BV_02",
    title="A pending table with PED code 2 waits for BP13 and is then activated",
    purpose="Ensure that, when the tester writes a pending table with a manual PED (event code 2), the DUT answers "
            "0x00, lists it in BT04 with that PED, does not activate it by itself, and activates it on BP13 (BP12): "
            "the base table takes the image, the record is no longer pending, the last activation time is updated and "
            "the activation is logged",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-013", "REQ-TBL-017", "REQ-TBL-019"],
    pics="PICS_PENDING and PICS_PROCEDURES",
    initial="BT00 lists BT54 (pending form BT4150), ET03 or BT05 as written and BP13 (or BP12); the base table is "
            "restored at the end.",
    steps=[("Read the base table (and the BT74 sequence number)", "0x00"),
           ("Write the pending table: manual PED + changed image", "0x00"),
           ("Read BT04 and the base table", "a still-pending record with the PED, bitmap bit set; base unchanged"),
           ("Let 120 s of DUT time pass; read the base table", "unchanged"),
           ("Run BP13 with the PED", "result 0; base table = written image; record no longer pending"),
           ("Read BT04 last activation time and BT74", "updated; event 28 logged"),
           ("Write the original content back", "0x00")],
)
def test_pending_manual_dut_time(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.8-11 (tbl §5.4, §9.9); OPG p.10 PED code 2;
    OPG p.10-11 last activation time [READ], the log entry (tbl §9.9) [INFERRED]."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        p = Pend(dut)
        seq = log_seq(dut)
        t0 = clock_utc(dut) if dut.listed(bt(52)) else None
    with p.cleanup():
        with tc.step(2):
            p.write(Ped.manual())
        with tc.step(3):
            bt04 = dut.bt04()
            if bt04 is not None:
                rec = p.record(bt04)
                tc.check(rec is not None and rec.still_pending, f"BT04 holds no still-pending record for "
                         f"{table_name(p.tid)} with PED {hexs(ped_bytes(p.ped))} after the write (REQ-TBL-013)",
                         req="REQ-TBL-013")
                tc.check(p.listed_pending(bt04), f"BT04 bitmaps do not flag {table_name(p.tid)} as pending "
                         "(REQ-TBL-013)", req="REQ-TBL-013")
            tc.check(p.state() == "old", f"{table_name(p.tid)} took the pending image at once although its PED is "
                     "manual (code 2) (REQ-TBL-017)", stop=True, req="REQ-TBL-017")
        with tc.step(4):
            dut.wait(120, "a manual PED must not activate by itself")
            tc.check(p.state() == "old", f"{table_name(p.tid)} took the pending image without BP12/BP13 (REQ-TBL-017)",
                     stop=True, req="REQ-TBL-017")
        with tc.step(5):
            p.activate()
            state = p.state()
            tc.check(state == "new", f"after BP13 {table_name(p.tid)} holds the {state} content, not the pending "
                     "image (REQ-TBL-017)", req="REQ-TBL-017")
            rec = p.record(dut.bt04())
            tc.check(rec is None or not rec.still_pending, "the BT04 record is still pending after BP13 "
                     "(REQ-TBL-017)", req="REQ-TBL-017")
        with tc.step(6):
            check_activation_logged(dut, p, seq, t0)
    with tc.step(7):
        pass


@testcase(
    id="TC_TBL_PEND_BV_03",
    title="A pending table with an absolute-time PED is activated at that time",
    purpose="Ensure that, when the tester writes a pending table with an absolute PED (code 0) three minutes ahead "
            "of the DUT's clock, the DUT keeps the base table until that time and then activates the image, clearing "
            "the still-pending flag, updating the last activation time and logging it",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-015", "REQ-TBL-013", "REQ-TBL-019"],
    pics="PICS_PENDING and PICS_CLOCK",
    initial="BT00 lists BT54 (pending form BT4150), ET03 or BT05 as written; the base table is restored at the end.",
    steps=[("Read BT52 and the base table", "0x00"),
           ("Write the pending table with PED code 0 at the minute T ≥ now + 2 min", "0x00; BT04 lists it"),
           ("Wait until T − 45 s; read the base table", "unchanged"),
           ("Wait until T + 45 s; read the base table and BT04", "new image; record no longer pending"),
           ("Read BT04 last activation time and BT74", "updated; event 28 logged"),
           ("Write the original content back", "0x00")],
)
def test_pending_absolute_dut_time(tc, session, plan):
    """Source: TS 104 001 Clause 5 (clause unknown); OPG p.8-11 (tbl §5.4, §9.9, §11.4 MF-07)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(52)), "BT00 does not list BT52")
        dut.require_clock_runs()  # the PED time comes by the clock: TC_MGT_CLK_TI_01 judges a clock standing still
        p = Pend(dut)
        seq = log_seq(dut)
        now = clock_utc(dut)
        at = (now // 60 + 3) * 60
    with p.cleanup():
        with tc.step(2):
            when = STimeDate.from_datetime(dt.datetime.fromtimestamp(at, dt.UTC))
            p.write(Ped.absolute(when))
            bt04 = dut.bt04()
            if bt04 is not None:
                rec = p.record(bt04)
                tc.check(rec is not None and rec.still_pending, f"BT04 holds no still-pending record with PED "
                         f"{when} (REQ-TBL-013)", req="REQ-TBL-013")
        with tc.step(3):
            dut.wait(max(at - 45 - clock_utc(dut), 0), "until 45 s before the PED time")
            tc.check(p.state() == "old", f"{table_name(p.tid)} took the pending image before its PED time {when} "
                     "(REQ-TBL-015)", stop=True, req="REQ-TBL-015")
        with tc.step(4):
            dut.wait(max(at + 45 - clock_utc(dut), 0), "until 45 s after the PED time")
            state = p.state()
            tc.check(state == "new", f"45 s after the PED time {when} {table_name(p.tid)} holds the {state} content, "
                     "not the pending image (REQ-TBL-015)", req="REQ-TBL-015")
            rec = p.record(dut.bt04())
            tc.check(rec is None or not rec.still_pending, "the BT04 record is still pending after its time "
                     "(REQ-TBL-015)", req="REQ-TBL-015")
        with tc.step(5):
            if state == "new":
                check_activation_logged(dut, p, seq, at)
    with tc.step(6):
        pass


@testcase(
    id="TC_TBL_PEND_BV_04",
    title="A pending table with a relative-time PED is activated after the delay",
    purpose="Ensure that, when the tester writes a pending table with a relative PED (code 1) of 2 minutes, the DUT "
            "keeps the base table for that delay counted from the write and activates the image after it",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-016", "REQ-TBL-013"],
    pics="PICS_PENDING and PICS_CLOCK",
    initial="BT00 lists BT54 (pending form BT4150), ET03 or BT05 as written; the base table is restored at the end.",
    steps=[("Read the base table", "0x00"),
           ("Write the pending table with PED code 1, 2 min", "0x00"),
           ("Wait 60 s; read the base table", "unchanged"),
           ("Wait 90 s more; read the base table and BT04", "new image; record no longer pending"),
           ("Write the original content back", "0x00")],
)
def test_pending_relative_dut_time(tc, session, plan):
    """Source: TS 104 001 Clause 5 (clause unknown); OPG p.10 (tbl §5.4)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        dut.require_clock_runs()  # the relative delay runs on the clock: TC_MGT_CLK_TI_01 judges a standing clock
        p = Pend(dut)
    with p.cleanup():
        with tc.step(2):
            p.write(Ped.relative(minutes=2))
        with tc.step(3):
            dut.wait(60, "half the relative PED delay")
            tc.check(p.state() == "old", f"{table_name(p.tid)} took the pending image 60 s into a 2-min relative PED "
                     "(REQ-TBL-016)", stop=True, req="REQ-TBL-016")
        with tc.step(4):
            dut.wait(90, "past the relative PED delay")
            state = p.state()
            tc.check(state == "new", f"150 s after a write with a 2-min relative PED {table_name(p.tid)} holds the "
                     f"{state} content, not the pending image (REQ-TBL-016)", req="REQ-TBL-016")
            rec = p.record(dut.bt04())
            tc.check(rec is None or not rec.still_pending, "the BT04 record is still pending after its delay "
                     "(REQ-TBL-016)", req="REQ-TBL-016")
    with tc.step(5):
        pass


@testcase(
    id="TC_TBL_PEND_BV_05",
    title="Pending partial write: the count includes the PED, the offset does not",
    purpose="Ensure that, when the tester partially writes k bytes at offset o of a pending table with count 6 + k "
            "(PED first), the DUT accepts it and a partial read of the pending table at offset o with count 6 + k "
            "returns the PED followed by those k bytes",
    requirements=["REQ-TBL-014", "REQ-TBL-013", "REQ-TBL-017"],
    pics="PICS_PENDING and PICS_PARTIAL_WRITE and PICS_PARTIAL_READ and PICS_PROCEDURES",
    initial="BT00 lists BT54 (pending form BT4150), ET03 or BT05 as written; the pending entry is cleared (BP15/BP14) "
            "at the end.",
    steps=[("Read the base table", "0x00"),
           ("Partial write of the pending table at offset o, count 6 + k: manual PED + k bytes", "0x00"),
           ("Partial read of the pending table at offset o, count 6 + k", "the PED then the k bytes"),
           ("Read the base table", "unchanged (still pending)"),
           ("Clear the pending entry", "BP15 result 0")],
)
def test_pending_partial(tc, session, plan):
    """Source: TS 104 001 Clause 5 and Clause 9 (clause unknown); OPG p.9 (tbl §4.1, §10.6)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        p = Pend(dut)
        k = min(4, p.size)
        at = p.off + (1 if p.size > k else 0)
        data = p.new[at:at + k]
        p.ped = Ped.manual()
    with p.cleanup():
        with tc.step(2):
            w = dut.write_partial(pending(p.tid), at, ped_bytes(p.ped) + data)
            p.refused_undocumented(w, f"partial write of {table_name(pending(p.tid))} at offset {at}")
            tc.check(w.ok, f"partial write of {table_name(pending(p.tid))} at offset {at} with count {6 + k} (PED + "
                     f"{k} bytes) answered {w.describe()} (REQ-TBL-014)", stop=True, req="REQ-TBL-014")
        with tc.step(3):
            r = dut.read_partial(pending(p.tid), at, 6 + k)
            tc.check(r.ok, f"partial read of {table_name(pending(p.tid))}[{at}:+{6 + k}] answered {r.describe()} "
                     "(REQ-TBL-014)", stop=True, req="REQ-TBL-014")
            want = ped_bytes(p.ped) + data
            tc.check(r.data == want, f"partial read of {table_name(pending(p.tid))} at offset {at}, count {6 + k}, "
                     f"returned {hexs(r.data)}; the PED then the bytes written at {at}: {hexs(want)} (REQ-TBL-014)",
                     req="REQ-TBL-014")
        with tc.step(4):
            tc.check(p.state() == "old", f"{table_name(p.tid)} changed although its pending copy has a manual PED "
                     "(REQ-TBL-017)", req="REQ-TBL-017")
    with tc.step(5):
        pass


@testcase(
    id="TC_TBL_PEND_BV_06",
    title="A PED with the demand-reset flag resets demand before activating",
    purpose="Ensure that, when a pending table whose PED has the demand-reset flag set is activated, the DUT performs "
            "a demand reset first: BT23 NBR_DEMAND_RESETS grows by one (modulo 256)",
    requirements=["REQ-TBL-018"],
    pics="PICS_PENDING and PICS_PROCEDURES",
    initial="BT21 sets DEMAND_RESET_CTR_FLAG; BT00 lists BT23 and BT54, ET03 or BT05 as written. Causes one demand "
            "reset.",
    steps=[("Read BT23.NBR_DEMAND_RESETS", "0x00"),
           ("Write the pending table: manual PED with the demand-reset flag", "0x00"),
           ("Run BP13 with the PED", "result 0; base table = written image"),
           ("Read BT23.NBR_DEMAND_RESETS", "one more (mod 256)"),
           ("Write the original content back", "0x00")],
)
def test_pending_demand_reset(tc, session, plan):
    """Source: TS 104 001 Clause 5 (clause unknown); OPG p.10 PED flags (tbl §5.4, §9.9). The requirement is
    conditional on demand resets (PICS_DEMAND is not in the PICS catalogue: BT21.0 bit 2 is checked instead)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(23)) and dut.dims().bt21.demand_reset_ctr_flag,
                   "BT23 does not count demand resets (BT21 DEMAND_RESET_CTR_FLAG clear)")
        p = Pend(dut)
        n0 = dut.read_field(bt(23), "nbr_demand_resets")
    with p.cleanup():
        with tc.step(2):
            p.write(Ped.manual(demand_reset=True))
        with tc.step(3):
            p.activate()
            state = p.state()
            tc.require(state == "new", f"after BP13 {table_name(p.tid)} holds the {state} content")
        with tc.step(4):
            n1 = dut.read_field(bt(23), "nbr_demand_resets")
            tc.check(n1 == (n0 + 1) % 256, f"BT23 NBR_DEMAND_RESETS went from {n0} to {n1} over an activation whose "
                     "PED asks for a demand reset (REQ-TBL-018)")
    with tc.step(5):
        pass


@testcase(
    id="TC_TBL_PEND_BI_01",
    title="A write to the pending id of a table without a pending form is refused",
    purpose="Ensure that, when the tester writes a PED and an image to BT01 + 4096 (identification has no pending "
            "form), the DUT refuses it and neither BT04 nor BT01 changes",
    requirements=["REQ-TBL-020"],
    pics="PICS_PENDING",
    steps=[("Read BT04 and BT01", "0x00"),
           ("Full write of id 4097: manual PED + BT01 image", "a refusal (non-zero code)"),
           ("Read BT04 and BT01", "unchanged")],
)
def test_pending_no_form(tc, session, plan):
    """Source: TS 104 001 Clause 5 (clause unknown); pending tables exist per table, OPG p.8 (tbl §5.4) [READ];
    refusal rule [INFERRED]."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(4)) and dut.listed(bt(1)), "BT00 does not list BT04 and BT01")
        v0 = dut.bt04()
        r1 = dut.read(bt(1))
        tc.require(r1.ok, f"BT01 read answered {r1.describe()}")
    with tc.step(2):
        ped = Ped.manual()
        w = dut.write(pending(bt(1)), ped_bytes(ped) + r1.data)
        tc.check(w.code in ERROR_CODES, f"write of {table_name(pending(bt(1)))} answered {w.describe()}; BT01 has no "
                 "pending form (REQ-TBL-020, inferred)")
    with tc.step(3):
        v1 = dut.bt04()
        r2 = dut.read(bt(1))
        tc.check(r2.ok and r2.data == r1.data, "BT01 changed after the write to its pending id (REQ-TBL-020)")
        if v0 is not None and v1 is not None:
            tc.check(v1.activations == v0.activations and v1.std_pending == v0.std_pending and
                     v1.mfg_pending == v0.mfg_pending, "BT04 records or bitmaps changed after the refused write to "
                     f"{table_name(pending(bt(1)))} (REQ-TBL-020)")
        if w.ok:
            p = Pend.__new__(Pend)
            p.dut, p.tid, p.ped = dut, bt(1), ped
            p.clear()
