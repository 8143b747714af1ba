"""Broadcast commands and the separation of unicast and broadcast keys (TS 104 001 Clause 9, Annex F).

Broadcasts go domain-wide, protected with the plan's broadcast key and the next broadcast sequence number
(ET04.82 + 1, ASM-SEC-10), with request/response service: the DUT need not answer a broadcast (ASM-MGT-01), so
what a broadcast did is always checked by unicast afterwards. The key change is the EP80 of the PIXIT
(ASM-MGT-03/ASM-DEV-03); every case puts tables and keys back.
"""

from __future__ import annotations

from osgp.app import et
from osgp.tables import Record, schema
from osgpct.dut import Dut, same_content
from osgpct.testcase import testcase
from osgpct.usecases.admin import (
    broadcast_read,
    broadcast_write,
    change_key,
    full_key,
    key_accepted,
    key_works,
    new_key,
    plan_broadcast_key,
    put_key_back,
    require_ep80,
)
from osgpct.usecases.control import new_utility_serial


def _fresh_broadcast_base(tc, dut: Dut, unicast_key: bytes | None = None) -> None:
    """Make ET04.82 + 1 a broadcast sequence number no earlier broadcast used. ET04.82 'Secure broadcast base value
    (B)' is VCI H, host-set (MEP-DG:2823): a DUT that leaves B where the host put it may already have taken B + 1
    from an earlier case, so B is moved past the window (B + D, ET04.86) where the DUT takes the write. A DUT that
    refuses it moves B itself (ASM-SEC-10: base = last accepted), so B + 1 is fresh there already. ET04 is read
    and written by unicast under ``unicast_key`` (default: the session key)."""
    dut.require_table(et(4), "ET04.82 broadcast sequence base")
    kw = {"key": unicast_key} if unicast_key is not None else {}
    base = dut.read_field(et(4), "broadcast_base", **kw)
    delta = dut.read_field(et(4), "broadcast_delta", **kw)
    if not dut.partial_write:
        tc.observe(f"ET04.82 B = {base}: no partial write to move it (PICS_PARTIAL_WRITE false)")
        return
    off, size = schema(et(4)).field_offset("broadcast_base", dut.dims())
    moved = (base + max(delta, 1)) % (1 << 32)
    r = dut.write_partial(et(4), off, moved.to_bytes(size, "little"), **kw)
    tc.observe(f"ET04.82 B = {base}, D = {delta}: moving B to {moved} answered {r.describe()}"
               + ("" if r.ok else " (the DUT moves B itself)"))


