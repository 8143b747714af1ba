"""Firmware identity and upgrade (TS 104 001 scope, firmware update).

The power-line image transfer and activation are NOT FOUND (ASM-MGT-02): with pixit.firmware_upgrade = et100 the
suite drives the reference device's design (image in ET101, header in ET100, EP81 activates; ASM-DEV-04), else the
upgrade cases are inconclusive. A case that changes the firmware upgrades back to the version it found (the
original image is not available to the tester, so ET03.137 then holds the CRC of the tester's image).
"""

from __future__ import annotations

from osgp.app import bt, et
from osgp.lon import crc16
from osgp.tables import Record, schema
from osgpct.dut import EP81_FIRMWARE_ACTIVATE, FW_STATUS, MFG_ITEM, OK, Dut
from osgpct.testcase import testcase
from osgpct.usecases.admin import (
    firmware_kept,
    firmware_status,
    make_image,
    next_version,
    require_et100,
    transfer_image,
)
from osgpct.usecases.control import new_utility_serial
from osgpct.usecases.metering import firmware_word, read_identity

ASM = "rests on ASM-MGT-02/ASM-DEV-04 (image in ET101, header in ET100, EP81 activates; pixit.firmware_upgrade)"


def _dotted(v: tuple[int, int, int]) -> str:
    return f"{v[0]}.{v[1]:02d}.{v[2]:02d}"


