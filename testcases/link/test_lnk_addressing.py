"""ISO/IEC 14908-1 addressing: subnet/node, domain and Neuron ID filtering (TS 104 001 Clause 9 on
EN 14908-1:2014; lon-stack-dx lcs_network.c, packet-lon.c; shared/spec/lower-layers.md §1.4-1.5).
"""

from __future__ import annotations

from osgp import lon
from osgp.app import ResponseCode
from osgp.transaction import ToNeuronId, ToNode
from osgpct.dut import Dut
from osgpct.probes import answers_to, authentic_any_tid, protect, reencode, send
from osgpct.testcase import testcase


def other_domain(domain: bytes) -> bytes:
    """A domain id that is not the DUT's (same length, or one byte when the DUT's domain is empty)."""
    return bytes([domain[0] ^ 0x5A]) + domain[1:] if domain else b"\x5a"


@testcase(
    id="TC_LNK_ADDR_BI_01",
    title="Frames for another node, subnet, domain or Neuron ID are ignored and not executed",
    purpose="Ensure that, when the tester sends a valid request to another node of the DUT's subnet, to the "
            "DUT's node number in another subnet, to another Neuron ID, and to the DUT's subnet/node in another "
            "domain, the DUT answers none of them and executes none: after each group, the same request addressed "
            "to the DUT is accepted with its sequence number (each group has its own number, so that each result "
            "names its own requirement)",
    requirements=["REQ-LNK-005", "REQ-LNK-007", "REQ-LNK-008"],
    pixit=["lon_timers"],
    initial="The plan gives the DUT's domain, subnet/node and (optionally) Neuron ID.",
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Send a read of BT01 with the next sequence number to subnet/node (DUT subnet, other node) and (other "
            "subnet, DUT node); then the same read to the DUT", "no answer to the first two; 0x00 to the last: "
            "neither misaddressed copy was executed"),
           ("The same with the following number, sent to another Neuron ID, then to the DUT", "no answer; 0x00"),
           ("The same with the following number, sent to the DUT's subnet/node in another domain, then to the DUT",
            "no answer; 0x00 (REQ-LNK-007 is inferred: a departure is a deviation)")],
)
def test_misaddressed_ignored(tc, session, plan):
    """Sources: REQ-LNK-005: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-stack-dx lcs_network.c
    NetworkLayerReceive, packet-lon.c (low §1.4) [READ]; REQ-LNK-007: TS 104 001 Clause 9 on EN 14908-1:2014 (clause
    unknown); domain field layout (low §1.5) [READ]; domain filtering not stated in the digest [INFERRED]; REQ-
    LNK-008: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lcs_network.c, packet-lon.c address format 3
    (low §1.4) [READ]."""
    device = Dut(tc, session, plan)
    cfg = session.config
    dut = cfg.dut
    with device.step(1):
        device.sync()
    node = next(n for n in range(dut.node % 127 + 1, 128) if n != cfg.tester_node)
    subnet = dut.subnet % 255 + 1
    nid = plan.address.neuron_id or bytes(tc.rng.randrange(256) for _ in range(6))
    wrong_nid = nid[:5] + bytes([nid[5] ^ 0x01])  # one bit from the DUT's own id (when the plan gives it)
    foreign = other_domain(cfg.domain)
    groups = [  # (step, requirement, [(where, frame builder)]); the foreign domain last, with its own number
        (2, "REQ-LNK-005", [(f"subnet/node {dut.subnet}/{node}",
                             lambda pdu, t: session.request_frame(pdu, tid=t, dest=ToNode(dut.subnet, node))),
                            (f"subnet/node {subnet}/{dut.node}",
                             lambda pdu, t: session.request_frame(pdu, tid=t, dest=ToNode(subnet, dut.node)))]),
        (3, "REQ-LNK-008", [(f"Neuron ID {wrong_nid.hex().upper()}",
                             lambda pdu, t: session.request_frame(pdu, tid=t,
                                                                  dest=ToNeuronId(wrong_nid, dut.subnet)))]),
        (4, "REQ-LNK-007", [(f"the DUT's subnet/node in domain {foreign.hex()}",
                             lambda pdu, t: reencode(session.request_frame(pdu, tid=t), domain=foreign))]),
    ]
    tid = 0
    for step, req, probes in groups:
        with device.step(step):
            sent = protect(session)  # this group's own sequence number
            for where, build in probes:
                tid += 1  # a transaction id of its own: an executed copy must not make the next a duplicate
                got = answers_to(session, sent, tid, send(session, [build(sent.pdu, tid)]))
                tc.check(not got, f"a request addressed to {where} was answered: "
                                  f"{got[0][0].describe() if got else ''} ({req})", req=req)
            tid += 1
            got = answers_to(session, sent, tid, send(session, [session.request_frame(sent.pdu, tid=tid)]))
            tc.require(got, f"no answer to the request addressed to the DUT (after the copies to "
                            f"{', '.join(w for w, _ in probes)})")
            r = got[0][1]
            tc.check(r is not None and r.ok,
                     f"the request addressed to the DUT was answered {r.describe() if r else 'with a clear 0x0B'}: "
                     f"a copy addressed to {' or '.join(w for w, _ in probes)} was executed and used up its sequence "
                     f"number ({req})", req=req)
            if r is not None and r.code == ResponseCode.INVALID_SEQUENCE:
                session.seq = r.expected_seq


