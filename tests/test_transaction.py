"""Self-tests of the sans-IO 14908-1 transaction engine (lower-layers §2), on a virtual clock."""

from __future__ import annotations

import pytest

from osgp.clock import VirtualClock
from osgp.errors import ConfigError
from osgp.lon import (
    GroupAckAddress,
    GroupAddress,
    Lpdu,
    NeuronIdAddress,
    SpduType,
    SubnetNodeAddress,
    Tpdu,
    TpduType,
    decode,
    encode,
)
from osgp.transaction import (
    Delivery,
    Duplicate,
    GroupMembership,
    Ignored,
    Requester,
    Responder,
    Service,
    TidAllocator,
    ToBroadcast,
    ToGroup,
    ToNeuronId,
    ToNode,
    TransactionError,
    decode_receive_timer,
    decode_repeat_timer,
    decode_tx_timer,
)

DOM = b"\x01"
NID = bytes.fromhex("05 01 02 03 04 05")
TESTER = (1, 5)  # subnet/node of the requester
DEVICE = (1, 0x7F)


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


def rx(text: str) -> Lpdu:
    """A received frame, typed in as hex (L2Hdr..APDU, no CRC)."""
    return decode(hx(text), with_crc=False)


def run_until_idle(req: Requester, clock: VirtualClock) -> list[tuple[float, Lpdu]]:
    sent = []
    while req.busy:
        clock.advance_to(req.next_deadline)
        sent += [(clock.now(), f) for f in req.on_timeout(clock.now())]
    return sent


# -- timers (§2.2) -----------------------------------------------------------------------------------


def test_tx_and_repeat_timer_table() -> None:
    ms = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072]
    assert [round(decode_tx_timer(c) * 1000) for c in range(16)] == ms
    assert [round(decode_repeat_timer(c) * 1000) for c in range(16)] == ms


def test_receive_timer_table() -> None:
    ms = [128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576]
    assert [round(decode_receive_timer(c) * 1000) for c in range(16)] == ms


@pytest.mark.parametrize("code", [-1, 16])
def test_timer_codes_are_four_bits(code: int) -> None:
    with pytest.raises(ConfigError):
        decode_tx_timer(code)
    with pytest.raises(ConfigError):
        decode_receive_timer(code)


# -- transaction IDs (§2.3) ------------------------------------------------------------------------------


def test_tid_sequence_starts_at_zero_and_wraps_to_one() -> None:
    tids = TidAllocator()
    seq = [tids.next("A") for _ in range(18)]
    assert seq == [0, *range(1, 16), 1, 2]


def test_tid_bumped_when_it_repeats_the_last_one_for_that_destination() -> None:
    tids = TidAllocator()
    assert tids.next("X") == 0
    assert tids.next("A") == 1
    assert [tids.next("B") for _ in range(14)] == list(range(2, 16))
    assert tids.next("A") == 2  # the counter says 1, A's last was 1: bumped
    assert tids.next("B") == 3


def test_tid_spaces_are_independent() -> None:
    tids = TidAllocator()
    assert [tids.next("A", priority=True) for _ in range(3)] == [0, 1, 2]
    assert tids.next("A") == 0
    assert tids.next("A", priority=True) == 3


def test_tid_reset() -> None:
    tids = TidAllocator()
    tids.next("A")  # 0
    tids.reset()
    assert tids.next("A") == 0  # history cleared: 0 again
    tids.reset(keep_history=True)
    assert tids.next("A") == 1  # software reset keeps history: 0 was A's last, bumped


# -- Requester ----------------------------------------------------------------------------------------------


def new_requester(**kw) -> Requester:
    return Requester(*TESTER, DOM, **kw)


def test_request_frame_layout() -> None:
    req = new_requester()
    (f,) = req.start(ToNode(*DEVICE), hx("30 00 01"), now=0.0)
    # SPDU REQUEST tid 0, dBL 1, primary path, 2a 01/05 -> 01/7F, domain 01: bytes from §1.2-1.6.
    assert encode(f, with_crc=False) == hx("01 19 01 85 01 FF 01 00 30 00 01")


