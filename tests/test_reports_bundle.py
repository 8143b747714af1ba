"""Evidence bundle: the manifest names every artefact; any tampering is caught and named."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from reports_fixtures import passing_campaign

from osgp.errors import ConfigError
from osgp.secret import Secret
from osgpct.reports import finish_campaign
from osgpct.reports.bundle import (
    MANIFEST,
    SIGNATURE,
    cli_verify,
    load_signing_key,
    public_key_hex,
    verify,
    write_manifest,
)
from osgpct.reports.model import Results

ARTEFACTS = ["results.json", "pctr.html", "pctr.pdf", "junit.xml", "trace.pcap", "allure-results/a1-result.json"]


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A finished campaign directory with the artefacts the framework writes beside ours."""
    out = tmp_path_factory.mktemp("bundle")
    (out / "allure-results").mkdir()
    (out / "allure-results" / "a1-result.json").write_text('{"status": "passed"}', encoding="utf-8")
    (out / "junit.xml").write_text("<testsuite tests='20'/>", encoding="utf-8")
    (out / "trace.pcap").write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    key = Ed25519PrivateKey.generate()
    r = passing_campaign()
    r.assumptions = r.assumptions[:2]
    finish_campaign(r, out, signing_key=key)
    return out, key


@pytest.fixture
def bundle(signed, tmp_path):
    """A fresh copy of the signed bundle for each test to tamper with."""
    src, key = signed
    for p in sorted(src.rglob("*")):
        dst = tmp_path / p.relative_to(src)
        if p.is_dir():
            dst.mkdir()
        else:
            dst.write_bytes(p.read_bytes())
    return tmp_path, key


def test_manifest_lists_every_artefact_and_the_lab_key(bundle):
    out, key = bundle
    manifest = json.loads((out / MANIFEST).read_bytes())
    assert [f["path"] for f in manifest["files"]] == sorted(ARTEFACTS)
    assert manifest["public_key"] == public_key_hex(key) and manifest["key_source"] == "lab"
    assert Results.load(out / "results.json").campaign.public_key == public_key_hex(key)
    assert public_key_hex(key) in (out / "pctr.html").read_text(encoding="utf-8")
    res = verify(out, expected_public_key=public_key_hex(key))
    assert res.ok and res.checked == len(ARTEFACTS) and res.exit_code == 0