@testcase(
    id="TC_MGT_BC_BV_01",
    title="A command received by domain-wide broadcast is carried out",
    purpose="Ensure that, when the tester broadcasts to the whole domain a full write of ET03 with a new utility "
            "serial number, protected with the broadcast key and the next broadcast sequence number, the DUT "
            "carries it out: a unicast read of ET03 shows the new serial number",
    requirements=["REQ-MGT-015"],
    pics="PICS_BROADCAST",
    initial="ET03 writable (BT00 MFG_TBLS_WRITE); the plan holds the broadcast key",
    steps=[("Read ET03, ET04.82 (B) and ET04.86 (D) (unicast); where the DUT takes it, move B to B + D by a partial "
            "write of ET04.82 (VCI H) so that B + 1 is a number no earlier broadcast used",
            "0x00; the write: any code"),
           ("Broadcast a full write of ET03 with a new utility serial number", "0x00, or no answer (ASM-MGT-01)"),
           ("Read ET03 (unicast)", "the new utility serial number"),
           ("Write ET03 back (unicast)", "0x00")],
)
def test_broadcast_command(tc, session, plan):
    """Source: TS 104 001 Clause 9 (clause unknown); ECH-UM p.59 (app §5, §7 TP-BC-01) [READ]; ASM-MGT-01."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(3), "utility information")
    tc.require(dut.writable(et(3)), "BT00 does not list ET03 as writable")
    key = plan_broadcast_key(dut)
    with tc.step(1):
        before = dut.read_decoded(et(3))
        changed = Record(before, utility_serial_number=new_utility_serial(before.utility_serial_number, "BCAST"))
        _fresh_broadcast_base(tc, dut)
    try:
        with tc.step(2):
            r = broadcast_write(dut, key, et(3), schema(et(3)).encode(changed, dut.dims()))
            tc.observe("no answer to the broadcast" if r is None else f"the broadcast was answered {r.describe()}")
            tc.check(r is None or r.ok, f"the broadcast write was answered {r and r.describe()}", req="REQ-MGT-015")
        with tc.step(3):
            now = dut.read_decoded(et(3))
            tc.check(same_content(now, changed), f"after the broadcast write ET03 holds utility serial "
                     f"{now.utility_serial_number.rstrip(chr(0))!r}, not "
                     f"{changed.utility_serial_number.rstrip(chr(0))!r}: the broadcast (sequence number ET04.82 + 1, "
                     "no earlier broadcast's: ASM-SEC-10) was not carried out", req="REQ-MGT-015")
    finally:
        with tc.step(4):
            dut.restore(et(3), before)
            _fresh_broadcast_base(tc, dut)  # leave B + 1 unused for the next case


@testcase(
    id="TC_MGT_KEY_BV_02",
    title="The unicast and broadcast keys are separate: changing one leaves the other in force",
    purpose="Ensure that, when the tester changes the DUT's full (unicast) key, broadcasts under the broadcast key "
            "are still answered, and when it changes the broadcast key, unicast requests under the full key are "
            "still executed",
    requirements=["REQ-MGT-028"],
    pics='PICS_KEY_CHANGE and PICS_BROADCAST and PICS_SEC_MODE != "digest"',
    pixit=["key_change"],
    initial="The DUT answers broadcast requests (request/response service); the plan's keys are in force and are "
            "put back at the end",
    steps=[("Broadcast a read of BT01 under the broadcast key", "0x00 (else inconclusive: broadcasts unanswered)"),
           ("Change the full key to N (EP80 id 0)", "result 0"),
           ("Broadcast a read of BT01 under the broadcast key", "0x00"),
           ("Change the full key back; change the broadcast key to M (EP80 id 2)", "result 0 each"),
           ("Read BT01 (unicast, full key); broadcast a read under M", "0x00; 0x00"),
           ("Change the broadcast key back (EP80 id 2); broadcast a read under it", "result 0; 0x00")],
)
def test_keys_separate(tc, session, plan):
    """Source: TS 104 001 Annex F key management (clause unknown); MEP-DG ET04 p.66 distinct, separately counted
    keys (app §4.1, §4.7) [READ]; independence on change [INFERRED]; EP80 ASM-DEV-03."""
    dut = Dut(tc, session, plan)
    require_ep80(dut)
    full = full_key(dut)
    bkey = plan_broadcast_key(dut)
    n, m = new_key(dut, full), new_key(dut, bkey)
    with tc.step(1):
        _fresh_broadcast_base(tc, dut)
        r = broadcast_read(dut, bkey)
        tc.require(r is not None and r.ok, f"a broadcast read under the broadcast key was answered "
                   f"{r.describe() if r else 'with nothing'}: the broadcast key cannot be observed this way")
    with dut.mfg_latch_kept("invalid_password"):
        try:
            with tc.step(2):
                kc = change_key(dut, "full", n)
                tc.require(kc.done and kc.read_with == "new", f"full key change: {kc.describe()}")
            with tc.step(3):
                _fresh_broadcast_base(tc, dut, unicast_key=n)
                r = broadcast_read(dut, bkey, unicast_key=n)
                tc.check(r is not None and r.ok, f"after the full key changed, a broadcast under the broadcast key "
                         f"was answered {r.describe() if r else 'with nothing'}", req="REQ-MGT-028")
            with tc.step(4):
                kc = change_key(dut, "full", full, under=n)
                tc.require(kc.done and key_accepted(dut, full), f"full key change back: {kc.describe()}")
                kc = change_key(dut, "broadcast", m)
                tc.require(kc.done, f"broadcast key change: {kc.describe()}")
            with tc.step(5):
                r = key_works(dut, None)
                tc.check(r.ok, f"after the broadcast key changed, a unicast read under the full key answered "
                         f"{r.describe()}", req="REQ-MGT-028")
                _fresh_broadcast_base(tc, dut)
                r = broadcast_read(dut, m)
                tc.require(r is not None and r.ok, "a broadcast under the new broadcast key was answered "
                           f"{r.describe() if r else 'with nothing'}: the broadcast key change did not take effect")
        finally:
            with tc.step(6):
                put_key_back(dut, full, [n])
                _fresh_broadcast_base(tc, dut)
                r = broadcast_read(dut, bkey)
                if r is None or not r.ok:
                    kc = change_key(dut, "broadcast", bkey)
                    tc.observe(f"broadcast key changed back: {kc.describe()}")
                    _fresh_broadcast_base(tc, dut)
                    r = broadcast_read(dut, bkey)
                tc.require(r is not None and r.ok, "after the case a broadcast under the plan's broadcast key was "
                           f"answered {r.describe() if r else 'with nothing'}")
