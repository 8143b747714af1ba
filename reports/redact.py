"""Keep key material out of reports, and prove it stayed out.

`Redactor` scrubs every encoding of the campaign's keys from text before anything is rendered;
`scan_for_secrets` searches produced files for them afterwards (the framework's self-test runs it
on every artefact). Both know the same encodings: raw bytes, hex in any case with or without
separators (space, colon, dash, line break), and base64 (standard and URL-safe, at any alignment
inside a longer base64 text). PDF files are also searched after inflating their compressed streams
and, when poppler's `pdftotext` is installed, in their extracted text.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from osgp.secret import Secret, reveal

if TYPE_CHECKING:
    from osgpct.reports.model import Results

REDACTED = "***"
_SEP = rb"[\s:\-]{0,2}"  # between hex bytes: none, space, colon, dash, CRLF
_MIN_LEN = 4  # shorter "keys" would match everywhere


@dataclass(frozen=True)
class Finding:
    path: Path
    secret: int  # index in the list of secrets searched for
    form: str  # "raw", "hex", "base64"
    where: str  # "file", "pdf stream", "pdf text"
    offset: int  # in the searched representation

    def __str__(self) -> str:
        return f"{self.path}: secret #{self.secret} as {self.form} ({self.where}, offset {self.offset})"


def _patterns(key: bytes) -> list[tuple[str, re.Pattern[bytes]]]:
    if len(key) < _MIN_LEN:
        raise ValueError(f"a secret of {len(key)} bytes is too short to search for (minimum {_MIN_LEN})")
    out = [("raw", re.compile(re.escape(key))),
           ("hex", re.compile(_SEP.join(b"%02x" % b for b in key), re.IGNORECASE))]
    cores: set[bytes] = set()
    for k in range(3):  # the key may start at any byte offset mod 3 of a longer base64 text
        text = base64.b64encode(b"\0" * k + key)
        core = text[(k * 8 + 5) // 6: ((k + len(key)) * 8) // 6]  # chars that depend on the key only
        cores.update({core, core.translate(bytes.maketrans(b"+/", b"-_"))})
    out += [("base64", re.compile(re.escape(c))) for c in sorted(cores)]
    return out


class Redactor:
    """Replaces every known encoding of the given keys with "***"."""

    def __init__(self, secrets: Iterable[Secret | bytes] = ()) -> None:
        self._patterns = [p for s in secrets for _, p in _patterns(reveal(s))]
        self._text = [re.compile(p.pattern.decode("latin-1"), p.flags & re.IGNORECASE) for p in self._patterns
                      if _printable(p.pattern)]

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def text(self, s: str) -> str:
        for p in self._text:
            s = p.sub(REDACTED, s)
        return s

    def data(self, data: object) -> object:
        """JSON-like data (e.g. Results.to_dict()) with every string scrubbed, frames' hex included."""
        return _map_strings(data, self.text) if self else data

    def results(self, results: Results) -> Results:
        """A scrubbed copy of `results`."""
        from osgpct.reports.model import Results

        return Results.from_dict(self.data(results.to_dict()), "redacted results")


def _printable(pattern: bytes) -> bool:
    try:
        pattern.decode("ascii")
    except UnicodeDecodeError:
        return False  # raw keys with non-ASCII bytes cannot occur in str text as such
    return True


def _map_strings(obj: object, fn) -> object:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, list):
        return [_map_strings(v, fn) for v in obj]
    if isinstance(obj, dict):
        return {k: _map_strings(v, fn) for k, v in obj.items()}
    return obj


def _files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    return out


def _pdf_views(data: bytes, path: Path) -> list[tuple[str, bytes]]:
    views = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            views.append(("pdf stream", zlib.decompress(m.group(1))))
        except zlib.error:
            views.append(("pdf stream", m.group(1)))
    exe = shutil.which("pdftotext")
    if exe:
        run = subprocess.run([exe, "-q", str(path), "-"], capture_output=True, timeout=120, check=False)
        views.append(("pdf text", run.stdout))
    return views


def scan_for_secrets(paths: Iterable[str | Path], secrets: Sequence[Secret | bytes]) -> list[Finding]:
    """Every place a secret occurs in the files (directories are searched recursively)."""
    patterns = [_patterns(reveal(s)) for s in secrets]
    findings: list[Finding] = []
    for path in _files(paths):
        data = path.read_bytes()
        views = [("file", data)]
        if data.startswith(b"%PDF"):
            views += _pdf_views(data, path)
        for where, view in views:
            for i, forms in enumerate(patterns):
                for form, pattern in forms:
                    m = pattern.search(view)
                    if m:
                        findings.append(Finding(path, i, form, where, m.start()))
    return _dedup(findings)


def _dedup(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple] = set()
    out = []
    for f in findings:
        key = dataclasses.astuple(f)[:4]
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