@pytest.mark.parametrize(("alt_path_count", "alts"), [(1, [False, False, True, True]),
                                                      (0, [False, False, False, True])])
def test_retries_at_tx_timer_with_alt_path_on_the_last_tries(alt_path_count: int, alts: list[bool]) -> None:
    clock = VirtualClock()
    req = new_requester(alt_path_count=alt_path_count)
    first = req.start(ToNode(*DEVICE), hx("30 00 01"), now=clock.now(), retries=3, tx_timer_code=7)
    assert req.on_timeout(0.1) == []  # not due yet
    sent = [(0.0, first[0]), *run_until_idle(req, clock)]
    times = [t for t, _ in sent]
    assert times == pytest.approx([0.0, 0.192, 0.384, 0.576])
    assert [f.alt_path for _, f in sent] == alts
    # Every try is the same message: same TID, same APDU; only the alt-path bit may differ.
    assert {encode(f, with_crc=False)[1:] for _, f in sent} == {encode(first[0], with_crc=False)[1:]}
    out = req.outcome
    assert out is not None and not out.completed
    assert out.attempts == pytest.approx((0.0, 0.192, 0.384, 0.576))
    assert out.finished_at == pytest.approx(0.768)
    assert "no response after 4 attempt(s)" in out.reason
    assert req.next_deadline is None


def test_first_try_on_alt_path_when_few_retries() -> None:
    (f,) = new_requester().start(ToNode(*DEVICE), b"\x30", now=0.0, retries=1)
    assert f.alt_path  # remaining retries (1) <= ALT_PATH_COUNT


def test_completion_only_on_the_matching_response() -> None:
    req = new_requester()
    (f,) = req.start(ToNode(*DEVICE), hx("30 00 01"), now=0.0)
    tid = f.pdu.tid
    assert tid == 0
    # RESPONSE bytes typed in: SPDU 0x2n = RESPONSE tid n; source 01/7F (selector 1 -> FF), dest 01/05.
    assert req.on_frame(rx("00 19 01 FF 01 85 01 21 00 11"), 0.05) is None  # wrong TID (1)
    assert req.on_frame(rx("00 19 01 FE 01 85 01 20 00 11"), 0.05) is None  # from 01/7E
    assert req.on_frame(rx("00 19 01 FF 01 86 01 20 00 11"), 0.05) is None  # to 01/06
    assert req.on_frame(rx("00 19 01 FF 01 85 02 20 00 11"), 0.05) is None  # domain 02
    assert req.on_frame(rx("80 19 01 FF 01 85 01 20 00 11"), 0.05) is None  # priority
    assert req.on_frame(rx("00 09 01 FF 01 85 01 20"), 0.05) is None  # TPDU ACKD, not a response
    assert req.on_frame(rx("00 09 01 FF 01 85 01 22"), 0.05) is None  # ACK is not a response
    assert req.busy
    out = req.on_frame(rx("00 19 01 FF 01 85 01 20 00 11"), 0.1)
    assert out is not None and out.completed and out.apdu == hx("00 11")
    assert out.attempts == (0.0,) and out.tid == 0
    assert not req.busy and req.on_timeout(10.0) == []
    assert req.on_frame(rx("00 19 01 FF 01 85 01 20 00 11"), 0.2) is None  # late copy


def test_abort_ends_the_transaction_without_more_tries() -> None:
    req = new_requester()
    req.start(ToNode(*DEVICE), b"\x30", now=0.0, retries=3)
    out = req.abort(0.5, "test over")
    assert out is not None and not out.completed and out.attempts == (0.0,) and "test over" in out.reason
    assert not req.busy and req.abort(0.6) is None and req.on_timeout(99.0) == []


