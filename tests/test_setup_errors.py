"""A wrong set-up is not a non-conforming device: a wrong key, a dead or a silent target stop the campaign
before its first test case with exit status 3 and one line that names the likely cause."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml
from served import Served

from osgpct import killmatrix
from osgpct.connect import make_driver, preflight
from osgpct.plan import load_plan

BOUND_S = 30  # the bound for the whole command


def _plan_with(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(killmatrix.DEFAULT_PLAN.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = data
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    out = tmp_path / "plan.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def _run(plan: Path, target: str, out: Path) -> tuple[int, str, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "osgpct.cli", "run", "--plan", str(plan), "--target", target,
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0


def _silent_port() -> socket.socket:
    """A bound UDP socket that never answers: the DUT is 'there' but silent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


WRONG_FULL_KEY = "hex:" + "5a" * 16


def test_wrong_key_stops_the_campaign_with_exit_3_naming_the_keys(tmp_path: Path) -> None:
    with Served("cnip+udp://127.0.0.1:0") as served:  # keys of the default plan
        plan = _plan_with(tmp_path, **{"security.keys.full.secret": WRONG_FULL_KEY})
        code, output, took = _run(plan, served.url, tmp_path / "out")
    assert code == 3, output[-2000:]
    assert took < BOUND_S
    assert "security.keys" in output and "0x0B" in output
    assert "Traceback" not in output
    assert output.count("\nE ") == 0 and "test system error" not in output  # not 137 verdicts


def test_silent_target_stops_the_campaign_with_exit_3(tmp_path: Path) -> None:
    with _silent_port() as s:
        url = f"cnip+udp://127.0.0.1:{s.getsockname()[1]}"
        code, output, took = _run(killmatrix.DEFAULT_PLAN, url, tmp_path / "out")
    assert code == 3, output[-2000:]
    assert took < BOUND_S
    assert "no answer from the DUT" in output and "apdu_prefix" in output
    assert "Traceback" not in output


def test_refused_target_stops_the_campaign_with_exit_3(tmp_path: Path) -> None:
    with _silent_port() as s:
        port = s.getsockname()[1]  # closed again below: nothing listens there any more
    code, output, took = _run(killmatrix.DEFAULT_PLAN, f"cnip+udp://127.0.0.1:{port}", tmp_path / "out")
    assert code == 3, output[-2000:]
    assert took < BOUND_S and "cannot reach the DUT" in output and "Traceback" not in output


def test_preflight_passes_a_working_set_up() -> None:
    plan = load_plan(killmatrix.DEFAULT_PLAN)
    drv = make_driver(plan, seed=1)
    drv.open()
    try:
        assert preflight(drv, plan) == ""
    finally:
        drv.close()


def test_a_dut_that_answers_late_is_there_and_left_to_its_test_cases() -> None:
    """Late answers are not 'nothing answers': TC_LNK_TMR_TI_01 judges them (REQ-LNK-024)."""
    plan = load_plan(killmatrix.DEFAULT_PLAN).with_overrides(target="loopback:?fault=late_response")
    drv = make_driver(plan, seed=1)
    drv.open()
    try:
        assert preflight(drv, plan) == ""
        assert drv.tap_count == 0  # the preflight's own tap and session are gone
    finally:
        drv.close()
