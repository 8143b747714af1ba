"""Administration use cases: change keys (and back), upgrade firmware (transfer, verify, activate, and back).

Both mechanisms are NOT FOUND for power line (ASM-MGT-02, ASM-MGT-03): the plan's PIXIT names the one the DUT
implements; the suite drives the reference device's design (EP80; ET100/ET101 + EP81) and is inconclusive for any
other. Each use case leaves the DUT with the plan's key and the firmware version it found.
"""

from __future__ import annotations

from osgp.app import ResponseCode
from osgp.lon import crc16
from osgpct.dut import EP81_FIRMWARE_ACTIVATE, ET101_FW_IMAGE, OK, Dut
from osgpct.testcase import usecase
from osgpct.usecases.admin import (
    change_key,
    firmware_header,
    firmware_kept,
    firmware_status,
    full_key,
    key_works,
    make_image,
    new_key,
    next_version,
    put_key_back,
    require_ep80,
    require_et100,
    transfer_image,
)
from osgpct.usecases.metering import firmware_word, read_identity


@usecase(
    id="UC_CHANGE_KEYS",
    title="Change keys (and back)",
    purpose="A head-end rotates the meter's full key: the new key works at once, the old one is refused; then the "
            "original key is put back the same way",
    requirements=["REQ-MGT-026"],
    pics='PICS_KEY_CHANGE and PICS_SEC_MODE != "digest"',
    pixit=["key_change"],
    steps=[("Read BT01 with the plan's full key", "0x00"),
           ("Change the full key to a new one", "result 0 (BT08 read with the new key)"),
           ("Read BT01 with the new key, then with the old one", "0x00, then 0x0B"),
           ("Change the full key back (under the new key)", "result 0 (BT08 read with the plan's key)"),
           ("Read BT01 with the plan's key", "0x00")],
)
def test_change_keys(tc, session, plan):
    dut = Dut(tc, session, plan)
    require_ep80(dut)
    old = full_key(dut)
    new = new_key(dut, old)
    with dut.mfg_latch_kept("invalid_password"):
        try:
            with tc.step(1):
                r = key_works(dut, None)
                tc.check(r.ok, f"BT01 with the plan's key answered {r.describe()}", stop=True)
            with tc.step(2):
                kc = change_key(dut, "full", new)
                tc.check(kc.done and kc.read_with == "new", f"key change: {kc.describe()}", stop=True)
            with tc.step(3):
                r = key_works(dut, new)
                tc.check(r.ok, f"BT01 with the new key answered {r.describe()}")
                r = key_works(dut, old)
                tc.check(r.code == ResponseCode.AUTH_FAILURE, f"BT01 with the old key answered {r.describe()}")
            with tc.step(4):
                kc = change_key(dut, "full", old, under=new)
                tc.check(kc.done and kc.read_with == "new", f"key change back: {kc.describe()}")
        finally:
            with tc.step(5):
                put_key_back(dut, old, [new])
                r = key_works(dut, old)
                tc.check(r.ok, f"BT01 with the plan's key answered {r.describe()}")


@usecase(
    id="UC_UPGRADE_FIRMWARE",
    title="Upgrade firmware (transfer, verify, activate)",
    purpose="A head-end upgrades the meter: transfers the image (ET101) and its header (ET100), reads them back to "
            "verify the transfer, activates the image (EP81); BT01 shows the new version; then the original version "
            "is put back the same way. The transfer and activation are the reference device's design (ET100/ET101/"
            "EP81, ASM-MGT-02, ASM-DEV-04: no source gives them), so every departure is a deviation of REQ-MGT-021 "
            "(design), never a FAIL",
    requirements=["REQ-MGT-021"],
    pics="PICS_FW_UPGRADE",
    pixit=["firmware_upgrade", "max_apdu"],
    steps=[("Read BT01, ET04.14, ET04.116", "0x00"),
           ("Transfer the image (ET101) and its header (ET100) announcing the next version", "0x00 each"),
           ("Read ET100 and the start of ET101 back", "as written"),
           ("Activate (EP81)", "result 0; ET100 status 1; BT01 shows the new version"),
           ("Upgrade back to the version of step 1", "BT01 shows it again")],
)
def test_upgrade_firmware(tc, session, plan):
    dut = Dut(tc, session, plan)
    require_et100(dut)
    with firmware_kept(dut) as before:
        with tc.step(1):
            target = next_version(before.firmware)
            image = make_image(dut)
        with tc.step(2):
            transfer_image(dut, image, firmware_word(target))
        with tc.step(3):
            head = firmware_header(dut)
            tc.check((head.image_length, head.image_crc, head.version) == (len(image), crc16(image),
                                                                          firmware_word(target)),
                     f"ET100 reads back length {head.image_length}, CRC {head.image_crc:#06x}, version "
                     f"{head.version:#06x}: not what was written", req="REQ-MGT-021")
            tc.observe(f"ET100 status before the activation: {head.status} (the outcome of the last activation, if "
                       "any)")
            n = min(64, len(image))
            r = dut.session.read_partial(ET101_FW_IMAGE, 0, n) if plan.pics.get("PICS_PARTIAL_READ") else \
                dut.session.read(ET101_FW_IMAGE)
            dut.tc.require(r.ok, f"ET101 read answered {r.describe()}")
            tc.check(r.data[:n] == image[:n], "the start of ET101 does not read back as the image written",
                     req="REQ-MGT-021")
        with tc.step(4):
            c = dut.call(EP81_FIRMWARE_ACTIVATE)
            res = dut.posted(c, "EP81 firmware activation")
            tc.check(res.result == OK, f"activation: {c.describe()}", req="REQ-MGT-021", stop=True)
            tc.check(firmware_status(dut) == 1, "ET100 status is not 1 (activated) after the activation",
                     req="REQ-MGT-021")
            now = read_identity(dut).firmware
            tc.check(now == target, f"BT01 shows {now} after the upgrade, not {target}", req="REQ-MGT-021")
    with tc.step(5):
        back = read_identity(dut).firmware
        tc.check(back == before.firmware, f"BT01 shows {back} after upgrading back to {before.firmware}",
                 req="REQ-MGT-021")
