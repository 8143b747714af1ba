"""Secure broadcasts (TS 104 001 Annex F; MEP-DG ET04 offsets 76-86 p.61-62; ISO/IEC 14908-1 broadcast addressing).

A broadcast carries an OSGP request under the broadcast key with its own sequence number, accepted in
B+1 .. B+D of ET04.82 (Broadcast Base) and ET04.86 (Delta) (ASM-SEC-10, PIXIT broadcast_window). It goes with
the unacknowledged service and is executed without an answer (ASM-MGT-01), so acceptance is seen in ET04:
ET04.76 records the receipt time (stated, REQ-SEC-038), and the base may move to the accepted number (ours;
ET04.82 is VCI H, host-set, MEP-DG:2823, so a DUT may leave it to the host).
"""

from __future__ import annotations

from osgp import lon
from osgp.app import bt, encode_request, et, wrap_apdu
from osgpct.dut import MOD, PROBE, Dut, clear_auth_failure, verdict_of
from osgpct.testcase import testcase

ASM = "rests on ASM-SEC-10 (window B+1..B+D, base = last accepted) and ASM-MGT-01"


def broadcast(dut, seq: int, *, dst_subnet: int = 0, key=None) -> int:
    """Send PROBE as an unacknowledged broadcast under the broadcast key (or ``key``); returns the frames heard."""
    session = dut.session
    cfg = session.config
    sent = cfg.profile.protect_request(encode_request(PROBE), seq % MOD, key=key or dut.key_for("broadcast"))
    frame = lon.encode(lon.Lpdu(cfg.priority, False, 0, 0,
                                lon.BroadcastAddress(cfg.tester_subnet, cfg.tester_node, dst_subnet),
                                cfg.domain, None, wrap_apdu(sent.pdu, cfg.apdu_prefix)))
    return len(session.send_frames([frame], cfg.exchange_bound()))


def accepted(before: tuple[int, object], after: tuple[int, object], seq: int) -> bool:
    """Whether a broadcast with ``seq`` shows in ET04: the receipt time moved, or the base moved to ``seq``."""
    return after[1] != before[1] or (after[0] == seq % MOD and before[0] != seq % MOD)


def et04_state(dut, dims) -> tuple[int, object, int]:
    v = dut.read_decoded(et(4), ("broadcast_last_receipt", "broadcast_base", "broadcast_delta"), dims=dims)
    return v.broadcast_base, v.broadcast_last_receipt, v.broadcast_delta


def utc(dut, dims):
    return dut.read_decoded(bt(52), ("clock_calendar",), dims=dims).clock_calendar.to_datetime()


