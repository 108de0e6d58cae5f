"""moto's S3 server, except that a ranged GET reads only its range from moto's storage.

moto answers a GET with a Range header by reading the whole object and slicing the copy: a 1-byte
range of a 200 MB object costs ~0.4 s, so a bytes-mode hop at a small timeout measured moto, not
the handler (S3 charges a range by its length). Here `get_object` hands moto's own range code a
window over the stored object instead of the copy; moto still does everything else (conditional
requests, ETags, versions, 304/412/416, headers), so only the cost changes.

Run as `python -m devtools.moto_ranges -H 127.0.0.1 -p PORT` (moto_server's arguments).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.s3 import models, responses

_FULL_VALUE = models.FakeKey.value  # moto's property: reads and copies the whole object
_GET_OBJECT = responses.S3Response.get_object
_KEY_RESPONSE = responses.S3Response.key_response
_windowed = threading.local()  # set while a ranged get_object runs on this server thread
_streaming = [True]


class Window:
    """What moto's range code needs of an object's bytes (len and a slice), read on demand."""

    def __init__(self, key: Any, stream: bool) -> None:
        self._key = key
        self._size = int(key.size)
        self._stream = stream

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, part: slice) -> Stream | bytes:
        start, stop, step = part.indices(self._size)
        assert step == 1, "moto slices ranges contiguously"
        piece = Stream(self._key, start, max(start, stop))
        return piece if self._stream else b"".join(piece)


class Stream:
    """One range of a stored object, read piece by piece while the server sends it: S3 streams a
    GET, so a reader that opens `bytes=N-` and stops early pays for what it read, not the rest."""

    PIECE = 256 * 1024

    def __init__(self, key: Any, start: int, stop: int) -> None:
        self._key, self._start, self._stop = key, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __bool__(self) -> bool:
        return True  # moto asks `if body` before it sets a content type; an empty range is a body too

    def __iter__(self) -> Iterator[bytes]:
        pos = self._start
        while pos < self._stop:
            with self._key.lock:
                buf = self._key._value_buffer
                buf.seek(pos)
                piece = bytes(buf.read(min(self.PIECE, self._stop - pos)))
            if not piece:
                return
            pos += len(piece)
            yield piece


def _value(key: Any) -> Any:
    if getattr(_windowed, "on", False):
        return Window(key, _streaming[0])
    return _FULL_VALUE.fget(key)  # type: ignore[attr-defined]


def _get_object(self: Any) -> Any:
    _windowed.on = bool(self.headers.get("range"))
    try:
        return _GET_OBJECT(self)
    finally:
        _windowed.on = False


def _key_response(self: Any, request: Any, full_url: str, headers: Any) -> Any:
    status, out_headers, body = _KEY_RESPONSE(self, request, full_url, headers)
    if isinstance(body, Window):  # a Range moto served whole (several ranges, bad syntax)
        body = body[:]
    return status, out_headers, body


def install(stream: bool = True) -> None:
    """`stream=False` answers ranges as bytes: moto's in-process mock (mock_aws) needs bytes."""
    _streaming[0] = stream
    models.FakeKey.value = property(_value, _FULL_VALUE.fset)  # type: ignore[method-assign,assignment,attr-defined]
    responses.S3Response.get_object = _get_object  # type: ignore[method-assign]
    responses.S3Response.key_response = _key_response  # type: ignore[method-assign]


def uninstall() -> None:
    models.FakeKey.value = _FULL_VALUE  # type: ignore[method-assign]
    responses.S3Response.get_object = _GET_OBJECT  # type: ignore[method-assign]
    responses.S3Response.key_response = _KEY_RESPONSE  # type: ignore[method-assign]


@contextmanager
def installed(stream: bool = False) -> Iterator[None]:
    """For tests that compare with plain moto in one process."""
    install(stream)
    try:
        yield
    finally:
        uninstall()


def main(argv: list[str]) -> None:
    from moto import server

    install()
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
