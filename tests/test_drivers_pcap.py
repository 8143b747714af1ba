"""pcap export: byte layout checked by hand, then decoded by tshark against what was sent."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from osgp.lon import crc16
from osgpct.drivers import FrameEvent, open_driver
from osgpct.drivers.pcap import PcapWriter, _ip_checksum
from osgpct.drivers.testing import EchoCore


def lpdu(hex_body: str) -> bytes:
    body = bytes.fromhex(hex_body)
    return body + crc16(body).to_bytes(2, "big")


def records(data: bytes) -> list[tuple[float, bytes]]:
    magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, snaplen) == (0xA1B2C3D4, 2, 4, 65535)
    out, off = [], 24
    while off < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        assert incl == orig
        out.append((sec + usec / 1e6, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    assert off == len(data)
    return out


def test_layout_lengths_checksum_and_packet_numbers(tmp_path):
    frame = lpdu("01 19 01 C9 01 98 01 0B 73 07")
    path = tmp_path / "t.pcap"
    w = PcapWriter(path)
    assert w.write(FrameEvent(1.25, "tx", frame)) == 1
    assert w.write(FrameEvent(1.5, "rx", frame, "lost (uplink)")) == 0  # lost frames are not written
    assert w.write(FrameEvent(2.0, "rx", frame)) == 2
    (t1, p1), (t2, p2) = records(path.read_bytes())  # readable before close: flushed per packet
    w.close()
    assert (t1, t2) == (1.25, 2.0)
    assert p1[:12] == bytes.fromhex("020000000002 020000000001") and p1[12:14] == b"\x08\x00"
    ip = p1[14:34]
    assert ip[0] == 0x45 and ip[9] == 17 and _ip_checksum(ip) == 0
    assert struct.unpack("!H", ip[2:4])[0] == len(p1) - 14
    assert ip[12:16] == bytes([192, 0, 2, 1]) and p2[14 + 12:14 + 16] == bytes([192, 0, 2, 2])
    udp = p1[34:42]
    assert struct.unpack("!HHHH", udp) == (1628, 1628, len(p1) - 34, 0)
    cnip = p1[42:62]
    length, ver, typ, exth, flags, vendor, _sess, seq, stamp = struct.unpack(">HBBBBHIII", cnip)
    assert (length, ver, typ, exth, flags, vendor, seq, stamp) == (20 + len(frame), 1, 1, 0, 0, 0, 0, 0)
    assert p1[62:] == frame
    assert struct.unpack(">I", p2[42 + 16:42 + 20])[0] == 750  # ms since the first packet


def test_raw_linktype_and_crc_off(tmp_path):
    frame = lpdu("00 09 01 A9 01 AA 01 23")
    with PcapWriter(tmp_path / "r.pcap", linktype="raw", crc=False) as w:
        w.write(FrameEvent(0.0, "tx", frame))
    data = (tmp_path / "r.pcap").read_bytes()
    assert struct.unpack_from("<I", data, 20)[0] == 101
    ((_, p),) = records(data)
    assert p[0] == 0x45 and p[28 + 20:] == frame[:-2]


def test_a_driver_tap_writes_the_session(tmp_path):
    path = tmp_path / "s.pcap"
    d = open_driver("loopback:", device=EchoCore())
    with PcapWriter(path) as w, d:
        d.add_tap(w)
        for _ in range(3):
            d.send(lpdu("00 09 01 A9 01 AA 01 23"))
            d.receive(1.0)
        assert w.count == 6
    assert len(records(path.read_bytes())) == 6


FIELDS = ["cnip.type", "cnip.seqno", "lon.prio", "lon.alt_path", "lon.delta_bl", "lon.pdufmt", "lon.addrfmt",
          "lon.domainlen", "lon.domain", "lon.srcnet", "lon.srcnode", "lon.trans_no", "lon.code", "lon.nv",
          "ip.src"]


@pytest.mark.skipif(shutil.which("tshark") is None,
                    reason="tshark not installed (apt-get install -y tshark; .ci/run installs it)")
def test_tshark_decodes_what_was_sent(tmp_path):
    # Hand-built LPDUs; the expected fields are read off the bytes by hand (digest §1.2-§1.7).
    sent = [
        # SPDU REQUEST tid 11, 2a 01/49 → 01/18, 1-byte domain 01, NM NV_FETCH 0x73
        ("tx", "01 19 01 C9 01 98 01 0B 73 07",
         ["0x01", "0", "0", "0", "1", "0x01", "0x02", "0x01", "01", "0x01", "0x49", "0x0b", "0x73", "", "192.0.2.1"]),
        # priority + alt path, TPDU ACKD tid 3, NV 0x810D
        ("rx", "C1 09 01 AA 01 A9 01 03 81 0D 00 CA",
         ["0x01", "0", "1", "1", "1", "0x00", "0x02", "0x01", "01", "0x01", "0x2a", "0x03", "", "0x810d",
          "192.0.2.2"]),
        # APDU only (no TPDU/SPDU), 6-byte domain, OSGP full read 0x30
        ("tx", "00 3B 07 85 01 9D 0A 0B 0C 0D 0E 0F 30 00 01",
         ["0x01", "1", "0", "0", "0", "0x03", "0x02", "0x03", "0a0b0c0d0e0f", "0x07", "0x05", "", "0x30", "",
          "192.0.2.1"]),
    ]
    path = tmp_path / "trace.pcap"
    with PcapWriter(path) as w:
        for n, (direction, hex_body, _) in enumerate(sent):
            assert w.write(FrameEvent(float(n), direction, lpdu(hex_body))) == n + 1
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=;"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split(";") for line in out.splitlines()]
    assert rows == [expected for _, _, expected in sent]