def test_acknowledged_service_completes_on_ack() -> None:
    req = new_requester()
    (f,) = req.start(ToNode(*DEVICE), b"\x81\x0D", now=0.0, service=Service.ACKD)
    assert isinstance(f.pdu, Tpdu) and f.pdu.type == TpduType.ACKD and f.delta_backlog == 1
    assert req.on_frame(rx("00 19 01 FF 01 85 01 20"), 0.1) is None  # SPDU response does not count
    out = req.on_frame(rx("00 09 01 FF 01 85 01 20"), 0.1)
    assert out is not None and out.completed and out.apdu is None


def test_second_start_while_busy_is_refused() -> None:
    req = new_requester()
    req.start(ToNode(*DEVICE), b"\x30", now=0.0)
    with pytest.raises(TransactionError):
        req.start(ToNode(*DEVICE), b"\x30", now=0.0)


def test_next_transaction_gets_next_tid() -> None:
    req = new_requester()
    req.start(ToNode(*DEVICE), b"\x30", now=0.0)
    req.on_frame(rx("00 19 01 FF 01 85 01 20 00"), 0.1)
    (f,) = req.start(ToNode(*DEVICE), b"\x30", now=0.2)
    assert f.pdu.tid == 1


def test_unacknowledged_repeated_copies() -> None:
    clock = VirtualClock()
    req = new_requester()
    first = req.start(ToNode(*DEVICE), b"\x81\x0D", now=0.0, service=Service.UNACKD_RPT, retries=2,
                      repeat_timer_code=5, tx_timer_code=15)
    sent = [(0.0, first[0]), *run_until_idle(req, clock)]
    assert [t for t, _ in sent] == pytest.approx([0.0, 0.096, 0.192])  # repeat timer, not tx timer
    assert [f.pdu.type for _, f in sent] == [TpduType.UNACKD_RPT] * 3
    assert [f.alt_path for _, f in sent] == [False] * 3  # never alternate path
    assert [f.delta_backlog for _, f in sent] == [2, 0, 0]
    assert req.outcome.completed and req.outcome.finished_at == pytest.approx(0.288)


def test_unacknowledged_completes_at_once() -> None:
    req = new_requester()
    (f,) = req.start(ToNode(*DEVICE), b"\x81\x0D", now=1.0, service=Service.UNACKD)
    assert f.pdu is None and encode(f, with_crc=False) == hx("00 39 01 85 01 FF 01 81 0D")
    assert req.outcome.completed and not req.busy


def test_neuron_id_and_broadcast_destinations() -> None:
    req = new_requester()
    (f,) = req.start(ToNeuronId(NID, subnet=0), b"\x30", now=0.0)
    assert f.address == NeuronIdAddress(1, 5, 0, NID)
    out = req.on_frame(rx("00 19 00 9F 01 85 01 20 00"), 0.1)  # answered from any address (here 0/1F)
    assert out is not None and out.completed
    (f,) = req.start(ToBroadcast(subnet=0), b"\x30", now=1.0)
    assert f.delta_backlog == 15 and f.pdu.tid == 1
    out = req.on_frame(rx("00 19 01 A2 01 85 01 21 00"), 1.1)
    assert out is not None and out.completed


def test_group_request_with_reminders() -> None:
    clock = VirtualClock()
    req = new_requester()
    (f,) = req.start(ToGroup(group=9, size=2), b"\x30", now=0.0, service=Service.ACKD, retries=3,
                     tx_timer_code=7)
    assert f.address == GroupAddress(1, 5, 9) and f.delta_backlog == 2
    # Member 1 acknowledges in 2b (source 01/20 selector 0, to 01/05, group 9, member 1).
    assert req.on_frame(rx("00 09 01 20 01 85 09 01 01 20"), 0.05) is None
    assert req.next_deadline == pytest.approx(0.05 + 0.192)  # partial answer restarts the timer
    clock.advance_to(req.next_deadline)
    (retry,) = req.on_timeout(clock.now())
    # Retry is a REM/MSG whose M_List has bit 1 set (member 1 answered), one outstanding answer.
    assert retry.pdu == Tpdu(False, TpduType.REM_MSG, 0, b"\x02") and retry.apdu == b"\x30"
    assert retry.delta_backlog == 1
    assert req.on_frame(rx("00 09 01 20 01 85 09 01 01 20"), clock.now()) is None  # same member again
    out = req.on_frame(rx("00 09 01 21 01 85 09 03 01 20"), clock.now())  # member 3
    assert out is not None and out.completed and len(out.replies) == 2


