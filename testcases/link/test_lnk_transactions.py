"""ISO/IEC 14908-1 transactions: transaction ids, duplicate detection, services and the response time
(TS 104 001 Clause 9 on EN 14908-1:2014; lon-stack-dx lcs_tsa.c; shared/spec/lower-layers.md §2).

Duplicate detection lasts the DUT's receive timer, PIXIT receive_timer_ms (ASM-LNK-02). Deliveries are counted
with ET23.0 ("The number of non-validated explicit LonTalk messages received", MEP-DG:4831-4833, NES meters,
ASM-TBL-02): between two reads of it, the count grows by the messages delivered in between plus one (the second
read). "Received" may also mean every copy heard: a count is evidence of deliveries only once the DUT showed that
it does not count a duplicate whose saved response proves it was not executed again (:func:`counts_deliveries`);
otherwise the count checks are INCONC.
"""

from __future__ import annotations

import dataclasses

from osgp import lon
from osgp.app import ResponseCode
from osgpct.dut import Dut
from osgpct.probes import answers_to, authentic_any_tid, open_answer, protect, reencode, send, try_time
from osgpct.testcase import testcase

ASM_DUP = "rests on ASM-LNK-02: receive timer of PIXIT receive_timer_ms"


def one_answer(dut: Dut, sent, tid, heard, what: str):
    """The single RESPONSE with ``tid`` that answers ``sent``; INCONC when none. Several are a failed check of
    REQ-LNK-012 (exactly one RESPONSE): FAIL where the case names it, else INCONC naming TC_LNK_TID_BV_01."""
    tc, session = dut.tc, dut.session
    got = answers_to(session, sent, tid, heard)
    tc.require(got, f"no answer with transaction id {tid} to {what}")
    dut.judge(len(got) == 1, f"{len(got)} RESPONSEs with transaction id {tid} to {what} (REQ-LNK-012: exactly "
              "one RESPONSE)", "REQ-LNK-012")
    return got[0]


def counts_deliveries(dut: Dut, what: str) -> None:
    """Precondition of a delivery count in ET23.0: a REQUEST and its immediate copy, answered with the saved
    response (so not executed again: a second execution would meet the used sequence number), grow ET23.0 by 2
    with the read after them. Else INCONC: the DUT re-executed the copy (judged by TC_LNK_DUP_BV_01), or its
    ET23.0 counts receptions, which 'messages received' (MEP-DG:4831) allows."""
    tc, session = dut.tc, dut.session
    n0 = dut.delivered_count()
    sent = protect(session)
    tid = tc.rng.randrange(1, 16)
    frame = session.request_frame(sent.pdu, tid=tid)
    first, r = one_answer(dut, sent, tid, send(session, [frame], try_time(session)), "the calibration request")
    tc.require(r is not None and r.ok, f"the calibration request was answered {r.describe() if r else 'with 0x0B'}")
    got = answers_to(session, sent, tid, send(session, [frame], try_time(session)))
    tc.require(got and got[0][0].lpdu.apdu == first.lpdu.apdu, "the immediate copy of the calibration request was "
               "not answered with the saved response (REQ-LNK-014/-015, judged by TC_LNK_DUP_BV_01)")
    n1 = dut.delivered_count()
    tc.require(n1 - n0 == 2, f"ET23.0 grew by {n1 - n0} over a request, its copy answered with the saved response "
               f"(not executed again) and one read: this DUT's ET23.0 counts receptions, not deliveries (MEP-DG:4831 "
               f"'messages received' allows it), so it cannot show whether {what} is delivered once")


def copies_within_timer(tc, session, plan, copies: int) -> None:
    """Precondition of the duplicate checks: ``copies`` tries of the tester's transmit timer stay inside the DUT's
    receive timer (PIXIT receive_timer_ms, the supplier's value; ASM-LNK-02). Otherwise a copy may rightly be new."""
    span = copies * try_time(session)
    tc.require(span < plan.pixit.receive_timer_ms / 1000.0,
               f"the copies span {span:g} s, not inside the DUT's receive timer PIXIT receive_timer_ms = "
               f"{plan.pixit.receive_timer_ms} ms: a conforming DUT may take them as new messages")