@testcase(
    id="TC_SEC_BC_BV_01",
    title="A secure broadcast to the domain or to the DUT's subnet is accepted and recorded in ET04",
    purpose="Ensure that, when the tester broadcasts a read under the broadcast key with the next broadcast "
            "sequence numbers, to the whole domain and to the DUT's subnet, the DUT accepts both: ET04.82 moves "
            "to each accepted number, ET04.76 takes the receipt time, and the broadcast key usage count grows",
    requirements=["REQ-LNK-009", "REQ-SEC-038", "REQ-SEC-030", "REQ-SEC-037"],
    pics="PICS_BROADCAST",
    pixit=["broadcast_window"],
    initial="The plan holds a key with access 'broadcast'; ET04 and ET54 are readable (ASM-TBL-02).",
    steps=[("Read dimensions, ET04 (B = ET04.82), ET54.86 and BT52 (when PICS_CLOCK)", "0x00 each"),
           ("Broadcast (unacknowledged, domain-wide) a read of BT01 with B+1; read ET04",
            "accepted: ET04.76 changed and lies between the BT52 readings around the broadcast (ET04.82 = B+1, or "
            "B kept when the host sets it)"),
           ("Broadcast to the DUT's subnet with B+2; read ET04 and ET54", "accepted as in step 2; ET54.86 grew by "
            "at least 2")],
)
def test_broadcast_accepted(tc, session, plan):
    """Sources: REQ-LNK-009: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); packet-lon.c, lcs_network.c
    broadcast addressing (low §1.4) [READ]; REQ-SEC-038: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offset 76
    p.61-62 (app §5) [READ]; REQ-SEC-030: TS 104 001 Annex F (clause unknown); MEP-DG ET54 p.137 (tbl §3.3, §8.13)
    [READ]; REQ-SEC-037: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offsets 82, 86 p.61-62 [READ]; window rule
    (app §5) [INFERRED]. Whether a broadcast numbered B+1 is accepted rests on the window ASM-SEC-10, so a broadcast
    not accepted is a deviation of REQ-SEC-037 (inferred), and ET04.76 is judged only after an accepted one."""
    dut = Dut(tc, session, plan)
    tc.require(dut.key_for("broadcast") is not None, "the plan names no key with access 'broadcast'")
    clock = bool(plan.pics.get("PICS_CLOCK"))
    with dut.step(1):
        dut.sync()
        dims = dut.dims("et11")
        base, receipt, _ = et04_state(dut, dims)
        et54 = dut.read_decoded(et(54), (), dims=dims)
        uses = et54.get("broadcast_key_usage_count")
    for n, seq, subnet, where in ((2, base + 1, 0, "the whole domain"),
                                  (3, base + 2, session.config.dut.subnet, "the DUT's subnet")):
        with dut.step(n):
            session.wait(2.0, "so that the receipt time of this broadcast differs from the last one")
            t0 = utc(dut, dims) if clock else None
            heard = broadcast(dut, seq, dst_subnet=subnet)
            if heard:
                tc.observe(f"{heard} frame(s) heard after an unacknowledged broadcast")
            t1 = utc(dut, dims) if clock else None
            new_base, new_receipt, _ = et04_state(dut, dims)
            ok = accepted((base, receipt), (new_base, new_receipt), seq)
            tc.check(ok, f"after a broadcast to {where} with sequence number {seq % MOD}, ET04.82 reads {new_base} "
                         f"and ET04.76 {new_receipt} (unchanged): the broadcast was not accepted (REQ-SEC-037: the "
                         f"window B+1..B+D is ours; {ASM})", req="REQ-SEC-037")
            if not ok:
                continue
            if new_base != seq % MOD:
                tc.observe(f"ET04.82 stays {new_base} after an accepted broadcast numbered {seq % MOD}: the base is "
                           "left to the host (VCI H, MEP-DG:2823)")
            if clock:  # the receipt time must lie between the DUT's own clock readings around the broadcast
                try:
                    at = new_receipt.to_datetime()
                except ValueError:
                    at = None
                tc.check(at is not None and t0 <= at <= t1,
                         f"ET04.76 reads {new_receipt}, not a time between the BT52 readings {t0} and {t1} around "
                         "the broadcast (REQ-SEC-038)", req="REQ-SEC-038")
            else:
                tc.check(new_receipt != receipt, f"ET04.76 still reads {new_receipt} after an accepted broadcast "
                                                 "(REQ-SEC-038)", req="REQ-SEC-038")
            base, receipt = new_base, new_receipt
    with dut.step(3):
        if uses is None:
            tc.observe("this ET54 layout has no broadcast key usage count")
            return
        after = dut.read_decoded(et(54), (), dims=dims).broadcast_key_usage_count
        tc.check((after - uses) % MOD >= 2, f"ET54.86 went from {uses} to {after} over two broadcasts under the "
                                            "broadcast key (REQ-SEC-030: 'regardless of success or failure', at "
                                            "least one per use)", req="REQ-SEC-030")