def test_group_retry_with_long_m_list_sends_reminder_then_message() -> None:
    req = new_requester()
    req.start(ToGroup(group=9, size=3), b"\x30", now=0.0, service=Service.REQUEST, tx_timer_code=7)
    req.on_frame(rx("00 19 01 20 01 85 09 14 01 20 00"), 0.01)  # member 20 responds
    frames = req.on_timeout(req.next_deadline)
    assert [f.pdu.type for f in frames] == [SpduType.REMINDER, SpduType.REQUEST]
    assert frames[0].pdu.m_list == hx("00 00 10") and frames[0].apdu == b"" and frames[0].delta_backlog == 0
    assert frames[1].apdu == b"\x30"


# -- Responder -------------------------------------------------------------------------------------------


def new_responder(**kw) -> Responder:
    kw.setdefault("non_group_receive_timer_code", 9)  # 3072 ms
    return Responder(*DEVICE, DOM, neuron_id=NID, groups=[GroupMembership(9, 2, receive_timer_code=10)],
                     **kw)


REQUEST_T3 = "00 19 01 85 01 FF 01 03 3F 00 17"  # SPDU REQUEST tid 3, 01/05 -> 01/7F, domain 01


def test_new_request_is_delivered_and_answered() -> None:
    dev = new_responder()
    d = dev.on_frame(rx(REQUEST_T3), 0.0)
    assert isinstance(d, Delivery)
    assert (d.service, d.tid, d.apdu, d.auth) == (Service.REQUEST, 3, hx("3F 00 17"), False)
    resp = dev.respond(d, hx("00 AA"), 0.01)
    # RESPONSE tid 3 from 01/7F to 01/05, same domain, dBL 0: typed in from §1.2-1.6.
    assert encode(resp, with_crc=False) == hx("00 19 01 FF 01 85 01 23 00 AA")


def test_duplicate_replays_saved_response_and_never_redelivers() -> None:
    dev = new_responder()
    d = dev.on_frame(rx(REQUEST_T3), 0.0)
    assert isinstance(dev.on_frame(rx(REQUEST_T3), 0.005), Duplicate)  # before the answer: nothing
    assert dev.on_frame(rx(REQUEST_T3), 0.005).reply is None
    resp = dev.respond(d, hx("00 AA"), 0.01)
    for t in (0.5, 1.0, 2.0):
        dup = dev.on_frame(rx(REQUEST_T3), t)
        assert isinstance(dup, Duplicate) and dup.reply == resp


def test_duplicate_on_alternate_path_gets_answer_on_alternate_path() -> None:
    dev = new_responder()
    d = dev.on_frame(rx(REQUEST_T3), 0.0)
    dev.respond(d, hx("00 AA"), 0.01)
    dup = dev.on_frame(rx("40" + REQUEST_T3[2:]), 0.5)  # L2Hdr 0x40: alt path
    assert isinstance(dup, Duplicate) and dup.reply.alt_path


def test_same_tid_different_apdu_is_new() -> None:
    dev = new_responder()
    dev.on_frame(rx(REQUEST_T3), 0.0)
    assert isinstance(dev.on_frame(rx("00 19 01 85 01 FF 01 03 3F 00 18"), 0.1), Delivery)
    assert isinstance(dev.on_frame(rx("00 19 01 85 01 FF 01 03 3F 00"), 0.2), Delivery)  # shorter


def test_same_tid_other_layer_or_priority_is_new() -> None:
    dev = new_responder()
    dev.on_frame(rx(REQUEST_T3), 0.0)
    assert isinstance(dev.on_frame(rx("00 09 01 85 01 FF 01 03 3F 00 17"), 0.1), Delivery)  # TPDU ACKD
    dev2 = new_responder()
    dev2.on_frame(rx(REQUEST_T3), 0.0)
    assert isinstance(dev2.on_frame(rx("80 19 01 85 01 FF 01 03 3F 00 17"), 0.1), Delivery)  # priority


