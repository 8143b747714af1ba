"""osgp.session against the reference device over the loopback: the behaviour test cases rely on."""

from __future__ import annotations

import pytest

from osgp.app import ResponseCode, bt
from osgp.clock import MonotonicClock
from osgp.errors import DeviceTimeout, DutProtocolError, NotJudged, WaitBudgetExceeded
from osgp.session import ResponseNotAuthentic
from osgpct import killmatrix
from osgpct.connect import make_session, refdevice_factory
from osgpct.drivers import open_driver
from osgpct.plan import load_plan


@pytest.fixture
def plan():
    return load_plan(killmatrix.DEFAULT_PLAN)


def _open(plan, url: str = "loopback:", **kw):
    drv = open_driver(url, device_factory=refdevice_factory(plan), **kw)
    drv.open()
    return drv


def test_first_request_resynchronises_on_0x0c_and_then_follows_the_dut(plan) -> None:
    with _open(plan) as drv:
        s = make_session(drv, plan)
        r = s.read(bt(1))
        assert r.ok and len(r.data) >= 24
        # seq 0 was refused with the DUT's number N, the retry used N+1: two exchanges, one 0x0C.
        assert [e.response.code for e in s.exchanges] == [ResponseCode.INVALID_SEQUENCE, ResponseCode.OK]
        assert s.exchanges[1].seq == s.exchanges[0].response.expected_seq + 1
        r2 = s.read(bt(1))
        assert r2.ok and s.exchanges[-1].seq == s.exchanges[1].seq + 1


def test_explicit_stale_sequence_number_is_reported_not_hidden(plan) -> None:
    with _open(plan) as drv:
        s = make_session(drv, plan)
        s.read(bt(1))
        r = s.read(bt(1), seq=s.seq, resync=False)
        assert r.code == ResponseCode.INVALID_SEQUENCE and r.expected_seq == s.seq


def test_a_silent_dut_is_a_bounded_device_timeout(plan) -> None:
    with _open(plan, "loopback:?fault=hang_on_oversize") as drv:
        s = make_session(drv, plan)
        s.read(bt(1))
        with pytest.raises(DeviceTimeout):
            s.write_partial(bt(5), 0, bytes(400))  # the fault: an oversize APDU kills the device
        t0 = drv.clock.now()
        with pytest.raises(DeviceTimeout):
            s.read(bt(1))
        assert drv.clock.now() - t0 <= s.config.exchange_bound() + 1e-6


def test_an_unchained_response_digest_is_the_dut_s_protocol_error(plan) -> None:
    with _open(plan, "loopback:?fault=response_digest_unchained") as drv:
        s = make_session(drv, plan)
        with pytest.raises(ResponseNotAuthentic) as info:
            s.read(bt(1))
        assert isinstance(info.value, DutProtocolError)
        assert info.value.exchange.response_pdu  # the evidence is kept


def test_procedures_follow_the_psn_in_bt08_across_sessions(plan) -> None:
    with _open(plan) as drv:
        first = make_session(drv, plan).procedure(2048 + 83, b"\x00")  # any procedure: PSN 1 from a fresh BT08
        second = make_session(drv, plan).procedure(2048 + 83, b"\x00")  # a new session must not repeat it
        assert first.psn != second.psn
        assert second.write.code == ResponseCode.OK


def test_waiting_is_free_on_the_virtual_clock_and_budgeted_on_a_real_one(plan) -> None:
    with _open(plan) as drv:
        s = make_session(drv, plan)
        s.wait_budget = 1.0
        t0 = drv.clock.now()
        s.wait(3600, "an hour of DUT time")
        assert drv.clock.now() - t0 == pytest.approx(3600)
    with _open(plan, clock=MonotonicClock()) as drv:
        s = make_session(drv, plan)
        s.wait_budget = 1.0
        with pytest.raises(WaitBudgetExceeded) as info:
            s.wait(5, "five real seconds")
        assert isinstance(info.value, NotJudged)


def test_power_cycle_is_a_harness_capability(plan) -> None:
    with _open(plan) as drv:
        s = make_session(drv, plan)
        assert s.can_power_cycle
        s.read(bt(1))
        before = s.seq
        s.power_cycle(1.0)
        r = s.read(bt(1), seq=before, resync=False)
        assert r.code == ResponseCode.INVALID_SEQUENCE and r.expected_seq == before


def _lossy_read(plan, seed: int) -> tuple[bool, list[tuple[float, str, bool, str]]]:
    """A read over an A-band channel whose primary carrier loses everything and secondary nothing."""
    from osgp import lon

    url = f"loopback:?channel=a-band&loss=1.0&loss_alt=0.0&seed={seed}"
    with _open(plan, url) as drv:
        events = []
        drv.add_tap(lambda e: events.append((round(e.t, 6), e.direction, bool(lon.decode(e.frame).alt_path),
                                             e.note)))
        s = make_session(drv, plan)
        ok = s.read(bt(1)).ok
    return ok, events


def test_retries_reach_the_dut_on_the_secondary_carrier_and_the_timeline_repeats(plan) -> None:
    ok, events = _lossy_read(plan, seed=7)
    assert ok  # only the alternate-path tries (the last retries) got through
    primary = [note for _, d, alt, note in events if d == "tx" and not alt]
    secondary = [note for _, d, alt, note in events if d == "tx" and alt]
    assert primary and all("lost" in n for n in primary)
    assert secondary and any("lost" not in n for n in secondary)
    assert _lossy_read(plan, seed=7) == (ok, events)  # same seed, same timeline