@pytest.mark.parametrize("name", ARTEFACTS)
def test_a_modified_artefact_is_named(bundle, name, capsys):
    out, _ = bundle
    data = bytearray((out / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    (out / name).write_bytes(bytes(data))
    res = verify(out)
    assert res.status == "TAMPERED" and res.changed == [name] and res.signature_ok
    assert cli_verify(out) == 1
    assert f"changed: {name}" in capsys.readouterr().out


@pytest.mark.parametrize("name", ARTEFACTS)
def test_a_deleted_artefact_is_named(bundle, name):
    out, _ = bundle
    (out / name).unlink()
    res = verify(out)
    assert res.status == "TAMPERED" and res.missing == [name] and not res.changed


@pytest.mark.parametrize("name", ["extra.txt", "allure-results/zz-result.json", ".hidden"])
def test_an_added_file_is_named(bundle, name):
    out, _ = bundle
    (out / name).write_text("slipped in", encoding="utf-8")
    res = verify(out)
    assert res.status == "TAMPERED" and res.added == [name]


def test_an_edited_manifest_breaks_the_signature(bundle, capsys):
    out, _ = bundle
    manifest = json.loads((out / MANIFEST).read_bytes())
    manifest["files"][0]["sha256"] = "0" * 64  # hide a change in results.json
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    res = verify(out)
    assert not res.signature_ok and res.status == "TAMPERED"
    assert cli_verify(out) == 1
    assert "signature: INVALID" in capsys.readouterr().out


def test_a_forged_signature_fails(bundle):
    out, _ = bundle
    (out / SIGNATURE).write_bytes(Ed25519PrivateKey.generate().sign((out / MANIFEST).read_bytes()))
    assert not verify(out).signature_ok and verify(out).exit_code == 1
    (out / SIGNATURE).write_bytes(b"\0" * 64)
    assert not verify(out).signature_ok


def test_resigning_with_another_key_is_caught_by_the_key_in_the_report(bundle):
    out, key = bundle
    (out / "pctr.html").write_text("doctored", encoding="utf-8")
    (out / MANIFEST).unlink()
    intruder = Ed25519PrivateKey.generate()
    with pytest.raises(ConfigError, match="results.json names public key"):
        write_manifest(out, intruder)  # our own writer refuses; an intruder's writer would not:
    data = json.dumps({"schema": "osgpct-manifest/1", "public_key": public_key_hex(intruder), "files": [
        {"path": p, "sha256": hashlib.sha256((out / p).read_bytes()).hexdigest()}
        for p in sorted(ARTEFACTS)]}).encode()
    (out / MANIFEST).write_bytes(data)
    (out / SIGNATURE).write_bytes(intruder.sign(data))
    res = verify(out)
    assert res.signature_ok and not res.changed and res.status == "TAMPERED"
    assert "results.json names public key" in res.key_problems[0]
    assert verify(out, expected_public_key=public_key_hex(key)).key_problems[-1].startswith("signed with")


def test_unusable_bundles_exit_3(bundle, tmp_path_factory, capsys):
    out, _ = bundle
    assert cli_verify(tmp_path_factory.mktemp("empty")) == 3
    assert "no manifest.json" in capsys.readouterr().err
    (out / SIGNATURE).unlink()
    assert verify(out).status == "UNUSABLE" and cli_verify(out) == 3
    assert "manifest.sig is missing" in capsys.readouterr().err
    (out / SIGNATURE).write_bytes(b"x")
    (out / MANIFEST).write_text("{broken", encoding="utf-8")
    assert verify(out).exit_code == 3 and "malformed" in verify(out).problem
    assert cli_verify(out / "nowhere") == 3


def test_a_manifest_entry_pointing_outside_the_bundle_is_not_followed(bundle):
    out, _ = bundle
    evil = Ed25519PrivateKey.generate()
    os.remove(out / "results.json")  # so the key cross-check does not mask the path check
    data = json.dumps({"schema": "osgpct-manifest/1", "public_key": public_key_hex(evil),
                       "files": [{"path": "../../etc/passwd", "sha256": "0" * 64}]}).encode()
    (out / MANIFEST).write_bytes(data)
    (out / SIGNATURE).write_bytes(evil.sign(data))
    res = verify(out)
    assert res.changed == ["../../etc/passwd (path outside the bundle)"] and res.status == "TAMPERED"


def test_generated_key_is_said_to_prove_integrity_only(tmp_path, capsys):
    r = passing_campaign()
    r.assumptions = []
    finish_campaign(r, tmp_path)
    assert json.loads((tmp_path / MANIFEST).read_bytes())["key_source"] == "generated"
    assert "proves integrity" in (tmp_path / "pctr.html").read_text(encoding="utf-8")
    assert cli_verify(tmp_path) == 0
    out = capsys.readouterr().out
    assert "GOOD" in out and "not who signed" in out


def test_load_signing_key_forms(tmp_path):
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    pem = tmp_path / "lab.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    for spec in (raw, Secret(raw), raw.hex(), raw.hex().upper(), str(pem), pem, Secret(pem.read_bytes()),
                 Secret(raw.hex().encode() + b"\n")):
        assert public_key_hex(load_signing_key(spec)) == public_key_hex(key)
    ec = tmp_path / "ec.pem"
    ec.write_bytes(generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    for bad, match in ((raw[:16], "32 raw bytes"), (tmp_path / "none.pem", "neither 64 hex digits"),
                       (ec, "not an Ed25519 key"), (tmp_path / "notes.txt", "expected a PEM private key")):
        with pytest.raises(ConfigError, match=match) as e:
            load_signing_key(bad)
        assert raw.hex() not in str(e.value)
    (tmp_path / "junk.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        load_signing_key(tmp_path / "junk.pem")