@testcase(
    id="TC_LNK_ADDR_BV_01",
    title="A request addressed by the DUT's Neuron ID is delivered and answered to the tester",
    purpose="Ensure that, when the tester sends a read addressed by the DUT's 48-bit Neuron ID (address format "
            "3), the DUT executes it and answers with a subnet/node (2a) RESPONSE to the tester in the request's "
            "domain",
    requirements=["REQ-LNK-008", "REQ-LNK-006"],
    pixit=["lon_timers"],
    initial="The plan gives the DUT's Neuron ID (address.neuron_id).",
    steps=[("Read BT01 with the session (learns the DUT's sequence number)", "0x00"),
           ("Send a read of BT01 addressed to the DUT's Neuron ID", "one RESPONSE, 0x00, 2a to the tester in the "
            "request's domain")],
)
def test_neuron_id_delivered(tc, session, plan):
    """Sources: REQ-LNK-008: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lcs_network.c, packet-lon.c
    address format 3 (low §1.4) [READ]; REQ-LNK-006: TS 104 001 Clause 9 on EN 14908-1:2014 (clause unknown); lon-
    stack-dx lcs_network.c NetworkLayerSend selField, packet-lon.c (low §1.4, §2.1) [READ]."""
    dut = Dut(tc, session, plan)
    nid = plan.address.neuron_id
    tc.require(nid is not None, "the plan gives no Neuron ID for the DUT (address.neuron_id)")
    cfg = session.config
    with dut.step(1):
        dut.sync()
    with dut.step(2):
        sent = protect(session)
        tid = tc.rng.randrange(1, 16)
        heard = send(session, [session.request_frame(sent.pdu, tid=tid, dest=ToNeuronId(nid, cfg.dut.subnet))])
        got = answers_to(session, sent, tid, heard)
        if not got:  # an answer with another transaction id: REQ-LNK-012, judged by TC_LNK_TID_BV_01
            other = authentic_any_tid(session, sent, heard)
            dut.judge(not other, f"the request (transaction id {tid}) was answered with transaction id "
                                 f"{other[0].tid if other else ''}", "REQ-LNK-012", stop=True)
        tc.check(len(got) == 1, f"{len(got)} answers to a request addressed by the DUT's Neuron ID "
                                f"{nid.hex().upper()} (REQ-LNK-008)", stop=True, req="REQ-LNK-008")
        heard, r = got[0]
        tc.check(r is not None and r.ok, f"the request addressed by Neuron ID was answered "
                                         f"{r.describe() if r else 'with a clear 0x0B'} (REQ-LNK-008)",
                 req="REQ-LNK-008")
        a = heard.lpdu.address
        tc.check(isinstance(a, lon.SubnetNodeAddress) and (a.dst_subnet, a.dst_node) == (cfg.tester_subnet,
                                                                                         cfg.tester_node)
                 and heard.lpdu.domain == cfg.domain,
                 f"the answer {heard.describe()} is not a 2a frame to the tester {cfg.tester_subnet}/"
                 f"{cfg.tester_node} in domain {cfg.domain.hex()} (REQ-LNK-006: the response goes back to the "
                 "request's source, 2a with selField 1, low:123, 251)", req="REQ-LNK-006")
