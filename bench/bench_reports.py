"""Time the end-of-campaign reports for a full synthetic campaign (target: < 10 s in all).

    .venv/bin/python bench/bench_reports.py [N_CASES] [N_FRAMES]

Builds a campaign of 200 test cases and 3000 frames (about a tenth of the cases FAIL/INCONC, so
Annex A carries their frames), writes a trace.pcap-sized dummy and a junit.xml so the manifest has
realistic work, then times each stage and prints the figures. No assertion: this is a measurement.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from osgpct.reports.bundle import generate_key, public_key_hex, verify, write_manifest  # noqa: E402
from osgpct.reports.pctr import build, render_html  # noqa: E402
from osgpct.reports.pdf import render_pdf  # noqa: E402
from tests.reports_fixtures import big_campaign  # noqa: E402

TARGET_S = 10.0


def main(n_cases: int = 200, n_frames: int = 3000) -> int:
    results = big_campaign(n_cases, n_frames)
    figures: list[tuple[str, float]] = []

    def timed(label: str, fn):
        t0 = time.perf_counter()
        value = fn()
        figures.append((label, time.perf_counter() - t0))
        return value

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        key = generate_key()
        results.campaign.public_key, results.campaign.key_source = public_key_hex(key), "generated"
        # artefacts the framework writes before the manifest, at realistic sizes
        (out / "trace.pcap").write_bytes(b"\0" * (24 + n_frames * 80))
        (out / "junit.xml").write_text("<testsuite/>" * n_cases, encoding="utf-8")
        timed("results.json", lambda: results.save(out / "results.json"))
        doc = timed("layout (document model)", lambda: build(results))
        html = timed("pctr.html (jinja2)", lambda: render_html(doc))
        (out / "pctr.html").write_text(html, encoding="utf-8")
        pdf = timed("pctr.pdf (fpdf2)", lambda: render_pdf(doc))
        (out / "pctr.pdf").write_bytes(pdf)
        timed("manifest + Ed25519 signature", lambda: write_manifest(out, key, "generated"))
        total = sum(t for _, t in figures)
        ok = timed("verify (offline)", lambda: verify(out)).ok
        evidence = sum(len(frames) for _, _, frames in results.evidence())
        print(f"campaign: {len(results.test_cases)} test cases, {len(results.frames)} frames "
              f"({evidence} in Annex A), PDF {len(pdf) / 1024:.0f} KiB, HTML {len(html) / 1024:.0f} KiB")
        for label, t in figures:
            print(f"  {label:32} {t:7.3f} s")
        print(f"  {'all reports (excl. verify)':32} {total:7.3f} s   target < {TARGET_S:.0f} s: "
              f"{'met' if total < TARGET_S else 'MISSED'}; bundle verifies: {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
