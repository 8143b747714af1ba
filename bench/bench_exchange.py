"""Benchmark: the tester's own cost of one typical OSGP read exchange (issue: protocol core).

Times, per exchange: encode a partial read of BT23, protect it (sequence number + digest, or RC4 /
AES), wrap it in a 14908-1 REQUEST with CRC; then decode the device's RESPONSE frame, check its CRC,
verify its chained digest and decode the read response. The device side is prepared beforehand and is
not timed. Target on the CI machine: < 200 µs per exchange with the digest profile.

    python bench/bench_exchange.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time

from osgp import app, lon
from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile

KEY16 = bytes([0x01] * 16)
TESTER = lon.SubnetNodeAddress(src_subnet=1, src_node=126, dst_subnet=1, dst_node=5)
DEVICE = lon.SubnetNodeAddress(src_subnet=1, src_node=5, dst_subnet=1, dst_node=126)
DOMAIN = b"\x4f"


def prepare(profile):
    req = app.PartialRead(app.bt(23), 0, 44)
    sent = profile.protect_request(app.encode_request(req), 0x01020304)
    opened = profile.open_request(sent.pdu)
    reply = app.encode_response(app.Response(0, bytes(range(44))), req)
    rsp_pdu = profile.protect_response(opened, reply)
    rsp_frame = lon.encode(lon.Lpdu(False, False, 0, 0, DEVICE, DOMAIN,
                                    lon.Spdu(False, lon.SpduType.RESPONSE, 3), app.wrap_apdu(rsp_pdu)))
    return req, rsp_frame


def one_exchange(profile, req, rsp_frame) -> None:
    sent = profile.protect_request(app.encode_request(req), 0x01020304)
    lon.encode(lon.Lpdu(False, False, 1, 0, TESTER, DOMAIN,
                        lon.Spdu(False, lon.SpduType.REQUEST, 3), app.wrap_apdu(sent.pdu)))
    got = lon.decode(rsp_frame)
    plain = profile.open_response(sent, app.unwrap_apdu(got.apdu))
    resp = app.decode_response(plain, req)
    assert resp.code == 0 and len(resp.data) == 44


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    profiles = (("digest", DigestProfile(KEY16)), ("rc4-plc", Rc4Profile(KEY16, variant="plc")),
                ("rc4-mep", Rc4Profile(KEY16, variant="mep")), ("aes128-ccm", AesCcmProfile(KEY16)))
    for name, profile in profiles:
        req, rsp = prepare(profile)
        for _ in range(200):
            one_exchange(profile, req, rsp)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            one_exchange(profile, req, rsp)
            samples.append(time.perf_counter() - t0)
        samples.sort()
        print(f"{name:11} median {statistics.median(samples) * 1e6:7.1f} µs   "
              f"p95 {samples[int(0.95 * n)] * 1e6:7.1f} µs   (n={n})")


if __name__ == "__main__":
    main()