def test_after_receive_timer_same_tid_is_delivered_again() -> None:
    dev = new_responder()  # non-group receive timer 3.072 s, counted from the first copy
    dev.on_frame(rx(REQUEST_T3), 0.0)
    assert isinstance(dev.on_frame(rx(REQUEST_T3), 3.0), Duplicate)
    assert isinstance(dev.on_frame(rx(REQUEST_T3), 3.1), Delivery)


def test_group_and_neuron_id_receive_timers() -> None:
    dev = new_responder()
    group_req = "00 15 01 85 09 01 04 30"  # SPDU REQUEST tid 4 to group 9 (group timer 4.096 s)
    dev.on_frame(rx(group_req), 0.0)
    assert isinstance(dev.on_frame(rx(group_req), 4.0), Duplicate)
    assert isinstance(dev.on_frame(rx(group_req), 4.2), Delivery)
    nid_req = "00 1D 01 85 00 05 01 02 03 04 05 01 05 30"  # Neuron-ID addressed (fixed 8.192 s)
    dev.on_frame(rx(nid_req), 10.0)
    assert isinstance(dev.on_frame(rx(nid_req), 18.1), Duplicate)
    assert isinstance(dev.on_frame(rx(nid_req), 18.3), Delivery)


def test_ack_and_its_replay() -> None:
    dev = new_responder()
    ackd = "00 09 01 85 01 FF 01 06 81 0D 00 CA"  # TPDU ACKD tid 6
    d = dev.on_frame(rx(ackd), 0.0)
    assert isinstance(d, Delivery) and d.service is Service.ACKD
    ack = dev.ack(d, 0.01)
    assert encode(ack, with_crc=False) == hx("00 09 01 FF 01 85 01 26")
    assert dev.on_frame(rx(ackd), 0.5).reply == ack
    with pytest.raises(TransactionError):
        dev.respond(d, b"\x00", 0.6)


def test_unacknowledged_repeated_is_delivered_once_and_never_answered() -> None:
    dev = new_responder()
    rpt = "00 09 01 85 01 FF 01 17 81 0D"  # TPDU UnACKD_RPT tid 7
    d = dev.on_frame(rx(rpt), 0.0)
    assert isinstance(d, Delivery) and d.service is Service.UNACKD_RPT
    dup = dev.on_frame(rx(rpt), 0.1)
    assert isinstance(dup, Duplicate) and dup.reply is None
    with pytest.raises(TransactionError):
        dev.ack(d, 0.1)


def test_unacknowledged_is_always_delivered() -> None:
    dev = new_responder()
    for t in (0.0, 0.1):
        d = dev.on_frame(rx("00 39 01 85 01 FF 01 81 0D"), t)
        assert isinstance(d, Delivery) and d.service is Service.UNACKD and d.tid is None


def test_multicast_request_is_answered_in_2b() -> None:
    dev = new_responder()
    d = dev.on_frame(rx("00 15 01 85 09 01 04 30"), 0.0)
    resp = dev.respond(d, b"\x00", 0.01)
    assert resp.address == GroupAckAddress(1, 0x7F, 1, 5, 9, 2)
    # 2b: source node byte selector 0 (7F), dest 01/85, group 09, member 02, SPDU RESPONSE tid 4.
    assert encode(resp, with_crc=False) == hx("00 19 01 7F 01 85 09 02 01 24 00")


