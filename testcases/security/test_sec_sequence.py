"""Sequence-number rules of the digest / RC4 security modes (TS 104 001 Annex F; MEP-DG p.11, Example 1
pp.15-16). The acceptance window current+1 .. current+W is PIXIT seq_window (ASM-SEC-02, default the guide's 8,
MEP-DG:486-487 "will accept a sequence number that is up to 8 increments from the previous one").

The number a 0x0C carries is ambiguous (REQ-SEC-011): the last accepted one (MEP-DG:708-709, Example 1) or the
next one to use (MEP-DG:472-473, 561-562); every check here accepts both.
"""

from __future__ import annotations

from osgp.app import ResponseCode, et
from osgp.digest import DIGEST_LEN
from osgp.security import SEQ_LEN
from osgp.tables import Dimensions, schema
from osgpct.dut import MOD, PROBE, STATE_TABLE, Dut, altered, chained_digest, verdict_of
from osgpct.testcase import testcase

LEGACY = '(PICS_SEC_DIGEST or PICS_SEC_RC4) and PICS_SEC_MODE != "aes128"'
ASM = "rests on ASM-SEC-02: window of PIXIT seq_window"


@testcase(
    id="TC_SEC_SEQ_BV_01",
    title="Sequence numbers current+1 .. current+W are accepted and the accepted one becomes current",
    purpose="Ensure that, when the tester sends reads numbered at the upper (current+W) and lower (current+1) "
            "edges of the window and inside it, the DUT executes each, takes the accepted number as its current "
            "one, and then refuses that number and lower ones with 0x0C",
    requirements=["REQ-SEC-008", "REQ-SEC-010", "REQ-SEC-013"],
    pics=LEGACY,
    pixit=["seq_window"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read BT01 with c+W", "0x00"),
           ("Read BT01 with c+W again, then with c+W-1", "0x0C carrying c+W (or c+W+1), twice"),
           ("Read BT01 with c+W+1, then with a number k in 2..W ahead of that", "0x00, twice")],
)
def test_window_accepted(tc, session, plan):
    """Sources: REQ-SEC-008: TS 104 001 Annex F (clause unknown); MEP-DG p.11 'up to 8 increments', Example 1 pp.15-16
    (app §4.4) [READ]; REQ-SEC-010: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4, §7 TP-SEQ-01,
    TP-SEQ-03) [READ]; REQ-SEC-013: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4) [READ]; update rule
    after a jump [INFERRED]."""
    dut = Dut(tc, session, plan)
    w = plan.pixit.seq_window
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        if not dut.expect_accepted(c + w, f"current {c} + {w}, the upper edge of the window",
                               f"REQ-SEC-008; {ASM}"):
            return
        c = (c + w) % MOD
    with dut.step(3):
        again = dut.expect_refused(c, c, "the number just accepted, used again",
                                   "REQ-SEC-010: the previous sequence number used again gets 0x0C (MEP-DG:488-489)")
        lower = dut.expect_refused(c - 1, c, "below the number just accepted",
                                   "REQ-SEC-013: a number accepted from inside the window becomes current; inferred")
    # step 4 numbers from the jump: it presupposes the jump rule of step 3, so it blames REQ-SEC-013 when that
    # rule was not observed, else REQ-SEC-008
    jumped = all(x is not None and x.code == ResponseCode.INVALID_SEQUENCE for x in (again, lower))
    req = "REQ-SEC-008" if jumped else "REQ-SEC-013: the jump of step 2 was not taken as current; inferred"
    with dut.step(4):
        if dut.expect_accepted(c + 1, "the number just accepted + 1, the lower edge of the window", req) and w > 1:
            k = tc.rng.randint(2, w)
            dut.expect_accepted(c + 1 + k, f"the number just accepted + {k}, inside the window", f"{req}; {ASM}")


