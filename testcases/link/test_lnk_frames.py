"""ISO/IEC 14908-1 frames: CRC, header fields, malformed frames (TS 104 001 Clause 9 on EN 14908-1:2014;
lon-stack-dx / lon-stack-ex, shared/spec/lower-layers.md §1).
"""

from __future__ import annotations

from osgp import lon
from osgp.session import ResponseNotAuthentic
from osgpct.dut import Dut
from osgpct.probes import PROBE, answers_to, crc_ok, hear, protect, send
from osgpct.testcase import testcase

ASM = "NPDU version 0: PIXIT lon_profile, ASM-LNK-01"


def judge_frames(tc, session, heard, *, what: str) -> None:
    """REQ-LNK-001/-004/-006 on frames heard from the DUT. REQ-LNK-004 is inferred (the NPDU version OSGP requires
    is an open item, low:825-826): its departures are deviations naming ASM-LNK-01 / PIXIT lon_profile."""
    cfg = session.config
    rule = "the answer goes back to the request's source, 2a with selField 1 (low:123, 251)"
    for h in heard:
        tc.check(crc_ok(h.raw), f"{what}: frame {h.raw.hex(' ')} ends with CRC {h.raw[-2:].hex()}, not the "
                                "CRC-16/GENIBUS of the bytes before it (REQ-LNK-001)", req="REQ-LNK-001")
        if h.lpdu is None:
            if crc_ok(h.raw):
                tc.check(False, f"{what}: frame {h.raw.hex(' ')} does not decode: {h.error} (REQ-LNK-004; {ASM})",
                         req="REQ-LNK-004")
            continue
        f = h.lpdu
        issues = lon.validate(f)
        tc.check(not issues, f"{what}: {f.summary()}: {'; '.join(issues)} (REQ-LNK-004: a value the codec calls "
                             f"reserved; {ASM})", req="REQ-LNK-004")
        tc.check(f.version == 0, f"{what}: {f.summary()} uses NPDU version {f.version} (REQ-LNK-004; {ASM})",
                 req="REQ-LNK-004")
        a = f.address
        tc.check(isinstance(a, lon.SubnetNodeAddress),
                 f"{what}: {f.summary()} is not addressed subnet/node (REQ-LNK-006: {rule})", req="REQ-LNK-006")
        if isinstance(a, lon.SubnetNodeAddress):
            tc.check((a.dst_subnet, a.dst_node) == (cfg.tester_subnet, cfg.tester_node),
                     f"{what}: {f.summary()} goes to {a.dst_subnet}/{a.dst_node}, not to the tester "
                     f"{cfg.tester_subnet}/{cfg.tester_node} (REQ-LNK-006: {rule})", req="REQ-LNK-006")
            tc.check((a.src_subnet, a.src_node) == (cfg.dut.subnet, cfg.dut.node),
                     f"{what}: {f.summary()} comes from {a.src_subnet}/{a.src_node}, not from the subnet/node the "
                     f"request was addressed to, {cfg.dut.subnet}/{cfg.dut.node} (REQ-LNK-006: {rule})",
                     req="REQ-LNK-006")
        tc.check(f.domain == cfg.domain, f"{what}: {f.summary()} is in domain {f.domain.hex() or '(empty)'}, not the "
                                         f"request's {cfg.domain.hex() or '(empty)'} (REQ-LNK-006: {rule})",
                 req="REQ-LNK-006")