def test_multicast_reminders() -> None:
    dev = new_responder()
    d = dev.on_frame(rx("00 05 01 85 09 01 03 30"), 0.0)  # TPDU ACKD tid 3 to group 9
    ack = dev.ack(d, 0.01)
    # REM/MSG (0x53), M_Len 1, M_List 0x02: member 1 answered, member 2 (us) did not -> replay the ACK.
    dup = dev.on_frame(rx("00 05 01 85 09 01 53 01 02 30"), 0.5)
    assert isinstance(dup, Duplicate) and dup.reply == ack
    # M_List 0x04: our bit set -> nothing to do, and no more replays afterwards.
    assert isinstance(dev.on_frame(rx("00 05 01 85 09 01 53 01 04 30"), 0.6), Ignored)
    assert dev.on_frame(rx("00 05 01 85 09 01 03 30"), 0.7).reply is None
    # A REMINDER with no earlier message is ignored; a REM/MSG with none is a new message.
    assert isinstance(dev.on_frame(rx("00 05 01 86 09 01 45 03 00 00 01"), 0.8), Ignored)
    assert isinstance(dev.on_frame(rx("00 05 01 86 09 01 55 00 31"), 0.9), Delivery)


@pytest.mark.parametrize(
    ("frame", "accepted"),
    [
        (REQUEST_T3, True),
        ("00 19 01 85 01 FF 02 03 3F", False),  # other domain
        ("00 19 01 85 01 FE 01 03 3F", False),  # to node 7E
        ("00 19 01 85 02 FF 01 03 3F", False),  # to subnet 2
        ("00 11 01 85 00 01 03 3F", True),  # broadcast, whole domain
        ("00 11 01 85 01 01 03 3F", True),  # broadcast to our subnet
        ("00 11 01 85 02 01 03 3F", False),  # broadcast to another subnet
        ("00 15 01 85 09 01 03 3F", True),  # our group
        ("00 15 01 85 0A 01 03 3F", False),  # not our group
        ("00 1C 01 85 00 05 01 02 03 04 05 03 3F", True),  # our Neuron ID, no domain at all
        ("00 1C 01 85 00 05 01 02 03 04 06 03 3F", False),  # another Neuron ID
        ("00 59 01 85 01 FF 01 03 3F", False),  # NPDU version 1
        ("00 19 01 FF 01 FF 01 03 3F", False),  # from our own address
        ("00 19 01 85 01 FF 01 23 3F", False),  # a RESPONSE is not a request
        ("00 29 01 85 01 FF 01 80 00 00 00 00 00 00 00 00", False),  # AuthPDU challenge
        ("00 19 01 85 01 FF 01 63 3F", False),  # reserved SPDU type 6
    ],
)
def test_addressing_filters(frame: str, accepted: bool) -> None:
    got = new_responder().on_frame(rx(frame), 0.0)
    assert isinstance(got, Delivery) == accepted, got
    if not accepted:
        assert isinstance(got, Ignored) and got.reason


def test_neuron_id_request_from_foreign_domain_answered_from_0_0() -> None:
    dev = new_responder()
    d = dev.on_frame(rx("00 1C 01 85 00 05 01 02 03 04 05 03 3F"), 0.0)
    resp = dev.respond(d, b"\x00", 0.01)
    assert resp.domain == b"" and resp.address == SubnetNodeAddress(0, 0, 1, 5)


# -- both roles together, through bytes ------------------------------------------------------------------


def test_lost_response_is_recovered_by_retry_without_redelivery() -> None:
    clock = VirtualClock()
    req = new_requester()
    dev = new_responder()
    deliveries = 0
    lost_once = False
    outbox = req.start(ToNode(*DEVICE), hx("30 00 01"), now=clock.now(), tx_timer_code=7)
    while req.busy:
        for f in outbox:
            got = dev.on_frame(decode(encode(f)), clock.now())
            if isinstance(got, Delivery):
                deliveries += 1
                answer = dev.respond(got, hx("00 42"), clock.now())
            else:
                assert isinstance(got, Duplicate)
                answer = got.reply
            if not lost_once:  # the channel eats the first response
                lost_once = True
                continue
            req.on_frame(decode(encode(answer)), clock.now())
        if req.busy:
            clock.advance_to(req.next_deadline)
            outbox = req.on_timeout(clock.now())
    out = req.outcome
    assert out.completed and out.apdu == hx("00 42")
    assert deliveries == 1 and len(out.attempts) == 2
