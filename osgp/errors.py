"""Typed errors shared by every layer.

Every decoder raises a subclass of :class:`DecodeError` naming the field and the byte
offset, so a lab engineer can find the fault in a hex dump without reading our code.
"""

from __future__ import annotations


class OsgpError(Exception):
    """Base of every error the suite raises on purpose."""


class DecodeError(OsgpError, ValueError):
    """Malformed input: names the layer, the field and the byte offset."""

    def __init__(self, layer: str, field: str, offset: int, message: str) -> None:
        self.layer = layer
        self.field = field
        self.offset = offset
        self.detail = message
        super().__init__(f"{layer}: field '{field}' at byte {offset}: {message}")


class EncodeError(OsgpError, ValueError):
    """A value cannot be encoded in the field it is meant for."""


class SecurityError(OsgpError):
    """A digest, tag or decryption did not verify."""


class TimeoutError_(OsgpError):  # noqa: N801 - avoids shadowing the builtin
    """No answer within the bound."""


DeviceTimeout = TimeoutError_


class DutProtocolError(OsgpError):
    """The DUT's answer breaks the protocol (does not authenticate, does not decode). Raised by the
    session; a test case that lets it escape gets FAIL, because the fault is the DUT's, not ours."""


class NotJudged(OsgpError):
    """The test harness cannot do what a case needs on this transport (INCONC: not judged, not failed)."""


class WaitBudgetExceeded(NotJudged):
    """A test case needs more real DUT time than the campaign allows."""


class ConfigError(OsgpError):
    """Bad configuration: test plan, target URL, key file. Exit status 3 from the CLI."""


class TransportError(OsgpError):
    """A driver could not move a frame (port vanished, connection refused, ...)."""