@testcase(
    id="TC_SEC_BC_BI_01",
    title="Broadcasts to another subnet, replayed, beyond the window or under the unicast key are ignored",
    purpose="Ensure that, when the tester broadcasts a read to another subnet, with the current or a too-far "
            "broadcast sequence number, or under the unicast key, the DUT accepts none (ET04.82 and ET04.76 "
            "unchanged) but still accepts the next number afterwards; and that a unicast request under the "
            "broadcast key is refused with 0x0B",
    requirements=["REQ-LNK-009", "REQ-SEC-037", "REQ-SEC-039"],
    pics="PICS_BROADCAST",
    pixit=["broadcast_window"],
    initial="The plan holds keys with access 'full' and 'broadcast'; ET04 is readable (ASM-TBL-02).",
    steps=[("Read dimensions and ET04 (B = ET04.82, D = ET04.86 or PIXIT broadcast_window)", "0x00"),
           ("Broadcast with B+1 to a subnet that is not the DUT's", "ET04.82 and .76 unchanged"),
           ("Broadcast with B (a replay) and with B+D+1", "ET04.82 and .76 unchanged"),
           ("Broadcast with B+1 under the unicast (full) key", "ET04.82 and .76 unchanged"),
           ("Broadcast with B+1 under the broadcast key", "accepted: ET04.76 changed (ET04.82 = B+1, or B kept when "
            "the host sets it)"),
           ("Unicast read of BT01 under the broadcast key, then under the full key", "0x0B in clear, then 0x00")],
)
def test_broadcast_ignored(tc, session, plan):
    """Sources: REQ-LNK-009: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); packet-lon.c, lcs_network.c
    broadcast addressing (low §1.4) [READ]; REQ-SEC-037: TS 104 001 Annex F (clause unknown); MEP-DG ET04 offsets
    82, 86 p.61-62 [READ]; window rule (app §5) [INFERRED]; REQ-SEC-039: TS 104 001 Annex F (clause unknown);
    distinct unicast and broadcast keys, MEP-DG ET04 p.66 (app §4.1) [READ]; key separation rule [INFERRED]."""
    dut = Dut(tc, session, plan)
    bkey = dut.key_for("broadcast")
    tc.require(bkey is not None, "the plan names no key with access 'broadcast'")
    with dut.step(1):
        dut.sync()
        dims = dut.dims("et11")
        base, receipt, delta = et04_state(dut, dims)
        window = plan.pixit.broadcast_window or delta
    other = session.config.dut.subnet % 255 + 1  # any subnet but the DUT's (and not 0, the whole domain)
    cases = ((2, [(base + 1, other, None, f"to subnet {other}, not the DUT's", "REQ-LNK-009", "")]),
             (3, [(base, 0, None, "replaying the base B", "REQ-SEC-037", f"; {ASM}"),
                  (base + window + 1, 0, None, f"B+{window + 1}, beyond the window", "REQ-SEC-037", f"; {ASM}")]),
             (4, [(base + 1, 0, plan.security.key().secret, "under the unicast key", "REQ-SEC-039",
                   ", inferred")]))
    for n, sends in cases:
        with dut.step(n):
            for seq, subnet, key, what, req, why in sends:
                session.wait(2.0, "so that an accepted broadcast would leave a new receipt time")
                broadcast(dut, seq, dst_subnet=subnet, key=key)
                now_base, now_receipt, _ = et04_state(dut, dims)
                tc.check((now_base, now_receipt) == (base, receipt),
                         f"a broadcast {what} (sequence number {seq % MOD}) was accepted: ET04.82 {base} -> "
                         f"{now_base}, ET04.76 {receipt} -> {now_receipt} ({req}{why})", req=req)
                base, receipt = now_base, now_receipt
    with dut.step(5):
        session.wait(2.0, "so that the accepted broadcast leaves a new receipt time")
        broadcast(dut, base + 1)
        now_base, now_receipt, _ = et04_state(dut, dims)
        tc.check(accepted((base, receipt), (now_base, now_receipt), base + 1),
                 f"the valid broadcast with B+1 = {(base + 1) % MOD} after the ignored ones left ET04.82 at {now_base} "
                 f"and ET04.76 at {now_receipt} (REQ-SEC-037: the window is ours; {ASM})", req="REQ-SEC-037")
    with dut.step(6):
        s = session.next_seq()
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=s, resync=False, key=bkey))
        tc.check(clear_auth_failure(ex), f"a unicast read under the broadcast key was answered {verdict_of(r, ex)}, "
                                         "not 0x0B (REQ-SEC-039, inferred; rests on ASM-SEC-10)", req="REQ-SEC-039")
        dut.expect_accepted(s, "the same number under the full key", "REQ-SEC-039: the refused request "
                                                                              "did not use it up")