@testcase(
    id="TC_MGT_FW_BV_01",
    title="The firmware identity stays the same across ordinary (non-upgrade) writes",
    purpose="Ensure that, when the tester writes the DUT's ET03 utility serial number (a write next to the image CRC "
            "that is no upgrade) and puts it back, the DUT shows the same BT01 firmware version, ET04.14 program id "
            "and ET03.137 image CRC before, in between and after",
    requirements=["REQ-MGT-019"],
    initial="ET03 writable (BT00 MFG_TBLS_WRITE); without it only two reads with nothing in between are compared",
    steps=[("Read BT01 (and ET04.14, ET03.137 where BT00 lists them)", "0x00"),
           ("Full write of ET03 with another utility serial number (image CRC as read)", "0x00"),
           ("Read the identity again", "identical to step 1"),
           ("Write ET03 back; read the identity again", "0x00; identical to step 1")],
)
def test_firmware_identity_stable(tc, session, plan):
    """Source: TS 104 001 scope, firmware update (clause unknown); OPG p.18-19, MEP-DG ET04 p.54 (tbl §9.7) [READ]."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        a = read_identity(dut)
        before = dut.read_decoded(et(3)) if dut.listed(et(3)) and dut.writable(et(3)) else None
    try:
        with tc.step(2):
            if before is None:
                tc.observe("ET03 is not writable: no write to make between the reads")
            else:
                changed = Record(before, utility_serial_number=new_utility_serial(before.utility_serial_number, "FW"))
                r = dut.write_table(et(3), changed)
                tc.require(r.ok, f"ET03 write with another utility serial number answered {r.describe()}")
        with tc.step(3):
            _same_identity(tc, a, read_identity(dut), "after an ET03 write")
    finally:
        with tc.step(4):
            if before is not None:
                dut.restore(et(3), before)
                _same_identity(tc, a, read_identity(dut), "after ET03 was written back")


def _same_identity(tc, a, b, when: str) -> None:
    """REQ-MGT-019: the running firmware's identity (BT01.14-15, ET04.14, ET03.137) does not change without an
    upgrade."""
    tc.check(a.firmware == b.firmware, f"BT01 firmware {_dotted(a.firmware)}, {when} {_dotted(b.firmware)}",
             req="REQ-MGT-019")
    tc.check(a.program_id == b.program_id, f"ET04.14 program id {a.program_id}, {when} {b.program_id}",
             req="REQ-MGT-019")
    tc.check(a.image_crc == b.image_crc, f"ET03.137 image CRC {a.image_crc}, {when} {b.image_crc}",
             req="REQ-MGT-019")


@testcase(
    id="TC_MGT_FW_BI_01",
    title="ET03.137 (image CRC) is read-only",
    purpose="Ensure that, when the tester writes a different image CRC to ET03.137 (a partial write of those two "
            "bytes where partial writes are declared, else a full write of ET03 as read), the DUT leaves ET03.137 "
            "unchanged (whether it accepts the write or refuses it)",
    requirements=["REQ-MGT-020"],
    steps=[("Read ET03", "0x00"),
           ("Partial write of ET03.137 with the image CRC inverted (full write of ET03 without PICS_PARTIAL_WRITE)",
            "any code"),
           ("Read ET03", "ET03.137 unchanged"), ("Write ET03 back if anything else changed", "0x00")],
)
def test_image_crc_read_only(tc, session, plan):
    """Source: TS 104 001 scope, firmware update (clause unknown); OPG p.18, MEP-DG p.53 (tbl §8.11) [READ]. The
    reserved bytes 30..136 and 138..142 of ET03 are 'Do not overwrite' (MEP-DG:2529-2540): the partial write keeps
    clear of them."""
    dut = Dut(tc, session, plan)
    dut.require_table(et(3), "utility information")
    with tc.step(1):
        before = dut.read_decoded(et(3))
    try:
        with tc.step(2):
            changed = Record(before, image_crc=before.image_crc ^ 0xFFFF)
            if dut.partial_write:
                off, size = schema(et(3)).field_offset("image_crc", dut.dims())
                r = dut.write_partial(et(3), off, dut.encode(et(3), changed)[off:off + size])
            else:
                r = dut.write_table(et(3), changed)
            tc.observe(f"ET03 write with another image CRC answered {r.describe()}")
        with tc.step(3):
            after = dut.read_decoded(et(3)).image_crc
            tc.check(after == before.image_crc, f"ET03.137 went from {before.image_crc:#06x} to {after:#06x} after "
                     "a write: it is not read-only", req="REQ-MGT-020")
    finally:
        with tc.step(4):
            dut.restore(et(3), before)


@testcase(
    id="TC_MGT_FW_BV_02",
    title="A firmware upgrade shows in BT01, ET04.14, ET04.116 and the BT03 'code bank changed' alarm",
    purpose="Ensure that, when the tester transfers an image announcing the next firmware version and activates it, "
            "the DUT posts result 0, BT01 shows the new version, ET04.14 (program id) changes, ET04.116 (IDT "
            "version) is one more modulo 256 and the BT03 'code bank changed' alarm is set",
    requirements=["REQ-MGT-021"],
    pics="PICS_FW_UPGRADE",
    pixit=["firmware_upgrade", "max_apdu"],
    initial="The DUT runs the firmware the plan names; it is put back at the end",
    steps=[("Read BT01, ET04.14, ET04.116", "0x00"),
           ("Write the image (ET101) and its header (ET100) announcing the next version", "0x00 each"),
           ("Activate (EP81)", "result 0"),
           ("Read BT01, ET04.14, ET04.116, BT03", "new version, new program id, IDT + 1, 'code bank changed' set"),
           ("Upgrade back to the version of step 1", "BT01 shows it again")],
)
def test_firmware_upgrade(tc, session, plan):
    """Source: TS 104 001 scope, firmware update (clause unknown); MEP-DG p.53-65, OPG p.46-47 (tbl §9.7, §11.1
    DM-11) [READ]; transfer and activation ASM-MGT-02 / ASM-DEV-04."""
    dut = Dut(tc, session, plan)
    require_et100(dut)
    with firmware_kept(dut) as before:
        with tc.step(1):
            target = next_version(before.firmware)
            tc.observe(f"running {_dotted(before.firmware)}, upgrading to {_dotted(target)}")
        with tc.step(2):
            transfer_image(dut, make_image(dut), firmware_word(target))
        with tc.step(3):
            c = dut.call(EP81_FIRMWARE_ACTIVATE)
            tc.require(c.accepted and c.echoed, f"activation: {c.describe()}")
            tc.check(c.result.result == OK, f"activation of a well-formed image: {c.describe()}; ET100 status "
                     f"{FW_STATUS.get(firmware_status(dut), '?')} ({ASM})", req="REQ-MGT-021", stop=True)
        with tc.step(4):
            after = read_identity(dut)
            tc.check(after.firmware == target, f"after the upgrade BT01 shows {_dotted(after.firmware)}, not "
                     f"{_dotted(target)}", req="REQ-MGT-021")
            if before.program_id is not None:
                tc.check(after.program_id != before.program_id, "after the upgrade ET04.14 (program id) is unchanged",
                         req="REQ-MGT-021")
            if before.idt_version is not None:
                tc.check(after.idt_version == (before.idt_version + 1) % 256, f"ET04.116 went from "
                         f"{before.idt_version} to {after.idt_version}, not one more", req="REQ-MGT-021")
            tc.check(MFG_ITEM["code_bank_changed"] in dut.bt03_mfg(), "after the upgrade the BT03 'code bank "
                     "changed' alarm is clear", req="REQ-MGT-021")
    with tc.step(5):
        back = read_identity(dut).firmware
        tc.check(back == before.firmware, f"BT01 shows {_dotted(back)} after upgrading back to "
                 f"{_dotted(before.firmware)}", req="REQ-MGT-021")


@testcase(
    id="TC_MGT_FW_BI_02",
    title="An image whose CRC does not check is not activated and the running image keeps serving",
    purpose="Ensure that, when the tester transfers an image whose header carries a wrong CRC and asks for its "
            "activation, the DUT refuses it (result other than 0), BT01 still shows the running version and the "
            "DUT keeps answering requests",
    requirements=["REQ-MGT-025"],
    pics="PICS_FW_UPGRADE",
    pixit=["firmware_upgrade", "max_apdu"],
    steps=[("Read BT01", "0x00"), ("Write the image and a header with a wrong CRC", "0x00 each"),
           ("Activate (EP81)", "a result other than 0"),
           ("Read BT01", "0x00, the version of step 1")],
)
def test_firmware_bad_crc(tc, session, plan):
    """Source: TS 104 001 scope, firmware update (clause unknown); image CRC/MAC check and activation (tbl §9.7,
    §12 item 5) [NOT FOUND]; transfer and activation ASM-MGT-02 / ASM-DEV-04."""
    _refused_image(tc, Dut(tc, session, plan), "a wrong CRC", bad_crc=True)


@testcase(
    id="TC_MGT_FW_BI_03",
    title="In AES mode an image whose MAC does not verify is not activated",
    purpose="Ensure that, when the DUT works in AES-128 mode and the tester transfers an image whose header "
            "carries a MAC that does not verify under the DUT's key, the DUT refuses the activation and keeps its "
            "running firmware",
    requirements=["REQ-MGT-025"],
    pics='PICS_FW_UPGRADE and PICS_SEC_MODE == "aes128"',
    pixit=["firmware_upgrade", "max_apdu"],
    steps=[("Read BT01", "0x00"), ("Write the image and a header with a wrong MAC", "0x00 each"),
           ("Activate (EP81)", "a result other than 0"),
           ("Read BT01", "0x00, the version of step 1")],
)
def test_firmware_bad_mac(tc, session, plan):
    """Source: TS 104 001 scope, firmware update (clause unknown); image CRC/MAC check and activation (tbl §9.7,
    §12 item 5) [NOT FOUND]; MAC check in AES mode ASM-DEV-04."""
    _refused_image(tc, Dut(tc, session, plan), "a MAC that does not verify", bad_crc=False)


def _refused_image(tc, dut: Dut, what: str, *, bad_crc: bool) -> None:
    require_et100(dut)
    with firmware_kept(dut) as before:
        with tc.step(1):
            target = next_version(before.firmware)
        with tc.step(2):
            image = make_image(dut)
            if bad_crc:
                transfer_image(dut, image, firmware_word(target), crc=crc16(image) ^ 0x5A5A)
            else:
                transfer_image(dut, image, firmware_word(target), mac=bytes(16))
        with tc.step(3):
            c = dut.call(EP81_FIRMWARE_ACTIVATE)
            tc.require(c.accepted and c.echoed, f"activation: {c.describe()}")
            tc.check(c.result.result != OK, f"an image with {what} was activated: {c.describe()} ({ASM})",
                     req="REQ-MGT-025")
            tc.observe(f"ET100 status after the activation: {FW_STATUS.get(firmware_status(dut), '?')}")
        with tc.step(4):
            r = dut.session.read(bt(1))
            tc.check(r.ok, f"after the refused activation the DUT answers a BT01 read {r.describe()}",
                     req="REQ-MGT-025")
            now = read_identity(dut).firmware
            tc.check(now == before.firmware, f"BT01 shows {_dotted(now)} after the refused activation, not "
                     f"{_dotted(before.firmware)}", req="REQ-MGT-025")
