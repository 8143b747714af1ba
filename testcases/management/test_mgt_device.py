"""Device management: the 14908 address and state the DUT publishes in ET04, its message counters in ET23 and
its group dimension in ET11 (TS 104 001 Clause 4, Annex B). Field layouts per ASM-TBL-02 (MEP-DG/OPG).

The plan has no PICS item for ET04, ET11 or ET23: a DUT whose BT00 does not list the table makes the case
inconclusive.
"""

from __future__ import annotations

from osgp.app import bt, et
from osgpct.dut import Dut
from osgpct.testcase import testcase


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
        tc.check(subnet != 0 and node != 0, f"ET04 subnet/node {subnet}/{node}: zero means not commissioned")
        tc.check((subnet, node) == (a.subnet, a.node), f"ET04 holds subnet/node {subnet}/{node} but the DUT answered "
                 f"on {a.subnet}/{a.node}")
        if a.neuron_id is None:
            tc.observe(f"ET04.4 Neuron ID {neuron.hex().upper()} (the plan declares none to compare with)")
        else:
            tc.check(neuron == a.neuron_id, f"ET04.4 holds Neuron ID {neuron.hex().upper()}, the plan declares "
                     f"{a.neuron_id.hex().upper()}")


@testcase(
    id="TC_MGT_NET_BV_02",
    title="ET04 shows a configured, online Neuron that has received explicit messages, with traffic-level signal",
    purpose="Ensure that, when the tester has just exchanged requests with the DUT over power line, ET04.72 reads "
            "4 (configured, online), ET04.12 bit 0 (explicit message received) is set and ET04.90 (PLC signal "
            "quality) reads 2, 3 or 4",
    requirements=["REQ-MGT-008", "REQ-MGT-009", "REQ-MGT-010"],
    steps=[("Read BT01 (traffic to the DUT)", "0x00"),
           ("Read ET04.72, ET04.12, ET04.90", "4; bit 0 set; 2, 3 or 4")],
)
def test_et04_state(tc, session, plan):
    """Source: TS 104 001 Clause 4 (clause unknown); MEP-DG ET04 offsets 12, 72, 90 p.56-57 (app §3, tbl §8.12,
    §9.10) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(4), "system information")
    with tc.step(1):
        r = dut.session.read(bt(1))
        tc.require(r.ok, f"BT01 read answered {r.describe()}")
    with tc.step(2):
        state = dut.read_field(et(4), "neuron_state")
        received = dut.read_field(et(4), "explicit_msg_received")
        quality = dut.read_field(et(4), "plc_signal_quality")
        tc.check(state == 4, f"ET04.72 Neuron state is {state}, not 4 (configured, online) while the DUT serves "
                 "power-line requests")
        tc.check(received, "ET04.12 bit 0 (explicit message received) is clear after OSGP requests")
        tc.check(quality in (2, 3, 4), f"ET04.90 PLC signal quality is {quality} right after traffic to the DUT: "
                 "2, 3 or 4 expected")


@testcase(
    id="TC_MGT_NET_BV_03",
    title="ET23 message counters grow with each request",
    purpose="Ensure that, when the tester sends requests to the DUT, ET23.0 (explicit messages received) and "
            "ET23.4 (messages validated) read higher than before",
    requirements=["REQ-MGT-011"],
    steps=[("Read ET23.0 and ET23.4", "0x00"), ("Read BT01 twice", "0x00"),
           ("Read ET23.0 and ET23.4", "each higher than at step 1")],
)
def test_et23_counters(tc, session, plan):
    """Source: TS 104 001 Clause 4 (clause unknown); MEP-DG ET23 p.96 field names (tbl §9.10) [READ]; exact
    counting rule [INFERRED]."""
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
        tc.check((rx1 - rx0) % (1 << 32) >= 2, f"ET23.0 went from {rx0} to {rx1} over at least 3 requests")
        tc.check((ok1 - ok0) % (1 << 32) >= 2, f"ET23.4 went from {ok0} to {ok1} over at least 3 validated requests")


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
        tc.check(n <= 10, f"ET11.18 declares {n} group ids, more than 10")