@testcase(
    id="TC_LNK_TID_BV_01",
    title="Each request is answered by exactly one RESPONSE carrying the request's transaction id",
    purpose="Ensure that, when the tester sends reads in REQUEST frames with transaction ids 0, 15 and three "
            "others, the DUT answers each with exactly one RESPONSE frame whose transaction id is the request's",
    requirements=["REQ-LNK-012"],
    pixit=["lon_timers", "lon_service"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("For five transaction ids (0, 15, three drawn with the campaign seed): send a read of BT01 with the "
            "next sequence number and listen for the transaction time", "exactly one RESPONSE, with that "
            "transaction id, 0x00")],
)
def test_response_uses_request_tid(tc, session, plan):
    """Sources: REQ-LNK-012: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c
    request/response service (low §2.1) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        tids = [0, 15] + tc.rng.sample(range(1, 15), 3)
        for tid in tids:
            sent = protect(session)
            heard = send(session, [session.request_frame(sent.pdu, tid=tid)])
            responses = [h for h in heard if h.is_response]
            tc.require(responses, f"no RESPONSE to a request with transaction id {tid}")
            tc.check(len(responses) == 1 and responses[0].tid == tid,
                     f"a request with transaction id {tid} was answered by "
                     f"{', '.join(h.describe() for h in responses)} (REQ-LNK-012: exactly one RESPONSE with the "
                     "request's transaction id)")
            got = answers_to(session, sent, tid, heard)
            if got:  # what the answer says is judged by the APP and SEC cases, not by REQ-LNK-012
                r = got[0][1]
                tc.observe(f"the read with transaction id {tid} answered {r.describe() if r else 'with a clear 0x0B'}")


@testcase(
    id="TC_LNK_DUP_BV_01",
    title="A duplicate request within the receive timer gets the saved response again and is not re-executed",
    purpose="Ensure that, when the tester repeats a request frame (same source, transaction id and APDU) at once, "
            "twice, the DUT answers each copy with a RESPONSE byte-identical to its first one, which means it did "
            "not deliver the request again (a second execution would meet the used sequence number)",
    requirements=["REQ-LNK-014", "REQ-LNK-015"],
    pixit=["lon_timers", "receive_timer_ms"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Send a read of BT01 with the next sequence number in a REQUEST frame", "one RESPONSE R1, 0x00"),
           ("Send the identical frame twice more, at once", "each answered by one RESPONSE identical to R1")],
)
def test_duplicate_replayed(tc, session, plan):
    """Sources: REQ-LNK-014: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c receive
    records (low §2.4) [READ]; REQ-LNK-015: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx
    lcs_tsa.c re-sends the saved response (low §2.4) [READ]."""
    dut = Dut(tc, session, plan)
    copies_within_timer(tc, session, plan, 3)
    with dut.step(1):
        dut.sync()
    sent = protect(session)
    tid = tc.rng.randrange(1, 16)
    frame = session.request_frame(sent.pdu, tid=tid)
    with dut.step(2):
        heard = send(session, [frame], try_time(session))
        first, r = one_answer(dut, sent, tid, heard, "the first copy")
        tc.require(r is not None and r.ok, f"the first copy was answered {r.describe() if r else 'with 0x0B'}")
    with dut.step(3):
        for copy in (2, 3):
            got = answers_to(session, sent, tid, send(session, [frame], try_time(session)))
            tc.check(got, f"copy {copy} of the request was not answered (REQ-LNK-014: the saved response is sent "
                          f"again; {ASM_DUP})", stop=True, req="REQ-LNK-014")
            again, r2 = got[0]
            what = r2.describe() if r2 is not None else "a clear 0x0B"
            if r2 is not None and r2.code == ResponseCode.INVALID_SEQUENCE:
                # the copy reached the services again and met its used number: delivered twice
                tc.check(False, f"copy {copy} of the request was answered {what}: it was delivered again "
                         f"(REQ-LNK-014: a duplicate is not delivered again; {ASM_DUP})", req="REQ-LNK-014")
                continue
            tc.check(again.lpdu.apdu == first.lpdu.apdu,
                     f"copy {copy} of the request was answered {what}, not the saved response (REQ-LNK-015: the "
                     f"saved response, same APDU; {ASM_DUP})", req="REQ-LNK-015")


@testcase(
    id="TC_LNK_DUP_BV_02",
    title="The same transaction id with a different APDU is a new message",
    purpose="Ensure that, when the tester sends a second request from the same source with the same transaction "
            "id as the previous one but another APDU, the DUT delivers and answers it as a new message",
    requirements=["REQ-LNK-016"],
    pixit=["lon_timers"],
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Send a read of BT01 (next sequence number) with transaction id t", "0x00"),
           ("Send a read of BT01 with the following sequence number, also with transaction id t",
            "one RESPONSE with t that authenticates against this second request, 0x00")],
)
def test_same_tid_new_apdu(tc, session, plan):
    """Sources: REQ-LNK-016: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c compares
    layer, length and APDU bytes (low §2.4) [READ]."""
    dut = Dut(tc, session, plan)
    with dut.step(1):
        dut.sync()
    tid = tc.rng.randrange(1, 16)
    with dut.step(2):
        sent1 = protect(session)
        _, r = one_answer(dut, sent1, tid, send(session, [session.request_frame(sent1.pdu, tid=tid)]),
                          "the first request")
        tc.require(r is not None and r.ok, f"the first request was answered {r.describe() if r else 'with 0x0B'}")
    with dut.step(3):
        sent2 = protect(session)
        heard = send(session, [session.request_frame(sent2.pdu, tid=tid)])
        got = answers_to(session, sent2, tid, heard)
        stale = answers_to(session, sent1, tid, heard)
        tc.check(got and got[0][1] is not None and got[0][1].ok,
                 f"the second request (same transaction id {tid}, other APDU) was "
                 + ("answered with the first request's saved response" if stale and not got else
                    f"answered {got[0][1].describe() if got and got[0][1] else 'with 0x0B' if got else 'not answered'}")
                 + " (REQ-LNK-016: a different APDU is a new message)")


@testcase(
    id="TC_LNK_DUP_TI_01",
    title="A repeat within the receive timer is not delivered; after it, the same message is delivered anew",
    purpose="Ensure that, when the tester repeats a request at once, the DUT does not deliver the copy again "
            "(ET23.0 does not count it), and that when the same frame comes again after the receive timer it is "
            "delivered as a new message (ET23.0 counts it) and answered, with 0x0C for the used sequence number or "
            "the same response, never executed twice",
    requirements=["REQ-LNK-014", "REQ-LNK-017", "REQ-SEC-014"],
    pixit=["lon_timers", "receive_timer_ms"],
    initial="ET23 (message counters) readable (MEP-DG; ASM-TBL-02).",
    steps=[("Read BT01 with the session, then ET23.0 = n0", "0x00"),
           ("Send a read of BT01 (next sequence number) in a REQUEST frame, then the identical frame at once; "
            "read ET23.0 = n1", "both answered, the copy with the saved response; n1 - n0 = 2 (the request and this "
            "read; else INCONC: ET23.0 counts receptions)"),
           ("Wait the receive timer plus 1 s; send the identical frame again; read ET23.0 = n2",
            "answered, 0x0C (its number is used) or the same response as before; n2 - n1 = 2")],
)
def test_receive_timer(tc, session, plan):
    """Sources: REQ-LNK-014: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c receive
    records (low §2.4) [READ]; REQ-LNK-017: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx
    lcs_tsa.c receive timer, 8192 ms for Neuron ID addressing (low §2.2, §2.4) [READ]; REQ-SEC-014: TS 104 001 Annex
    F (clause unknown); MEP-DG p.11 vs p.21, self-contradictory (app §4.4, §7 TP-SEQ-07) [INFERRED]."""
    dut = Dut(tc, session, plan)
    copies_within_timer(tc, session, plan, 2)
    with dut.step(1):
        dut.sync()
        n0 = dut.delivered_count()
    sent = protect(session)
    tid = tc.rng.randrange(1, 16)
    frame = session.request_frame(sent.pdu, tid=tid)
    with dut.step(2):
        first, r = one_answer(dut, sent, tid, send(session, [frame], try_time(session)), "the request")
        tc.require(r is not None and r.ok, f"the request was answered {r.describe() if r else 'with 0x0B'}")
        got = answers_to(session, sent, tid, send(session, [frame], try_time(session)))
        tc.require(got, "the immediate copy was not answered")
        again, r1 = got[0]
        n1 = dut.delivered_count()
        if again.lpdu.apdu != first.lpdu.apdu:  # the copy reached the services again: its answer shows it
            tc.check(False, f"the immediate copy was answered {r1.describe() if r1 else 'with 0x0B'}, not with the "
                     f"saved response: it was delivered again (REQ-LNK-014; {ASM_DUP})", req="REQ-LNK-014", stop=True)
        # the saved response shows the copy was not executed: a count of 3 means ET23.0 counts receptions
        tc.require(n1 - n0 == 2, f"ET23.0 grew by {n1 - n0} over a request, its copy answered with the saved "
                   "response (not executed again) and one read: this DUT's ET23.0 counts receptions, not deliveries "
                   "(MEP-DG:4831 'messages received' allows it); the delivery after the receive timer cannot be "
                   "counted")
    with dut.step(3):
        timer = plan.pixit.receive_timer_ms / 1000.0
        session.wait(timer + 1.0, "the DUT's receive timer (PIXIT receive_timer_ms) expires")
        got = answers_to(session, sent, tid, send(session, [frame]))
        tc.check(got, f"the frame repeated after the receive timer was not answered (REQ-LNK-017: it is a new "
                      f"message; {ASM_DUP})", req="REQ-LNK-017")
        if got:
            again, r2 = got[0]
            replay = again.lpdu.apdu == first.lpdu.apdu
            tc.check(replay or (r2 is not None and r2.code == ResponseCode.INVALID_SEQUENCE),
                     f"the request repeated after the receive timer was answered "
                     f"{r2.describe() if r2 else 'with 0x0B'}: neither 0x0C (its number {sent.seq} is used) nor "
                     "the same response (REQ-SEC-014: never executed twice; rests on ASM-SEC-09)", req="REQ-SEC-014")
        n2 = dut.delivered_count()
        tc.check(n2 - n1 == 2, f"ET23.0 grew by {n2 - n1} over the repeat after the receive timer and one read; 2 "
                               f"expected (REQ-LNK-017: delivered again as a new message; {ASM_DUP})",
                 req="REQ-LNK-017")


@testcase(
    id="TC_LNK_ACK_BV_01",
    title="An acknowledged message is ACKed with its transaction id, and a repeat is ACKed but not delivered",
    purpose="Ensure that, when the tester sends a read in an ACKD TPDU and then repeats the frame at once, the "
            "DUT answers each copy with one ACK TPDU (no RESPONSE) carrying the message's transaction id and "
            "delivers the message once (ET23.0)",
    requirements=["REQ-LNK-013", "REQ-LNK-012", "REQ-LNK-014"],
    pixit=["lon_timers", "receive_timer_ms"],
    initial="ET23 (message counters) readable (MEP-DG; ASM-TBL-02).",
    steps=[("Read BT01 with the session; calibrate ET23.0 with a REQUEST and its copy (answered with the saved "
            "response: +2 with the read after); then ET23.0 = n0", "0x00; +2 (else INCONC: ET23.0 counts receptions)"),
           ("Send a read of BT01 (next sequence number) in an ACKD frame with transaction id t, then the same "
            "frame again", "one ACK with t to each, no RESPONSE"),
           ("Read ET23.0 = n1", "n1 - n0 = 2 (the message once, and this read)")],
)
def test_ackd_acknowledged(tc, session, plan):
    """Sources: REQ-LNK-013: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c ACKD
    service, receive records (low §2.1, §2.4) [READ]."""
    dut = Dut(tc, session, plan)
    copies_within_timer(tc, session, plan, 2)
    with dut.step(1):
        dut.sync()
        counts_deliveries(dut, "an ACKD repeat")
        n0 = dut.delivered_count()
    with dut.step(2):
        sent = protect(session)
        tid = tc.rng.randrange(1, 16)
        request = session.request_frame(sent.pdu, tid=tid)
        frame = reencode(request, pdu=lon.Tpdu(False, lon.TpduType.ACKD, tid))
        for copy in (1, 2):
            heard = send(session, [frame], try_time(session))
            acks = [h for h in heard if h.is_ack]
            tc.check(len(acks) == 1, f"copy {copy} of an ACKD message with transaction id {tid} was answered by "
                     f"{', '.join(h.describe() for h in heard) or 'nothing'} (REQ-LNK-013: one ACK)",
                     req="REQ-LNK-013")
            if len(acks) == 1:
                tc.check(acks[0].tid == tid, f"copy {copy} of an ACKD message with transaction id {tid} was "
                         f"acknowledged by {acks[0].describe()} (REQ-LNK-012: the ACK carries the same trans_no)",
                         req="REQ-LNK-012")
            tc.check(not any(h.is_response for h in heard), f"copy {copy} of an ACKD message got a RESPONSE "
                     "(REQ-LNK-013: an ACKD message is answered by an ACK)", req="REQ-LNK-013")
    with dut.step(3):
        n1 = dut.delivered_count()
        tc.check(n1 - n0 == 2, f"ET23.0 grew by {n1 - n0} over an ACKD message sent twice and one read; 2 expected "
                               f"(REQ-LNK-014: a repeat is not delivered again; {ASM_DUP})", req="REQ-LNK-014")


@testcase(
    id="TC_LNK_RPT_BV_01",
    title="The copies of an unacknowledged-repeated message are delivered once",
    purpose="Ensure that, when the tester sends three copies of a read in UNACKD_RPT frames with one transaction "
            "id, the DUT delivers it once (ET23.0) and answers none of them",
    requirements=["REQ-LNK-018", "REQ-LNK-014"],
    pixit=["lon_timers", "receive_timer_ms"],
    initial="ET23 (message counters) readable (MEP-DG; ASM-TBL-02).",
    steps=[("Read BT01 with the session; calibrate ET23.0 with a REQUEST and its copy (answered with the saved "
            "response: +2 with the read after); then ET23.0 = n0", "0x00; +2 (else INCONC: ET23.0 counts receptions)"),
           ("Send three identical UNACKD_RPT frames carrying a read of BT01 (next sequence number)", "no answer"),
           ("Read ET23.0 = n1", "n1 - n0 = 2 (the message once, and this read)")],
)
def test_unackd_rpt_once(tc, session, plan):
    """Sources: REQ-LNK-018: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c repeated
    service and duplicate detection (low §2.1, §2.4) [READ]."""
    dut = Dut(tc, session, plan)
    copies_within_timer(tc, session, plan, 2)
    with dut.step(1):
        dut.sync()
        counts_deliveries(dut, "an UnACKD_RPT copy")
        n0 = dut.delivered_count()
    with dut.step(2):
        # the copies go out back to back: well inside any receive timer (128 ms at least, low:267)
        sent = protect(session)
        tid = tc.rng.randrange(1, 16)
        base = lon.decode(session.request_frame(sent.pdu, tid=tid))
        frame = lon.encode(dataclasses.replace(base, pdu=lon.Tpdu(False, lon.TpduType.UNACKD_RPT, tid),
                                               delta_backlog=0))
        heard = send(session, [frame, frame, frame])
        tc.check(not any(h.is_response or h.is_ack for h in heard),
                 f"an unacknowledged-repeated message was answered: {'; '.join(h.describe() for h in heard)} "
                 "(REQ-LNK-018: no acks for this service)", req="REQ-LNK-018")
    with dut.step(3):
        n1 = dut.delivered_count()
        tc.check(n1 - n0 == 2, f"ET23.0 grew by {n1 - n0} over three copies of one message and one read; 2 "
                               f"expected (REQ-LNK-014: the copies are duplicates, delivered once; {ASM_DUP})",
                 req="REQ-LNK-014")


@testcase(
    id="TC_LNK_TMR_TI_01",
    title="The DUT answers a request before the requester's transaction ends",
    purpose="Ensure that, when the tester sends a read of BT01 in a REQUEST frame and repeats the same frame at "
            "each of its transmit timers as its retries (PIXIT lon_timers), the DUT's RESPONSE authenticating "
            "against that request arrives before the tester's last try has timed out; whether the read is "
            "executed or refused for its sequence number does not matter here",
    requirements=["REQ-LNK-024"],
    pixit=["lon_timers", "response_timeout_s"],
    timing=True,
    steps=[("Three times: send a read of BT01 numbered with the session's next sequence number (resynchronised "
            "from a 0x0C) in a REQUEST frame; repeat the frame after each transmit timer up to the retry count",
            "a RESPONSE that authenticates against the request (0x00 or 0x0C), heard within the tester's "
            "transaction: (retries + 1) x transmit timer; its delay is compared with response_timeout_s (reported)")],
)
def test_answers_in_time(tc, session, plan):
    """Sources: REQ-LNK-024: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_tsa.c, the
    transaction fails after the last retry (low §2.1-2.2: 'otherwise failure after the retries') [READ]."""
    dut = Dut(tc, session, plan)
    tries, limit = session.config.retries + 1, plan.pixit.response_timeout_s
    bound = tries * try_time(session)
    with dut.step(1):
        for tid in tc.rng.sample(range(1, 16), 3):
            sent = protect(session)
            frame = session.request_frame(sent.pdu, tid=tid)
            answer, start, used = [], None, 0
            while used < tries:  # the tester's own transaction: the retries are copies of the frame
                used += 1
                heard = send(session, [frame], try_time(session))
                start = session.exchanges[-1].started if start is None else start
                answer = authentic_any_tid(session, sent, heard)
                if answer:
                    break
                if any(h.is_response and h.tid == tid for h in heard):  # in time, but not authentic: SEC judges it
                    dut.judge(False, f"the RESPONSE with transaction id {tid} came in time but does not authenticate "
                              "against the read", "REQ-SEC-003", stop=True)
            tc.check(answer, f"no RESPONSE answering a read (transaction id {tid}) within the tester's transaction "
                             f"of {tries} tries, {bound:g} s (PIXIT lon_timers; REQ-LNK-024: the transaction fails "
                             "after the retries)", stop=True)
            if answer[0].tid != tid:  # judged by TC_LNK_TID_BV_01 (REQ-LNK-012), not here
                tc.observe(f"the answer carries transaction id {answer[0].tid}, the request {tid}")
            ex = session.exchanges[-1]
            rx = [rec.t for rec in ex.frames if rec.direction == "rx" and rec.frame == answer[0].raw]
            if rx:
                delay = rx[0] - start
                tc.observe(f"answer heard {delay:.3f} s after the first try (try {used} of {tries})"
                           + (f"; more than PIXIT response_timeout_s = {limit:g} s (no source bounds it: reported)"
                              if delay > limit else ""))
            r = open_answer(session, sent, answer[0])
            if r is not None and r.code == ResponseCode.INVALID_SEQUENCE:
                session.seq = r.expected_seq  # learn the DUT's number for the next try
