"""Benchmark: a full campaign against the reference device (issue: framework, performance).

1. Over the plain loopback: wall-clock time of the whole campaign and the number of exchanges
   (target: under 60 s on the CI machine).
2. Over the loopback with the A-band power-line channel model: the predicted duration of the same
   campaign on a real line, and the share of it the suite itself costs (target: under 1 %).

    python bench/bench_campaign.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from osgpct.layout import campaign_args, default_plan


def campaign(target: str, out: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "pytest", *campaign_args(plan=default_plan(), out=out, target=target, seed=1)]
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OSGP_REPORTS="results"))
    wall = time.perf_counter() - t0
    return wall, json.loads((out / "results.json").read_text(encoding="utf-8"))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    wall, res = campaign("loopback:", tmp / "plain")
    cases = res["test_cases"] + res["use_cases"]
    busy = sum(c["duration_s"] for c in cases)
    frames = len(res["frames"])
    tx = sum(1 for f in res["frames"] if f["direction"] == "tx")
    verdicts = {v: sum(c["verdict"] == v for c in cases) for v in ("PASS", "FAIL", "INCONC", "ERROR", "NA")}
    print(f"loopback campaign: {len(cases)} cases {verdicts}; wall {wall:.1f} s (test bodies {busy:.1f} s); "
          f"{frames} frames, {tx} sent by the tester")

    wall_ch, res_ch = campaign("loopback:?channel=a-band&seed=1", tmp / "a-band")
    ch = res_ch["campaign"]["channel"]
    cases_ch = res_ch["test_cases"] + res_ch["use_cases"]
    verdicts_ch = {v: sum(c["verdict"] == v for c in cases_ch) for v in ("PASS", "FAIL", "INCONC", "ERROR", "NA")}
    print(f"A-band campaign verdicts: {verdicts_ch}")
    busy_ch = sum(c["duration_s"] for c in res_ch["test_cases"] + res_ch["use_cases"])
    print(f"A-band channel model: predicted {ch['predicted_s'] / 60:.1f} min on a real line "
          f"(airtime {ch['airtime_s'] / 60:.1f} min; the rest is DUT time the cases wait for and transaction "
          f"timers); suite's own time {busy_ch:.1f} s = "
          f"{100 * busy_ch / ch['predicted_s']:.2f} % of it (wall {wall_ch:.1f} s incl. start-up)")


if __name__ == "__main__":
    main()
