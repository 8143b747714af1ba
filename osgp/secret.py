"""Key material that never prints itself."""

from __future__ import annotations


class Secret:
    """Wraps key bytes so `repr`, `str`, f-strings and logging show `***`.

    Use `.reveal()` at the one place the bytes are needed (digest, cipher).
    """

    __slots__ = ("_value", "name")

    def __init__(self, value: bytes, name: str = "key") -> None:
        if not isinstance(value, bytes | bytearray):
            raise TypeError("Secret holds bytes")
        self._value = bytes(value)
        self.name = name

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.name}, {len(self._value)} bytes, ***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # never pickle keys into artefacts by accident
        raise TypeError("Secret cannot be pickled")


def reveal(key: Secret | bytes) -> bytes:
    """Accept either a Secret or raw bytes (tests and vectors)."""
    return key.reveal() if isinstance(key, Secret) else bytes(key)