@testcase(
    id="TC_SEC_SEQ_BI_01",
    title="A sequence number more than W ahead is refused with 0x0C carrying the current number",
    purpose="Ensure that, when the tester sends reads numbered current+W+1 and further ahead, the DUT answers "
            "each 0x0C carrying its unchanged current number, and then still accepts current+1",
    requirements=["REQ-SEC-009", "REQ-SEC-011"],
    pics=LEGACY,
    pixit=["seq_window"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read BT01 with c+W+1, with a random number up to 2^20 further, and with c+2^31-1",
            "0x0C carrying c (or c+1), the same number each time"),
           ("Read BT01 with c+1", "0x00: the refused requests did not move the DUT's number")],
)
def test_window_too_far(tc, session, plan):
    """Sources: REQ-SEC-009: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4, §7 TP-SEQ-02) [READ]; the
    window 'up to 8 increments from the previous one' (MEP-DG:486-487) is the guide's, a power-line DUT with another
    window declares it in PIXIT seq_window (ASM-SEC-02); REQ-SEC-011: TS 104 001 Annex F (clause unknown); MEP-DG
    Example 1 p.15, digest recomputed (app §4.4, §6.2) [VERIFIED]."""
    dut = Dut(tc, session, plan)
    w = plan.pixit.seq_window
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        for seq, why in ((c + w + 1, f"current {c} + {w + 1}, just past the window"),
                         (c + w + 1 + tc.rng.randrange(1, 1 << 20), "far ahead"),
                         (c + (1 << 31) - 1, "half the number space ahead")):
            dut.expect_refused(seq, c, why, f"REQ-SEC-009: a number beyond the window gets 0x0C (MEP-DG:486-488), "
                                            f"{ASM}")
    with dut.step(3):
        dut.expect_accepted(c + 1, "current + 1 after the refusals", "REQ-SEC-009: a refused number is not "
                                                                             "executed and does not move the DUT's")


