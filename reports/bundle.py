"""The evidence bundle: a signed manifest of every artefact of a campaign, checkable offline.

Order at the end of a campaign (see `reports.finish_campaign`):
    1. choose the key (the lab's from the plan, else a fresh one) and put its public half in
       results.campaign.public_key, so the PCTR prints it;
    2. write every artefact (results.json, PCTR, JUnit, pytest-html, allure, trace.pcap);
    3. `write_manifest(out_dir, key)` last: SHA-256 of every file, then the Ed25519 signature.

manifest.json (schema "osgpct-manifest/1") lists files sorted by POSIX path with size and SHA-256;
manifest.sig holds the raw 64-byte Ed25519 signature of manifest.json's exact bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from osgp.errors import ConfigError
from osgp.secret import Secret

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
SCHEMA = "osgpct-manifest/1"
EXIT_GOOD, EXIT_TAMPERED, EXIT_UNUSABLE = 0, 1, 3


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _hex64(data: bytes) -> bool:
    return len(data) == 64 and all(ch in b"0123456789abcdefABCDEF" for ch in data)


def load_signing_key(spec: str | Path | bytes | Secret) -> Ed25519PrivateKey:
    """The lab key: key material (a Secret or bytes holding PEM, 32 raw bytes or 64 hex digits, as the
    plan's `lab.signing_key` gives it), or a str/Path naming a PEM file; a str of 64 hex digits is the key.

    Errors never quote the key material.
    """
    if isinstance(spec, Secret):
        spec = spec.reveal()
    where = "lab signing key"
    if isinstance(spec, bytes):
        data = spec
    elif _hex64(str(spec).strip().encode()):
        data = str(spec).strip().encode()
    else:
        where = f"lab signing key {spec}"
        try:
            data = Path(spec).read_bytes()
        except OSError as e:
            raise ConfigError(f"lab signing key: neither 64 hex digits nor a readable PEM file ({spec}: "
                              f"{e.strerror or e})") from None
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    if _hex64(data.strip()):
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(data.strip().decode()))
    if b"-----BEGIN" not in data:
        raise ConfigError(f"{where}: expected a PEM private key, 32 raw bytes or 64 hex digits "
                          f"(got {len(data)} bytes of something else)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{where}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        kind = type(key).__name__.removeprefix("_")
        raise ConfigError(f"{where}: {kind} is not an Ed25519 key")
    return key


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _artefacts(root: Path) -> list[str]:
    """Every file under root except the manifest and its signature, as sorted POSIX paths."""
    names = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(n for n in names if n not in (MANIFEST, SIGNATURE))


def _results_public_key(root: Path) -> str | None:
    try:
        data = json.loads((root / "results.json").read_text(encoding="utf-8"))
        return data["campaign"]["public_key"] or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(out_dir: str | Path, signing_key: Ed25519PrivateKey | None = None,
                   key_source: Literal["lab", "generated"] | None = None) -> Path:
    """Hash every artefact in out_dir, write manifest.json and sign it into manifest.sig. Call it last.

    Refuses (ConfigError) when results.json names a different public key than the one signing.
    """
    root = Path(out_dir)
    if not root.is_dir():
        raise ConfigError(f"evidence bundle: {root} is not a directory")
    key = signing_key or generate_key()
    pub = public_key_hex(key)
    named = _results_public_key(root)
    if named and named != pub:
        raise ConfigError(f"evidence bundle {root}: results.json names public key {named} but the manifest "
                          f"would be signed with {pub}; render the reports with the signing key's public key")
    files = [{"path": n, "size": (root / n).stat().st_size, "sha256": sha256_file(root / n)}
             for n in _artefacts(root)]
    manifest = {"schema": SCHEMA, "hash": "sha256", "signature": "ed25519", "public_key": pub,
                "key_source": key_source or ("lab" if signing_key else "generated"), "files": files}
    data = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    (root / MANIFEST).write_bytes(data)
    (root / SIGNATURE).write_bytes(key.sign(data))
    return root / MANIFEST


@dataclass
class VerifyResult:
    directory: Path
    problem: str = ""  # why the bundle cannot be checked at all (unusable)
    signature_ok: bool = False
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    key_problems: list[str] = field(default_factory=list)
    public_key: str = ""
    key_source: str = ""
    checked: int = 0

    @property
    def status(self) -> Literal["GOOD", "TAMPERED", "UNUSABLE"]:
        if self.problem:
            return "UNUSABLE"
        bad = not self.signature_ok or self.changed or self.missing or self.added or self.key_problems
        return "TAMPERED" if bad else "GOOD"

    @property
    def ok(self) -> bool:
        return self.status == "GOOD"

    @property
    def exit_code(self) -> int:
        return {"GOOD": EXIT_GOOD, "TAMPERED": EXIT_TAMPERED, "UNUSABLE": EXIT_UNUSABLE}[self.status]

    def lines(self) -> list[str]:
        head = f"evidence bundle {self.directory}: {self.status}"
        if self.problem:
            return [f"{head}: {self.problem}"]
        out = [head]
        out += [f"  changed: {n}" for n in self.changed]
        out += [f"  missing: {n}" for n in self.missing]
        out += [f"  added (not in the manifest): {n}" for n in self.added]
        out += [f"  key: {p}" for p in self.key_problems]
        if not self.signature_ok:
            out.append(f"  signature: INVALID ({SIGNATURE} does not sign {MANIFEST} with its public key)")
        elif self.ok:
            out.append(f"  {self.checked} files match {MANIFEST}; signature valid")
        source = ("lab key" if self.key_source == "lab" else
                  "key generated for the campaign: proves integrity since signing, not who signed")
        out.append(f"  Ed25519 public key {self.public_key} ({source}); compare it with the one in the PCTR "
                   "and, for a lab key, with the key the lab publishes")
        return out


def verify(directory: str | Path, expected_public_key: str | None = None) -> VerifyResult:
    """Check a bundle offline: every listed file present and unchanged, nothing added, signature valid."""
    root = Path(directory)
    res = VerifyResult(root)
    if not root.is_dir():
        res.problem = "no such directory"
        return res
    try:
        data = (root / MANIFEST).read_bytes()
    except OSError:
        res.problem = f"no {MANIFEST}: not an evidence bundle (or the manifest was deleted)"
        return res
    try:
        signature = (root / SIGNATURE).read_bytes()
    except OSError:
        res.problem = f"{SIGNATURE} is missing: the manifest cannot be authenticated"
        return res
    try:
        manifest = json.loads(data)
        if manifest.get("schema") != SCHEMA:
            raise ValueError(f"schema {manifest.get('schema')!r}, expected {SCHEMA!r}")
        res.public_key = str(manifest["public_key"])
        res.key_source = str(manifest.get("key_source", ""))
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(res.public_key))
        entries = {str(e["path"]): str(e["sha256"]) for e in manifest["files"]}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        res.problem = f"{MANIFEST} is malformed ({e})"
        return res
    try:
        public.verify(signature, data)
        res.signature_ok = True
    except InvalidSignature:
        res.signature_ok = False
    on_disk = set(_artefacts(root))
    real_root = root.resolve()
    for name, digest in sorted(entries.items()):
        path = root / name
        if not path.resolve().is_relative_to(real_root):  # a forged entry must not read outside the bundle
            res.changed.append(f"{name} (path outside the bundle)")
        elif name not in on_disk:
            res.missing.append(name)
        elif sha256_file(path) != digest:
            res.changed.append(name)
        else:
            res.checked += 1
    res.added = sorted(on_disk - set(entries))
    named = _results_public_key(root)
    if named and named != res.public_key:
        res.key_problems.append(f"results.json names public key {named}, the manifest is signed with another")
    if expected_public_key and expected_public_key.lower() != res.public_key.lower():
        res.key_problems.append(f"signed with {res.public_key}, expected {expected_public_key}")
    return res


def cli_verify(directory: Path, expected_public_key: str | None = None) -> int:
    """`osgpct verify DIR`: exit 0 good, 1 tampered, 3 unusable."""
    res = verify(directory, expected_public_key)
    stream = sys.stderr if res.status == "UNUSABLE" else sys.stdout
    print("\n".join(res.lines()), file=stream)
    return res.exit_code
