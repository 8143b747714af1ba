"""Reports: the results model and everything rendered from it.

    model          Results (results.json, schema "osgpct-results/2"), filled by the framework
    pctr           PCTR as HTML and PDF; `osgpct report DIR`
    bundle         signed manifest of the artefacts; `osgpct verify DIR`
    compare        delta between two campaigns; `osgpct report --compare OLD NEW`
    redact         keeps keys out of outputs; scan_for_secrets for the self-test
    pytest_helpers verdict/requirements for JUnit, allure and pytest-html

At the end of a campaign, once junit.xml, the pytest-html report, allure-results/ and trace.pcap
are written, the framework calls `finish_campaign` (it must be the last writer in the directory).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from osgp.secret import Secret
    from osgpct.reports.model import Results


def finish_campaign(results: Results, out_dir: str | Path, *, signing_key: Ed25519PrivateKey | None = None,
                    secrets: Iterable[Secret | bytes] = (), show_secrets: bool = False) -> Path:
    """Key -> results.json + pctr.html + pctr.pdf (naming the public key) -> signed manifest.

    `signing_key` is the lab key (see bundle.load_signing_key); without one a key is generated and the
    report says so. `secrets` are the campaign's keys, scrubbed from every output unless show_secrets.
    Returns the manifest path.
    """
    from osgpct.reports.bundle import generate_key, public_key_hex, write_manifest
    from osgpct.reports.pctr import write_reports

    key = signing_key or generate_key()
    source = "lab" if signing_key else "generated"
    results.campaign.public_key = public_key_hex(key)
    results.campaign.key_source = source
    write_reports(results, out_dir, secrets=secrets, show_secrets=show_secrets)
    return write_manifest(out_dir, key, source)
