"""Device management: the 14908 address and state the DUT publishes in ET04, its message counters in ET23 and
its group dimension in ET11 (TS 104 001 Clause 4, Annex B). Field layouts per ASM-TBL-02 (MEP-DG/OPG).

The plan has no PICS item for ET04, ET11 or ET23: a DUT whose BT00 does not list the table makes the case
inconclusive.
"""

from __future__ import annotations

from osgp.app import bt, et
from osgpct.dut import Dut, verdict_of
from osgpct.testcase import Verdict, testcase


@testcase(
    id="TC_MGT_NET_BV_01",
    title="ET04 holds the subnet, node and Neuron ID the DUT answers on",
    purpose="Ensure that, when the tester reads ET04 over the subnet/node address of the plan, the DUT's ET04.10 "
            "and ET04.11 hold that subnet and node (non-zero) and ET04.4 the Neuron ID the plan declares",
    requirements=["REQ-MGT-006", "REQ-MGT-007"],
    steps=[("Read ET04.4 (Neuron ID), ET04.10 (subnet), ET04.11 (node)", "0x00"),
           ("Compare with the plan's address", "equal; subnet and node non-zero")],
)
def test_et04_address(tc, session, plan):
    """Source: TS 104 001 Clause 4 (clause unknown); MEP-DG ET04 p.56-57 (app §3, tbl §9.10) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(4), "system information")
    with tc.step(1):
        neuron = dut.read_field(et(4), "transceiver_id")
        subnet = dut.read_field(et(4), "subnet_id")
        node = dut.read_field(et(4), "node_id")
    with tc.step(2):
        a = plan.address
        tc.check(subnet != 0 and node != 0, f"ET04 subnet/node {subnet}/{node}: zero means not commissioned",
                 req="REQ-MGT-006")
        tc.check((subnet, node) == (a.subnet, a.node), f"ET04 holds subnet/node {subnet}/{node} but the DUT answered "
                 f"on {a.subnet}/{a.node}", req="REQ-MGT-006")
        if a.neuron_id is None:
            tc.observe(f"ET04.4 Neuron ID {neuron.hex().upper()} (the plan declares none to compare with)")
        else:
            tc.check(neuron == a.neuron_id, f"ET04.4 holds Neuron ID {neuron.hex().upper()}, the plan declares "
                     f"{a.neuron_id.hex().upper()}", req="REQ-MGT-007")


REQUEST_NEURON_STATE = 0x04  # ET04.12 bit 2 (H/M): "Starts process of requesting Neuron state" (MEP-DG:2599)
FORCE_NEURON_CONFIG = 0x02  # ET04.12 bit 1: resets the encryption key (MEP-DG:2590-2594), never set here
NEURON_REPLY_S = 4.0  # "This field will not be cleared if the request fails (timeout = 4 seconds)" (MEP-DG:2603)
QUALITY_REFRESH_S = 65.0  # ET04.90 "is updated once a second or once a minute" (MEP-DG:2887-2889), plus a margin
QUALITY_POLL_S = 5.0


def _over_power_line(session) -> bool:
    """Whether the tester reaches the DUT as 14908-1 power-line packets (not over CN/IP: ET04.90 and ET04.12 bit 0
    count PLC packets, MEP-DG:2586-2588, 2855-2858)."""
    return not str(getattr(session.driver, "scheme", "")).startswith("cnip")


def _request_neuron_state(tc, dut: Dut) -> bool:
    """Set ET04.12 bit 2 (a partial write of byte 12 keeping the other host bits, bit 1 clear) and wait until the
    DUT clears it: True when the state was refreshed, False when the DUT gives no way to ask (write refused or
    no partial write); INCONC when the bit stays set (the request failed, MEP-DG:2602-2603)."""
    if not dut.partial_write:
        tc.observe("PICS_PARTIAL_WRITE is false: ET04.12 bit 2 (request Neuron state) cannot be set alone")
        return False
    byte = dut.read_span(et(4), 12, 1)
    tc.require(byte is not None, "ET04.12 could not be read by a partial read")
    r = dut.write_partial(et(4), 12, bytes([(byte[0] & ~FORCE_NEURON_CONFIG) | REQUEST_NEURON_STATE]))
    if not r.ok:
        tc.observe(f"ET04.12 bit 2 (request Neuron state) write answered {r.describe()}")
        return False
    waited = 0.0
    while dut.read_field(et(4), "request_neuron_state"):
        tc.require(waited < NEURON_REPLY_S, f"ET04.12 bit 2 still set {waited:g} s after the request: the Neuron "
                   "state request failed (MEP-DG:2602-2603), ET04.72 is not refreshed")
        dut.wait(0.5, "the DUT to receive the Neuron state")
        waited += 0.5
    return True


@testcase(
    id="TC_MGT_NET_BV_02",
    title="ET04 shows a configured, online Neuron that has received explicit messages, with traffic-level signal",
    purpose="Ensure that, when the tester has asked for the Neuron state (ET04.12 bit 2) and exchanged requests with "
            "the DUT over power line, ET04.72 reads 4 (configured, online), ET04.12 bit 0 (explicit message "
            "received) is set and ET04.90 (PLC signal quality) reads 2, 3 or 4 within its refresh time",
    requirements=["REQ-MGT-008", "REQ-MGT-009", "REQ-MGT-010"],
    initial="The tester reaches the DUT over power line (over CN/IP the PLC fields cannot be judged: INCONC)",
    steps=[("Set ET04.12 bit 2 (request Neuron state) where the DUT takes it; wait until it clears (<= 4 s)",
            "0x00 and the bit clears, or the write refused (then ET04.72 is read as it is)"),
           ("Read BT01 (traffic to the DUT)", "0x00"),
           ("Read ET04.72, ET04.12 bit 0", "4; set"),
           ("Read BT01 and ET04.90 every 5 s for up to 65 s", "2, 3 or 4 (packet addressed to the DUT received)")],
)
def test_et04_state(tc, session, plan):
    """Source: TS 104 001 Clause 4 (clause unknown); MEP-DG ET04 offsets 12, 72, 90 p.56-62 (app §3, tbl §8.12,
    §9.10) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(4), "system information")
    plc = _over_power_line(session)
    with tc.step(1):
        refreshed = _request_neuron_state(tc, dut)
    with tc.step(2):
        r = dut.session.read(bt(1))
        tc.require(r.ok, f"BT01 read answered {r.describe()}")
    with tc.step(3):
        state = dut.read_field(et(4), "neuron_state")
        received = dut.read_field(et(4), "explicit_msg_received")
        # REQ-MGT-008 readings: live state, or the "last received state" (MEP-DG:2792) refreshed on request. Once
        # the DUT has answered the request both readings expect 4; without it an older state may show.
        if state != 4 and not refreshed:
            tc.record(Verdict.INCONC, f"ET04.72 Neuron state is {state}, not 4, but the state could not be "
                      "requested (ET04.12 bit 2): ET04.72 is the 'last received state' (MEP-DG:2792), possibly old")
        else:
            tc.check(state == 4, f"ET04.72 Neuron state is {state}, not 4 (configured, online), just after the DUT "
                     "answered a Neuron state request and while it serves power-line requests", req="REQ-MGT-008")
        if plc:
            tc.check(received, "ET04.12 bit 0 (explicit message received) is clear after OSGP requests over power "
                     "line", req="REQ-MGT-009")
        elif not received:
            tc.record(Verdict.INCONC, "ET04.12 bit 0 (explicit message received) is clear, but the tester reaches "
                      "the DUT over CN/IP: the bit counts requests over PLC (MEP-DG:2586-2588)")
    with tc.step(4):
        seen = []
        waited = 0.0
        while True:
            r = dut.session.read(bt(1))
            tc.require(r.ok, f"BT01 read answered {r.describe()}")
            quality = dut.read_field(et(4), "plc_signal_quality")
            seen.append(quality)
            if quality in (2, 3, 4) or waited >= QUALITY_REFRESH_S:
                break
            dut.wait(QUALITY_POLL_S, "ET04.90 to be refreshed (once a second or once a minute, MEP-DG:2887-2889)")
            waited += QUALITY_POLL_S
        if plc:
            tc.check(quality in (2, 3, 4), f"ET04.90 PLC signal quality read {seen} over {waited:g} s of traffic to "
                     "the DUT: 2, 3 or 4 (packet addressed to this MEP server received) expected within its "
                     "one-minute refresh", req="REQ-MGT-010")
        elif quality not in (2, 3, 4):
            tc.record(Verdict.INCONC, f"ET04.90 PLC signal quality read {seen}, but the tester reaches the DUT over "
                      "CN/IP: no PLC packet of the tester need have reached it (REQ-MGT-010 reading 3)")


