"""Journal (record) and the replay: driver."""

from __future__ import annotations

import json

import pytest

from osgp.errors import ConfigError
from osgpct.drivers import open_driver
from osgpct.drivers.journal import Journal, ReplayDriver
from osgpct.drivers.testing import EchoCore

A = bytes.fromhex("01 19 01 C9 01 98 01 0B 73 07 30 04")
B = bytes.fromhex("00 09 01 A9 01 AA 01 23 09 6C")


def record(path, url="loopback:", delay=0.25):
    d = open_driver(url, device=EchoCore(transform=lambda f: f[::-1], delay=delay))
    with Journal(path) as j, d:
        d.add_tap(j)
        for frame in (A, B):
            d.send(frame)
            assert d.receive(d.clock.now() + 1) == frame[::-1]
        d.clock.advance(1.0)
    return d


def test_journal_lines_are_flushed_json(tmp_path):
    path = tmp_path / "j.jsonl"
    d = open_driver("loopback:", device=EchoCore())
    j = Journal(path)
    d.add_tap(j)
    with d:
        d.send(A)
        lines = path.read_text().splitlines()  # written and flushed before close
        assert json.loads(lines[0]) == {"t": 0.0, "dir": "tx", "hex": A.hex(), "note": ""}
    j.close()


def test_replay_answers_like_the_recording_with_the_same_timing(tmp_path):
    path = tmp_path / "j.jsonl"
    record(path)
    d = open_driver(f"replay:{path}")
    assert isinstance(d, ReplayDriver)
    with d:
        for frame in (A, B):
            d.send(frame)
            t_sent = d.clock.now()
            assert d.receive(t_sent + 0.1) is None  # recorded 0.25 s later
            assert d.receive(t_sent + 1) == frame[::-1]
            assert d.clock.now() == pytest.approx(t_sent + 0.25)
        assert d.observations == [] and d.describe()["mismatches"] == "0"


def test_replay_mismatch_and_exhaustion_are_observations(tmp_path):
    path = tmp_path / "j.jsonl"
    record(path)
    with open_driver(f"replay:{path}") as d:
        d.send(B)  # the journal expects A first
        assert d.receive(d.clock.now() + 1) == A[::-1]  # still answers what was recorded
        d.send(B)
        d.send(A)  # B's answer was never read; and the journal has no third tx
    text = "\n".join(d.observations)
    assert f"sent {B.hex(' ')} recorded {A.hex(' ')}" in text
    assert "1 recorded rx frame(s) were never received" in text
    assert "journal exhausted" in text


def test_replay_skips_frames_the_channel_lost(tmp_path):
    path = tmp_path / "j.jsonl"
    events = [(0.0, "tx", A, ""), (0.1, "rx", B, "lost (uplink)"), (0.2, "rx", A[::-1], "")]
    path.write_text("".join(json.dumps({"t": t, "dir": d, "hex": f.hex(), "note": n}) + "\n"
                            for t, d, f, n in events))
    with open_driver(f"replay:{path}") as d:
        d.send(A)
        assert d.receive(d.clock.now() + 1) == A[::-1]
        assert d.receive(d.clock.now() + 1) is None


def test_truncated_last_line_is_tolerated_garbage_elsewhere_is_not(tmp_path):
    path = tmp_path / "j.jsonl"
    record(path)
    text = path.read_text()
    path.write_text(text + '{"t": 9.0, "dir": "tx", "he')  # the crash happened mid-write
    d = open_driver(f"replay:{path}")
    assert any("incomplete" in o for o in d.observations)
    path.write_text('not json\n' + text)
    with pytest.raises(ConfigError, match="line 1"):
        open_driver(f"replay:{path}")
