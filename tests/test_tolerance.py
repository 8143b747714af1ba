"""Variant switches of the reference device (refdevice/variants.py) and the tolerance matrix.

Unit tests: every variant changes the behaviour it names (a probe driven through refdevice/testing.py
observes the conforming device and the variant differently; the conforming value is asserted where it
is fixed). The matrix test runs one campaign per variant and asserts 0 FAIL / 0 ERROR in each: it fails
until the test cases are adapted to the variants (docs/refdevice.md, "Variants").
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from osgp import lon
from osgp.app import FullRead, RawRequest
from osgp.errors import ConfigError
from osgpct import tolerance
from osgpct.drivers.loopback import LoopbackDriver
from osgpct.refdevice import VARIANTS, build
from osgpct.refdevice import variants as V
from osgpct.refdevice.testing import Tester

OUT = Path(os.environ.get("OSGP_SELFTEST_OUT", Path(__file__).resolve().parent.parent / "out" / "selftest"))
ANY = object()  # the conforming observation is not pinned, only that the variant differs
ET = 2048


def first_byte(reply) -> int:
    return lon.decode(reply.frames[0][1]).apdu[0]


def p_0c_number(t: Tester):
    return t.exchange(FullRead(1), seq=t.device.security.seq, encrypt=False, resync=False).message


def p_window_9(t: Tester):
    return t.exchange(FullRead(1), seq=t.device.security.seq + 9, resync=False).response.code


def p_seq_after_reboot(t: Tester):
    t.read(1)
    t.device.power_cycle(t.now)
    return t.device.security.seq


def p_read_key_write(t: Tester):
    reply = t.exchange(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x66", key_index=1, encrypt=False)
    return first_byte(reply), t.read_partial(5, 0, 1).data


def p_key_usage(t: Tester):
    t.read(1)
    return struct.unpack_from("<I", t.read_partial(ET + 54, 82, 4).data)[0]


def p_broadcast_base(t: Tester):
    code = t.write_partial(ET + 4, 82, struct.pack("<I", 0x2000)).code
    return code, struct.unpack_from("<I", t.read_partial(ET + 4, 82, 4).data)[0]


def p_unknown_request(t: Tester):
    return t.exchange(RawRequest(b"\x3a")).response.code


def p_write_excess(t: Tester):
    code = t.write_partial(5, 0, b"\x01\x02\x03\x04", count=2).code
    return code, t.read_partial(5, 0, 4).data


def p_overlong_read(t: Tester):
    return t.read(ET + 4).code  # ET04 (140 bytes) does not fit link.max_apdu 64


def p_bt04_bitmap(t: Tester):
    return t.read(4).data[:2]  # BT00.13 = 10 bytes of std bitmap: BT05 is bit 5 of byte 0


def p_scratch_pending(t: Tester):
    return t.write(5 + 4096, bytes([2, 0, 0, 0, 0, 0]) + b"X" * 20).code


def p_tz_clamp(t: Tester):
    code = t.write_partial(53, 4, struct.pack("<h", 900)).code
    return code, struct.unpack_from("<h", t.read_partial(53, 4, 2).data)[0]


def p_bt50_sort(t: Tester):
    return t.read(50).data


def p_log_gaps(t: Tester):
    t.procedure(7)
    t.procedure(7)
    seqs = [e.seq for e in t.device.meter.log.events()]
    return sorted({b - a for a, b in zip(seqs, seqs[1:], strict=False)})


def p_activation_event(t: Tester):
    t.write(53 + 4096, bytes([2, 0, 0, 0, 0, 0]) + bytes([2, 0, 0, 60, 7, 0]))
    t.procedure(12)
    return [e.code for e in t.device.meter.log.events() if e.code in (28, 0x812)]


def p_clock_events(t: Tester):
    t.procedure(10, bytes([3, 25, 1, 1, 0, 0, 0, 0]))
    return sorted({e.code for e in t.device.meter.log.events()} & {3, 4, 0x810, 0x811})


def p_bp03_totals(t: Tester):
    t.advance(3600)
    t.procedure(3)
    return int(t.device.meter.registers.fwd_wh) > 0


def p_bp04_unread(t: Tester):
    t.procedure(7)
    t.procedure(4, b"\x01")
    return t.device.meter.log.unread  # after the reset, BP04 itself logs two entries


def p_missing_list(t: Tester):
    return t.procedure(4, b"\x02")[1].result


def p_relay_spacing(t: Tester):
    t.procedure(2050, b"\x00")
    return t.procedure(2050, b"\x01")[1].result


def p_bp10_local(t: Tester):
    t.procedure(10, bytes([3, 25, 1, 1, 0, 0, 0, 0]))
    return t.read(52).data[:5]


def p_disconnect(t: Tester):
    return t.procedure(2050, b"\x00")[1].result, t.procedure(V.OTHER_DISCONNECT_PROCEDURE, b"\x00")[1].result


def p_neuron_state(t: Tester):
    before = t.read_partial(ET + 4, 72, 1).data[0]
    code = t.write_partial(ET + 4, 12, b"\x04").code
    return before, code, t.read_partial(ET + 4, 72, 1).data[0]


PROBES: dict[str, tuple[Callable[[Tester], Any], Any, dict]] = {
    # name: (probe, conforming observation, device flags)
    V.SEQ_ERROR_NEXT_NUMBER: (p_0c_number, b"\x0c\x00\x00\x10\x00", {}),
    V.SEQ_WINDOW_WIDER: (p_window_9, 0x0C, {}),
    V.SEQ_JUMP_AFTER_REBOOT: (p_seq_after_reboot, 0x1001, {}),
    V.READ_KEY_AUTH_FAILURE: (p_read_key_write, (0x03, ANY), {}),
    V.KEY_USAGE_PER_CRYPTO_OP: (p_key_usage, 2, {}),
    V.BROADCAST_BASE_HOST_SET: (p_broadcast_base, (0x03, 0x1000), {}),
    V.UNKNOWN_REQUEST_UNSUPPORTED: (p_unknown_request, 0x01, {}),
    V.WRITE_EXCESS_DATA_REFUSED: (p_write_excess, (0x00, b"\x01\x02\x00\x00"), {}),
    V.OVERLONG_READ_CODE_05: (p_overlong_read, 0x04, {"link.max_apdu": 64}),
    V.BT04_PENDING_CAPABILITY: (p_bt04_bitmap, bytes(2), {}),
    V.SCRATCH_TABLES_NOT_PENDABLE: (p_scratch_pending, 0x00, {}),
    V.TZ_OFFSET_CLAMPED: (p_tz_clamp, (0x04, 60), {}),
    V.BT54_STORED_AS_RECEIVED: (p_bt50_sort, ANY, {}),
    V.LOG_SEQ_GAPS: (p_log_gaps, [1], {}),
    V.MFG_ACTIVATION_EVENT: (p_activation_event, [28], {}),
    V.MFG_CLOCK_EVENTS: (p_clock_events, [3, 4], {}),
    V.BP03_KEEPS_TOTALS: (p_bp03_totals, False, {}),
    V.BP04_OVERFLOW_ONLY: (p_bp04_unread, 2, {}),
    V.MISSING_LIST_RESULT_2: (p_missing_list, 3, {}),
    V.RELAY_SPACING_RESULT_3: (p_relay_spacing, 4, {}),
    V.BP10_LOCAL_TIME: (p_bp10_local, bytes([25, 1, 1, 0, 0]), {}),
    V.DISCONNECT_OTHER_NUMBER: (p_disconnect, (0, 6), {}),
    V.NEURON_STATE_ON_REQUEST: (p_neuron_state, (4, 0x03, 4), {}),
}


def _pinned(expected: Any, observed: Any) -> bool:
    if expected is ANY:
        return True
    if isinstance(expected, tuple):
        return len(expected) == len(observed) and all(_pinned(e, o) for e, o in zip(expected, observed, strict=True))
    return expected == observed


def test_every_variant_has_a_probe_a_source_and_is_documented():
    assert set(PROBES) == set(VARIANTS)
    assert len(VARIANTS) >= 22
    doc = open("docs/refdevice.md", encoding="utf-8").read()
    for v in VARIANTS.values():
        assert v.source and v.reading and v.requirement.startswith("REQ-"), v.name
        assert f"| `{v.name}` | {v.requirement} |" in doc, v.name


def test_variant_requirements_exist():
    import yaml

    ids = set()
    for path in (Path(__file__).resolve().parent.parent / "osgpct" / "requirements").glob("*.yaml"):
        ids |= {r["id"] for r in yaml.safe_load(path.read_text(encoding="utf-8")) or [] if isinstance(r, dict)}
    assert {v.requirement for v in VARIANTS.values()} <= ids


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_changes_the_behaviour_it_names(name):
    probe, expected, flags = PROBES[name]
    good = probe(Tester(build(**flags)))
    alt = probe(Tester(build(variants=[name], **flags)))
    assert _pinned(expected, good), f"conforming device: {good!r}"
    assert alt != good, f"variant {name} did not change {probe.__name__}: {alt!r}"


def test_unknown_variant_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match="valid names: .*seq_error_next_number"):
        build(variants=["no_such_variant"])


def test_next_number_variant_resynchronises_the_host():
    t = Tester(build(variants=[V.SEQ_ERROR_NEXT_NUMBER]))
    r = t.exchange(FullRead(1), seq=t.device.security.seq, resync=False).response
    assert r.code == 0x0C and r.expected_seq == t.device.security.seq + 1
    assert t.exchange(FullRead(1), seq=r.expected_seq, resync=False).response.code == 0


def test_read_key_auth_failure_changes_nothing():
    t = Tester(build(variants=[V.READ_KEY_AUTH_FAILURE]))
    before = t.read_partial(5, 0, 1).data
    assert p_read_key_write(t) == (0x0B, before)


def test_loopback_url_takes_variants_like_faults():
    d = LoopbackDriver.from_url("loopback:?variant=log_seq_gaps&variant=bp03_keeps_totals", device_factory=build)
    assert d.variants == ("log_seq_gaps", "bp03_keeps_totals")
    d.open()
    assert d.device.variants == {"log_seq_gaps", "bp03_keeps_totals"}
    assert d.device.has_variant(V.LOG_SEQ_GAPS)
    assert d.describe()["variants"] == "log_seq_gaps,bp03_keeps_totals"
    d.close()


def test_tolerance_plan_carries_the_pixit_a_variant_needs(tmp_path: Path):
    import yaml

    plan = yaml.safe_load(tolerance.plan_for_variant(V.DISCONNECT_OTHER_NUMBER, tmp_path).read_text())
    assert plan["pixit"]["disconnect_procedure"] == V.OTHER_DISCONNECT_PROCEDURE


def test_tolerance_matrix_is_complete(tmp_path: Path) -> None:
    """Every conforming reading gives 0 FAIL and 0 ERROR. Printed and stored in out/selftest/."""
    matrix = tolerance.build(jobs=os.cpu_count() or 2, workdir=tmp_path)
    table = tolerance.render(matrix)
    print("\n" + table)
    tolerance.save(matrix, OUT)
    rejected = {r.variant: r.fails + r.errors + ([r.problem] if r.problem else []) for r in matrix.rows
                if not r.tolerated}
    assert not rejected, f"conforming readings rejected: {rejected}\n{table}"