@testcase(
    id="TC_SEC_SEQ_BI_02",
    title="The current sequence number and lower ones are refused with 0x0C",
    purpose="Ensure that, when the tester repeats the number of the last accepted request, or uses lower "
            "numbers, the DUT answers 0x0C carrying its current number, without executing the request",
    requirements=["REQ-SEC-010"],
    pics=LEGACY,
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read BT01 with c (a replay of the accepted number), c-1 and a random lower number",
            "0x0C carrying c (or c+1), the same number each time"),
           ("Read BT01 with c+1", "0x00: the refused requests did not move the DUT's number")],
)
def test_stale_refused(tc, session, plan):
    """Sources: REQ-SEC-010: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4, §7 TP-SEQ-01, TP-SEQ-03)
    [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        for seq, why in ((c, "the number of the request just accepted"), (c - 1, "current - 1"),
                         (c - tc.rng.randrange(2, 1 << 16), "a lower number")):
            dut.expect_refused(seq, c, why, "REQ-SEC-010")  # the number it carries: REQ-SEC-011 (not cited here)
    with dut.step(3):
        dut.expect_accepted(c + 1, "current + 1 after the refusals", "REQ-SEC-010")


@testcase(
    id="TC_SEC_SEQ_BV_02",
    title="0x0C carries the DUT's sequence number under a chained digest, and N+1 is then accepted",
    purpose="Ensure that, when a request's sequence number is refused, the DUT's 0x0C carries its current "
            "number or the next one to use, N (4 bytes, MSB first), with a digest over the refused request, 0C and "
            "N, and that a request numbered N+1 is then accepted (MEP-DG Example 1)",
    requirements=["REQ-SEC-011", "REQ-SEC-012"],
    pics=LEGACY,
    steps=[("Read BT01 with sequence number 0 (the tester's fresh start), no resynchronisation",
            "0x00, or 0x0C carrying N"),
           ("After a 0x0C carrying N: read BT01 with N+1", "0x00"),
           ("Read BT01 again with the number just accepted, K (in clear when PICS_SEC_DIGEST)",
            "0x0C carrying K or K+1 (REQ-SEC-011 is ambiguous); its digest is digest(request || 0C || number)"),
           ("Read BT01 with K+1", "0x00")],
)
def test_seq_error_carries_current(tc, session, plan):
    """Sources: REQ-SEC-011: TS 104 001 Annex F (clause unknown); MEP-DG Example 1 p.15, digest recomputed (app §4.4,
    §6.2) [VERIFIED]; REQ-SEC-012: TS 104 001 Annex F (clause unknown); MEP-DG Example 1 pp.15-16, digests
    recomputed (app §4.4, §6.2) [VERIFIED]."""
    dut = Dut(tc, session, plan)
    plain = bool(plan.pics.get("PICS_SEC_DIGEST"))
    with dut.step(1):
        s0 = session.next_seq()
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=s0, resync=False))
        tc.require(r is not None and r.code in (ResponseCode.OK, ResponseCode.INVALID_SEQUENCE),
                   f"a read with sequence number {s0} was answered {verdict_of(r, ex)}: neither executed nor 0x0C")
    with dut.step(2):
        if r.ok:
            k = s0
            tc.observe(f"sequence number {s0} was in the DUT's window: no 0x0C to learn from here")
        else:
            n = r.expected_seq
            k = (n + 1) % MOD
            if not dut.expect_accepted(k, f"N+1 after a 0x0C carrying N = {n}",
                                   "REQ-SEC-012: the 0x0C carries the current number, so N+1 is accepted"):
                return
    with dut.step(3):
        r, ex = dut.attempt(lambda: session.request(PROBE, seq=k, resync=False,
                                                         encrypt=False if plain else None))
        if r is not None and r.ok:  # a replay executed: REQ-SEC-010, judged by TC_SEC_SEQ_BI_02
            dut.judge(False, f"a read repeating the accepted number {k} was executed", "REQ-SEC-010", stop=True)
        refused = r is not None and r.code == ResponseCode.INVALID_SEQUENCE
        tc.check(refused, f"a read repeating the accepted number {k} was answered {verdict_of(r, ex)}, not 0x0C "
                          "(REQ-SEC-011)", stop=True, req="REQ-SEC-011")
        carried = r.expected_seq
        readings = (k, (k + 1) % MOD)
        tc.check(carried in readings, f"the 0x0C carries {carried}, neither the number {k} the DUT accepted last "
                                      f"(MEP-DG:708-709) nor the next one {readings[1]} (MEP-DG:472-473) "
                                      "(REQ-SEC-011)", req="REQ-SEC-011")
        body, tag = ex.response_pdu[:-DIGEST_LEN], ex.response_pdu[-DIGEST_LEN:]
        tc.check(len(ex.response_pdu) == 1 + SEQ_LEN + DIGEST_LEN,
                 f"the 0x0C is {len(ex.response_pdu)} bytes on the wire, not 0C + 4-byte number + 8-byte digest "
                 "(REQ-SEC-011)", req="REQ-SEC-011")
        if not ex.encrypted:  # the expected bytes are built over the number the 0x0C carries, whichever reading
            span = ex.message + k.to_bytes(SEQ_LEN, "big")
            wire = bytes([ResponseCode.INVALID_SEQUENCE]) + carried.to_bytes(SEQ_LEN, "big")
            expected = chained_digest(plan.security.key().secret, span, wire)
            tc.check(body == wire and tag == expected,
                     f"the 0x0C on the wire is {ex.response_pdu.hex(' ')}; expected {wire.hex(' ')} followed by "
                     f"digest(request || 0C || number) = {expected.hex(' ')} (REQ-SEC-011, ASM-SEC-01)",
                     req="REQ-SEC-011")
    with dut.step(4):
        dut.expect_accepted(carried + 1, f"N+1 after a 0x0C carrying N = {carried}", "REQ-SEC-012")


@testcase(
    id="TC_SEC_SEQ_BI_03",
    title="A write refused with 0x0C changes nothing",
    purpose="Ensure that, when the tester writes ET03 with a replayed sequence number or one beyond the window, "
            "the DUT answers 0x0C and the table keeps its content",
    requirements=["REQ-SEC-009", "REQ-SEC-010", "REQ-SEC-027", "REQ-SEC-029"],
    pixit=["seq_window"],
    initial="ET03 (utility information) is readable and writable with the full key (MEP-DG p.53-55; ASM-TBL-02).",
    steps=[("Read BT01 with the session, then read ET03 (sequence number c after it)", "0x00 both"),
           ("Full write of ET03 with another utility serial number and sequence number c (a replay)", "0x0C"),
           ("The same write with sequence number c+W+1", "0x0C"),
           ("Read ET03 back", "unchanged")],
)
def test_refused_write_changes_nothing(tc, session, plan):
    """Sources: REQ-SEC-009: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4, §7 TP-SEQ-02) [READ];
    REQ-SEC-010: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (app §4.4, §7 TP-SEQ-01, TP-SEQ-03) [READ];
    REQ-SEC-027: TS 104 001 Annex F (clause unknown); AES-mode counters (app §4.6, §9 item 6) [NOT FOUND];
    REQ-SEC-029: TS 104 001 Annex F (clause unknown); MEP-DG p.11 (0x0B/0x0C), ET54 p.137 counters (app §4.4, §7)
    [READ]; generalisation to all codes [INFERRED]."""
    dut = Dut(tc, session, plan)
    w = plan.pixit.seq_window
    with dut.step(1):
        dut.sync()
        before = dut.read_state()
        c = session.seq
    image = altered(before)
    aes = plan.security.mode == "aes128"  # the AES-mode counters are our design (REQ-SEC-027)
    refused = []
    for n, seq, why, req in ((2, c, "a replayed", "REQ-SEC-027" if aes else "REQ-SEC-010"),
                             (3, c + w + 1, "a too far ahead", "REQ-SEC-027" if aes else "REQ-SEC-009")):
        with dut.step(n):
            r, ex = dut.attempt(lambda q=seq: session.write(STATE_TABLE, image, seq=q % MOD, resync=False))
            tc.check(r is not None and r.code == ResponseCode.INVALID_SEQUENCE,
                     f"an ET03 write with {why} sequence number ({seq % MOD}, DUT at {c}) was answered "
                     f"{verdict_of(r, ex)}, not 0x0C ({req})", req=req)
            if r is not None and r.code == ResponseCode.INVALID_SEQUENCE:
                refused.append(req)
    with dut.step(4):
        # a write refused with 0x0C must not be executed: stated with the code itself (MEP-DG:488-489, REQ-SEC-009 /
        # REQ-SEC-010 'returns the 0x0C response code'); the general rule for every non-zero code is REQ-SEC-029
        req = refused[0] if refused else "REQ-SEC-029"
        dut.check_unchanged(before, f"a write refused with 0x0C changed the table ({req}: a request answered 0x0C "
                                    "is not executed)")


@testcase(
    id="TC_SEC_SEQ_BV_03",
    title="ET04 offset 0 holds the sequence number of the last accepted request",
    purpose="Ensure that, when the tester reads ET04.0 with consecutive sequence numbers, the DUT returns each "
            "time the number of that (last accepted) request, advancing by one per request",
    requirements=["REQ-SEC-015"],
    pics="PICS_SEC_DIGEST or PICS_SEC_RC4",
    initial="ET04 (system information) is readable (MEP-DG p.56; ASM-TBL-02).",
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Read ET04.0 (sequence number, UINT32) with c+1, then with c+2", "c+1, then c+2")],
)
def test_et04_sequence_number(tc, session, plan):
    """Sources: REQ-SEC-015: TS 104 001 Annex F (clause unknown); MEP-DG ET04 p.56 'current LonTalk message sequence
    number' (app §3) [READ]; identity with the OSGP number [INFERRED]."""
    dut = Dut(tc, session, plan)
    layout = schema(et(4))
    dims = Dimensions.from_tables({})
    offset, count = layout.request_span("sequence_number", dims)
    partial = bool(plan.pics.get("PICS_PARTIAL_READ"))
    with dut.step(1):
        c = dut.sync()
    with dut.step(2):
        for k in (1, 2):
            seq = (c + k) % MOD
            r = (session.read_partial(et(4), offset, count, seq=seq, resync=False) if partial
                 else session.read(et(4), seq=seq, resync=False))
            tc.require(r.ok and len(r.data) >= offset + count,
                       f"ET04 read with sequence number {seq} answered {r.describe()}")
            session.seq = seq
            data = r.data if partial else r.data[offset:offset + count]
            value = layout.decode_partial(data, dims).sequence_number
            tc.check(value == seq, f"ET04.0 reads {value} in the answer to request number {seq} (REQ-SEC-015: the "
                                   "number of the last accepted request; identity with the OSGP number is inferred, "
                                   "ASM-TBL-02; a byte order other than BT00's reads this way too, REQ-APP-013)",
                     req="REQ-SEC-015")
