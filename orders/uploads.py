"""Checks on uploaded deliverable files: the type is read from the content, not the name."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from studio.errors import InvalidInput

# Detected type -> (stored extension, content type, extensions a file of it may be named)
ALLOWED: dict[str, tuple[str, str, frozenset[str]]] = {
    "mp4": ("mp4", "video/mp4", frozenset({"mp4", "m4v", "mov"})),
    "mov": ("mov", "video/quicktime", frozenset({"mov", "mp4", "qt"})),
    "webm": ("webm", "video/webm", frozenset({"webm"})),
    "png": ("png", "image/png", frozenset({"png"})),
    "jpg": ("jpg", "image/jpeg", frozenset({"jpg", "jpeg"})),
    "pdf": ("pdf", "application/pdf", frozenset({"pdf"})),
    "zip": ("zip", "application/zip", frozenset({"zip"})),
}
ALLOWED_NAMES = "mp4, mov, webm, png, jpg, pdf, zip"


@dataclass(frozen=True)
class CheckedUpload:
    stored_name: str
    content_type: str
    original_name: str
    size: int


def clean_original_name(name: str) -> str:
    """The client's file name without any directory part or control characters."""
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:200] or "file"


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Validate size and real type; raise InvalidInput with a specific message."""
    max_bytes = settings.DELIVERABLE_MAX_BYTES
    size = upload.size or 0
    original = clean_original_name(upload.name or "")
    if size == 0:
        raise InvalidInput(_("The file is empty."), fields={"file": [_("The file is empty.")]})
    if size > max_bytes:
        message = _("The file is %(size)s; the limit is %(limit)s.") % {
            "size": filesizeformat(size),
            "limit": filesizeformat(max_bytes),
        }
        raise InvalidInput(message, fields={"file": [message]})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    detected = kind.extension if kind else None
    if detected == "m4v":
        detected = "mp4"
    if detected not in ALLOWED:
        message = _("This file type is not accepted. Allowed: %(allowed)s.") % {
            "allowed": ALLOWED_NAMES
        }
        raise InvalidInput(message, fields={"file": [message]})
    stored_ext, content_type, names = ALLOWED[detected]
    _stem, dot, ext = original.rpartition(".")
    ext = ext.lower() if dot else ""
    if ext not in names:
        message = _(
            "The file's content is %(detected)s but its name ends in “.%(ext)s”. "
            "Rename it or upload the right file."
        ) % {"detected": detected.upper(), "ext": ext or "?"}
        raise InvalidInput(message, fields={"file": [message]})
    return CheckedUpload(
        stored_name=f"{secrets.token_hex(16)}.{stored_ext}",
        content_type=content_type,
        original_name=original,
        size=size,
    )
