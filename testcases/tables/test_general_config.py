"""BT00 General Configuration and BT01 identification (TS 104 001 Clause 5, Annex A)."""

from __future__ import annotations

from osgp.app import bt
from osgp.tables import Dimensions, schema
from osgp.testcase import testcase


@testcase(
    id="TC_TBL_BT00_BV_01",
    title="BT00 is readable and its length matches its own bitmap dimensions",
    purpose="Ensure that, when the tester reads BT00 in full, the DUT returns a General Configuration table "
            "whose length equals its 19-byte header plus the bitmaps whose sizes it declares at offsets 13-16",
    requirements=["REQ-TBL-001", "REQ-TBL-005"],
    steps=[("Full read of BT00", "0x00 with at least 19 bytes"),
           ("Decode BT00 with its own dimensions", "the length equals the size implied by BT00.13-16")],
)
def test_bt00_length(tc, session):
    with tc.step(1):
        r = session.read(bt(0))
        tc.check(r.ok, f"BT00 read answered {r.describe()}", stop=True)
        tc.check(len(r.data) >= 19, f"BT00 is {len(r.data)} bytes, shorter than its 19-byte header", stop=True)
    with tc.step(2):
        header = schema(bt(0))
        dims = Dimensions.from_tables({bt(0): header.decode_partial(r.data[:19], Dimensions.from_tables({}))})
        expected = header.size(dims)
        tc.check(len(r.data) == expected,
                 f"BT00 is {len(r.data)} bytes but its dimensions (std tables {r.data[13]}, mfg tables {r.data[14]},"
                 f" std procs {r.data[15]}, mfg procs {r.data[16]}) imply {expected}")