_NOT_VALIDATED = "a request digested with a key the DUT does not hold"


@testcase(
    id="TC_MGT_NET_BV_03",
    title="ET23 message counters: validated requests and non-validated messages are counted",
    purpose="Ensure that, when the tester sends valid requests and then one request whose digest does not verify, "
            "the DUT's ET23.4 (validated explicit messages) grows with the valid requests and ET23.0 (non-validated "
            "explicit messages received) grows with the one that does not verify",
    requirements=["REQ-MGT-011"],
    steps=[("Read ET23.0 and ET23.4", "0x00"), ("Read BT01 twice", "0x00"),
           ("Read ET23.0 and ET23.4", "ET23.4 higher by at least 2; ET23.0: observed (it may or may not count valid "
            "requests)"),
           ("Read BT01 digested with a wrong key", "0x0B or no authenticated answer"),
           ("Read ET23.0", "higher than at step 3")],
)
def test_et23_counters(tc, session, plan):
    """Source: TS 104 001 Clause 4 (clause unknown); MEP-DG ET23 p.97-98 (tbl §9.10) [READ]: ET23.0 'The number of
    non-validated explicit LonTalk messages received' (MEP-DG:4831), ET23.4 'The number of validated (digest check)
    LonTalk explicit messages received' (MEP-DG:4844)."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(23), "miscellaneous information")
    with tc.step(1):
        rx0 = dut.read_field(et(23), "lontalk_msgs_received")
        ok0 = dut.read_field(et(23), "lontalk_msgs_validated")
    with tc.step(2):
        for _ in range(2):
            r = dut.session.read(bt(1))
            tc.require(r.ok, f"BT01 read answered {r.describe()}")
    with tc.step(3):
        rx1 = dut.read_field(et(23), "lontalk_msgs_received")
        ok1 = dut.read_field(et(23), "lontalk_msgs_validated")
        tc.check((ok1 - ok0) % (1 << 32) >= 2, f"ET23.4 went from {ok0} to {ok1} over at least 3 validated "
                 "requests", req="REQ-MGT-011")
        # REQ-MGT-011 is ambiguous on ET23.0: every message before validation, or only the non-validated ones
        grew = (rx1 - rx0) % (1 << 32)
        tc.observe(f"ET23.0 went from {rx0} to {rx1} over valid requests: "
                   + ("it counts them (reading 1)" if grew else "it counts non-validated messages only (reading 2)"))
    with dut.mfg_latch_kept("invalid_password"):  # the latch the 0x0B sets, cleared again if it was clear
        with tc.step(4):
            wrong = bytes(b ^ 0x5A for b in dut.plan.security.key().secret.reveal())
            answer, ex = dut.attempt(lambda: dut.session.read(bt(1), key=wrong))
            tc.observe(f"{_NOT_VALIDATED} was answered {verdict_of(answer, ex)}")
            tc.require(answer is None or not answer.ok, f"{_NOT_VALIDATED} was executed ({answer and answer.describe()}"
                       "): no non-validated message to count (REQ-SEC-004 judges it)")
        with tc.step(5):
            rx2 = dut.read_field(et(23), "lontalk_msgs_received")
            tc.check((rx2 - rx1) % (1 << 32) >= 1, f"ET23.0 went from {rx1} to {rx2} over {_NOT_VALIDATED}: it counts "
                     "non-validated explicit messages under either reading (MEP-DG:4831)", req="REQ-MGT-011")


@testcase(
    id="TC_MGT_NET_CA_01",
    title="ET11 declares at most 10 group ids",
    purpose="Ensure that, when the tester reads ET11.18, the DUT declares at most 10 group ids",
    requirements=["REQ-MGT-018"],
    steps=[("Read ET11.18", "0x00, at most 10")],
)
def test_group_dimension(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex B (clause unknown); OPG p.41 ET11 offset 18, ECH-UM p.68 (tbl §8.14)
    [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(11), "MFG dimension")
    with tc.step(1):
        n = dut.read_field(et(11), "nbr_group_ids")
        tc.check(n <= 10, f"ET11.18 declares {n} group ids, more than 10", req="REQ-MGT-018")
