"""Secrets: the scanner finds a key in every encoding, and rendered reports carry none."""

from __future__ import annotations

import base64
import shutil

import pytest
from reports_fixtures import failing_campaign

from osgp.secret import Secret
from osgpct.reports import finish_campaign
from osgpct.reports.redact import Redactor, scan_for_secrets

KEY = bytes.fromhex("fb3e7c0d9a41b2ffe8c5d1a0937e4b6c")  # base64 of it contains '+' and '/'
OTHER = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")


def _forms(key: bytes) -> dict[str, bytes]:
    spaced = " ".join(f"{b:02x}" for b in key)
    return {
        "raw": b"\x00junk" + key + b"junk",
        "hex lower": b"key=" + key.hex().encode(),
        "hex upper": b"KEY=" + key.hex().upper().encode(),
        "hex spaced": b"<td>" + spaced.encode() + b"</td>",
        "hex spaced upper wrapped": spaced.upper().replace(" ", "\n", 5).encode(),
        "hex colon": ":".join(f"{b:02X}" for b in key).encode(),
        "base64": b"k: " + base64.b64encode(key),
        "base64 unpadded urlsafe": base64.urlsafe_b64encode(key).rstrip(b"="),
        **{f"base64 inside a blob at offset {k}": base64.b64encode(b"x" * k + key + b"tail")
           for k in (1, 2, 3, 4)},
    }


@pytest.mark.parametrize("form", sorted(_forms(KEY)))
def test_scanner_finds_every_form(tmp_path, form):
    path = tmp_path / "artefact.bin"
    path.write_bytes(b"header\n" + _forms(KEY)[form] + b"\ntrailer")
    found = scan_for_secrets([tmp_path], [OTHER, Secret(KEY)])
    assert found and {f.secret for f in found} == {1} and {f.path for f in found} == {path}
    expected = form.split()[0]
    assert expected in {f.form for f in found}


def test_scanner_finds_nothing_in_clean_files_and_rejects_tiny_secrets(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"".join(_forms(OTHER).values()))
    assert scan_for_secrets([tmp_path], [KEY]) == []
    with pytest.raises(ValueError, match="too short"):
        scan_for_secrets([tmp_path], [b"\x01\x02"])


def _plant(r):
    """The key where careless code or a leaking DUT would put it."""
    r.campaign.driver["session key"] = KEY.hex()
    r.test_cases[0].observations.append("key in base64: " + base64.b64encode(KEY).decode())
    r.case("TC_SEC_DIG_BI_01").reason += " leaked " + " ".join(f"{b:02X}" for b in KEY)
    frame = r.frames_by_number()[r.case("TC_SEC_DIG_BI_01").steps[1].frames[1]]
    frame.hex = frame.hex[:10] + KEY.hex() + frame.hex[10:]  # plaintext key in a response (Annex A)
    r.assumptions = r.assumptions[:2]
    return r


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    out = tmp_path_factory.mktemp("leaky")
    finish_campaign(_plant(failing_campaign()), out)  # the framework "forgot" to pass the key
    return out


def test_scanner_finds_a_key_planted_in_a_rendered_bundle(leaky):
    found = scan_for_secrets([leaky], [KEY])
    files = {f.path.name for f in found}
    assert {"results.json", "pctr.html", "pctr.pdf"} <= files
    pdf_views = {f.where for f in found if f.path.name == "pctr.pdf"}
    assert "pdf stream" in pdf_views  # found without poppler, in the inflated content streams
    if shutil.which("pdftotext"):
        assert "pdf text" in pdf_views
    assert {"hex", "base64"} <= {f.form for f in found if f.path.name == "pctr.html"}


def test_a_rendered_bundle_given_the_key_carries_none(tmp_path):
    finish_campaign(_plant(failing_campaign()), tmp_path, secrets=[Secret(KEY)])
    assert scan_for_secrets([tmp_path], [KEY]) == []
    assert "***" in (tmp_path / "pctr.html").read_text(encoding="utf-8")


def test_a_clean_render_carries_no_key(tmp_path):
    r = failing_campaign()
    r.assumptions = r.assumptions[:2]
    finish_campaign(r, tmp_path, secrets=[KEY])
    assert scan_for_secrets([tmp_path], [KEY, OTHER]) == []


def test_show_secrets_keeps_keys_and_says_so(tmp_path):
    finish_campaign(_plant(failing_campaign()), tmp_path, secrets=[KEY], show_secrets=True)
    assert {f.path.name for f in scan_for_secrets([tmp_path], [KEY])} >= {"results.json", "pctr.html"}
    assert "may contain key material" in (tmp_path / "pctr.html").read_text(encoding="utf-8")


def test_redactor_text():
    red = Redactor([KEY])
    assert red.text(f"a {KEY.hex().upper()} b") == "a *** b"
    assert red.text("x" + base64.b64encode(KEY).decode()) .count("***") == 1
    assert red.text("nothing here") == "nothing here"
    assert not Redactor()
