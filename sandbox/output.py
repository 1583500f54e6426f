"""Command output handling shared by every backend: head-and-tail capping and safe decoding."""

from __future__ import annotations

import codecs

DEFAULT_OUTPUT_LIMIT = 64 * 1024
BINARY_SNIFF = 8192
"""A NUL byte in a file's first 8 KiB means binary."""


def decode(data: bytes) -> str:
    """UTF-8 with invalid bytes replaced; NUL bytes (which break JSON consumers and models) shown as U+FFFD."""
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def decode_file(data: bytes, *, final: bool) -> str | None:
    """A file's content as text, or None when it is binary (a NUL byte in its first `BINARY_SNIFF` bytes).

    Invalid UTF-8 becomes U+FFFD; with `final=False` (the content was cut) a multi-byte character cut in half at the
    end is dropped instead of mangled."""
    if b"\x00" in data[:BINARY_SNIFF]:
        return None
    return codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=final).replace("\x00", "\ufffd")


def omitted_marker(count: int) -> str:
    return f"\n[... {count} bytes omitted ...]\n"


class OutputCap:
    """Accumulates a byte stream keeping only its first and last `limit // 2` bytes.

    Memory stays bounded whatever the command prints; `text()` joins head and tail with a marker
    that says how many bytes were cut.
    """

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self._half = max(1, limit // 2)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._half - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk
            if len(self._tail) > self._half:
                del self._tail[: len(self._tail) - self._half]

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + len(self._tail)

    def text(self) -> str:
        if not self.truncated:
            return decode(bytes(self._head + self._tail))
        cut = self.total - len(self._head) - len(self._tail)
        return decode(bytes(self._head)) + omitted_marker(cut) + decode(bytes(self._tail))


def cap_text(text: str, limit: int = DEFAULT_OUTPUT_LIMIT) -> tuple[str, bool]:
    """Cap an already-complete output (e.g. from a remote API) the same way. Returns (text, truncated)."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text, False
    cap = OutputCap(limit)
    cap.feed(data)
    return cap.text(), True
