"""Serving stored deliverable files, with HTTP Range support so video seeking works."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from orders import selectors
from orders.views.access import member_required

INLINE_TYPES = ("video/", "image/", "application/pdf")
_RANGE_SPEC = re.compile(r"(\d*)-(\d*)", re.ASCII)


class RangeNotSatisfiable(Exception):
    """The Range header asks only for bytes past the end of the file (answer 416)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, or None to answer with the whole file.

    Follows RFC 9110 section 14: a header we do not understand (another unit, bad
    syntax, several ranges) is ignored; a valid range that starts past the end of the
    file raises RangeNotSatisfiable.
    """
    if not header:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    match = _RANGE_SPEC.fullmatch(spec.strip())
    if match is None:  # includes multi-range requests ("0-1,5-9"): the full file is fine
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(start, end)


class _RangeReader:
    """A read-only view of length bytes of handle from start (closing closes handle)."""

    def __init__(self, handle: IO[bytes], start: int, length: int):
        self._handle = handle
        self._remaining = length
        handle.seek(start)

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        chunk = self._handle.read(want)
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._handle.close()


def is_inline_type(content_type: str) -> bool:
    return content_type.startswith(INLINE_TYPES)


def serve_stored_file(
    request: HttpRequest, stored: FieldFile, *, content_type: str, filename: str
) -> HttpResponseBase:
    """Stream a stored file (already permission-checked), honouring a single Range."""
    if not stored.name:
        raise Http404
    try:
        handle = stored.storage.open(stored.name, "rb")
        size = handle.size
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    content_type = content_type or "application/octet-stream"
    as_attachment = not is_inline_type(content_type)
    # A client sending If-Range holds a validator we never issued: send the whole file.
    header = None if request.headers.get("If-Range") else request.headers.get("Range")
    try:
        byte_range = parse_range(header, size)
    except RangeNotSatisfiable:
        handle.close()
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        if byte_range is None:
            response = FileResponse(
                handle, content_type=content_type, as_attachment=as_attachment, filename=filename
            )
        else:
            response = FileResponse(
                _RangeReader(handle, byte_range.start, byte_range.length),
                status=206,
                content_type=content_type,
                as_attachment=as_attachment,
                filename=filename,
            )
            response["Content-Length"] = str(byte_range.length)
            response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=0"
    return response


@member_required
@require_safe
def deliverable_file(request: HttpRequest, pk: int, did: int) -> HttpResponseBase:
    """The stored file of a deliverable, for users who can see its order (404 otherwise)."""
    deliverable = selectors.access_file_deliverable(request.user, pk, did)
    return serve_stored_file(
        request,
        deliverable.file,
        content_type=deliverable.content_type,
        filename=deliverable.original_name or "file",
    )