@testcase(
    id="TC_LNK_FRM_BV_01",
    title="Frames the DUT sends carry a valid CRC-16 and well-formed headers addressed back to the tester",
    purpose="Ensure that, when the DUT answers requests (executed, refused for the sequence number or the "
            "digest), every frame it sends ends with the CRC-16/GENIBUS of its contents, uses NPDU version 0 and "
            "no reserved value, and is a subnet/node (2a) frame from the DUT to the tester in the request's domain",
    requirements=["REQ-LNK-001", "REQ-LNK-004", "REQ-LNK-006"],
    pixit=["lon_profile", "lon_timers"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Send a read of BT01 in a hand-made REQUEST frame and listen for the transaction time",
            "one RESPONSE; every frame heard has a valid CRC and the expected header"),
           ("Read BT01 with a replayed sequence number and with a zeroed digest through the session",
            "answered (0x0C and 0x0B are judged elsewhere)"),
           ("Check every frame heard from the DUT during the test", "valid CRC, NPDU v0, 2a DUT -> tester, "
            "request's domain, no reserved value")],
)
def test_dut_frames_well_formed(tc, session, plan):
    """Sources: REQ-LNK-001: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-ex LtCUtil.c LtCRC16,
    CRC-16/GENIBUS check 0xD64E (low §1.8) [VERIFIED]; REQ-LNK-004: TS 104 001 Clause 9 on EN 14908-1:2014 (clause
    unknown); packet-lon.c, lcs_network.c, lcs_tsa.c field tables (low §1.3, §1.6) [READ]; version OSGP requires
    [NOT FOUND]; REQ-LNK-006: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_network.c
    NetworkLayerSend selField, packet-lon.c (low §1.4, §2.1) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        sent = protect(session)
        tid = tc.rng.randrange(1, 16)
        heard = send(session, [session.request_frame(sent.pdu, tid=tid)])
        judge_frames(tc, session, heard, what="answer to a hand-made request")
        tc.require(answers_to(session, sent, tid, heard), "no answer to the hand-made request was heard")
    with dut.step(3):
        # only the frames matter here: what the answers say is judged by the SECURITY test cases
        for kw in ({"seq": session.seq}, {"seq": session.next_seq(), "digest_override": bytes(8)}):
            try:
                r = session.request(PROBE, resync=False, **kw)
                tc.observe(f"{'replayed number' if len(kw) == 1 else 'zeroed digest'}: {r.describe()}")
            except ResponseNotAuthentic as e:
                tc.observe(f"answer not authenticated: {e}")
    with dut.step(4):
        rx = [rec.frame for ex in session.exchanges for rec in ex.frames if rec.direction == "rx"]
        tc.require(rx, "no frame from the DUT was recorded")
        judge_frames(tc, session, hear(rx), what="session exchanges")


@testcase(
    id="TC_LNK_CRC_BI_01",
    title="A frame whose CRC does not check is ignored and changes nothing",
    purpose="Ensure that, when the tester sends a valid request in a frame with its CRC inverted, or with one "
            "APDU bit changed under the original CRC, the DUT neither answers nor executes it: the same request "
            "in a correct frame is then accepted with its sequence number",
    requirements=["REQ-LNK-002"],
    pixit=["lon_timers"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number c)", "0x00"),
           ("Send a read of BT01 numbered c+1 in a frame with the CRC inverted, then with one APDU bit flipped and "
            "the CRC left as it was; listen for the transaction time after each", "no answer"),
           ("Send the same read in a correct frame with another transaction id", "0x00: the corrupt frames were "
            "not executed (c+1 unused) and left no duplicate record")],
)
def test_bad_crc_ignored(tc, session, plan):
    """Sources: REQ-LNK-002: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_link.c (the
    interface checks the CRC) (low §1.1) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        c = dut.sync()
    sent = protect(session, c + 1)
    tid = tc.rng.randrange(1, 15)
    good = session.request_frame(sent.pdu, tid=tid)
    with dut.step(2):
        crc_inverted = good[:-2] + bytes(b ^ 0xFF for b in good[-2:])
        # inside the OSGP PDU; never in the APDU's first byte (field safety, ASM-APP-01: without an envelope the
        # PDU's first byte leads the APDU and a flipped bit could make it network management)
        lead = 0 if session.config.apdu_prefix else 8
        bit = 8 * (len(good) - 2 - len(sent.pdu)) + lead + tc.rng.randrange(8 * len(sent.pdu) - lead)
        body_flipped = good[:bit // 8] + bytes([good[bit // 8] ^ (1 << bit % 8)]) + good[bit // 8 + 1:]
        for frame, what in ((crc_inverted, "its CRC inverted"), (body_flipped, f"APDU bit {bit} flipped")):
            heard = send(session, [frame])
            got = answers_to(session, sent, tid, heard)
            tc.check(not got, f"a frame with {what} was answered: {got[0][0].describe() if got else ''} "
                              "(REQ-LNK-002: a frame whose CRC does not check is discarded)", req="REQ-LNK-002")
    with dut.step(3):
        tid2 = tid + 1
        heard = send(session, [session.request_frame(sent.pdu, tid=tid2)])
        got = answers_to(session, sent, tid2, heard)
        tc.require(got, "no answer to the request in a correct frame")
        r = got[0][1]
        tc.check(r is not None and r.ok,
                 f"the request in a correct frame was answered {r.describe() if r else 'with a clear 0x0B'}: a "
                 "corrupt copy was executed and used up its sequence number (REQ-LNK-002: no state change)",
                 req="REQ-LNK-002")
        if r is not None and r.ok:
            session.seq = sent.seq


@testcase(
    id="TC_LNK_FRM_BI_01",
    title="Frames too short for their own header are ignored and the DUT keeps serving",
    purpose="Ensure that, when the tester sends frames cut inside their 14908-1 header (L2 header, NPDU, address, "
            "domain, transport byte), each with a correct CRC over what remains, the DUT answers none and then "
            "still serves a valid request",
    requirements=["REQ-LNK-003"],
    pixit=["lon_timers"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Send a valid request frame cut after 0, 1, … bytes, up to the byte before its APDU, each with a "
            "correct CRC", "no answer to any"),
           ("Read BT01 with the session", "0x00")],
)
def test_truncated_frames_ignored(tc, session, plan):
    """Sources: REQ-LNK-003: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-ex LtDriver.h
    LTSTS_TOOSHORT (low §1.1) [READ]; robustness beyond the stack [INFERRED]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        sent = protect(session)
        good = session.request_frame(sent.pdu, tid=tc.rng.randrange(1, 16))
        header = len(good) - 2 - len(sent.pdu) - len(session.config.apdu_prefix)
        cuts = [good[:k] + lon.crc16(good[:k]).to_bytes(2, "big") for k in range(header)]
        heard = send(session, cuts)
        answers = [h for h in heard if h.is_response or h.is_ack]
        tc.check(not answers, f"{len(answers)} answer(s) to frames cut inside their header: "
                              f"{answers[0].describe() if answers else ''} (REQ-LNK-003, inferred)", req="REQ-LNK-003")
    with dut.step(3):
        r = session.request(PROBE)
        tc.check(r.ok, f"after the truncated frames a valid read answered {r.describe()} (REQ-LNK-003)",
                 req="REQ-LNK-003")
