"""A plain (non-editable) `pip install .` in a fresh venv runs the full default campaign from an empty
directory elsewhere, and puts nothing generic at the top of site-packages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GENERIC = {"drivers", "reports", "usecases", "refdevice", "testcases", "tests", "bench"}


def test_installed_suite_runs_the_default_campaign_from_anywhere(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: a build/ folder left in the checkout must not feed stale files
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "out", "*.egg-info",
                                                                "__pycache__", ".hypothesis", ".ruff_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-input", str(source)],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-3000:]
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    assert purelib != Path(sysconfig.get_paths()["purelib"])  # really the fresh venv
    top = {p.name for p in purelib.iterdir()}
    assert {"osgp", "osgpct"} <= top
    assert not GENERIC & top, f"generic top-level packages installed: {sorted(GENERIC & top)}"
    assert (purelib / "osgpct" / "testcases" / "security" / "test_sec_sequence.py").is_file()  # the catalogue ships

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    run = subprocess.run([str(venv / "bin" / "osgpct"), "run", "--out", "x"], cwd=empty, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    results = json.loads((empty / "x" / "results.json").read_text(encoding="utf-8"))
    verdicts = [c["verdict"] for c in results["test_cases"] + results["use_cases"]]
    assert len(verdicts) > 100 and set(verdicts) <= {"PASS", "NA"}
    assert (empty / "x" / "pctr.pdf").is_file() and (empty / "x" / "manifest.sig").is_file()
