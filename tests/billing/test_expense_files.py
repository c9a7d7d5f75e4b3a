"""Tiny real files for the receipt upload tests (the type is read from the content),
imported by the other expense and cost tests."""

from __future__ import annotations

import base64

from django.core.files.uploadedfile import SimpleUploadedFile

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_the_sample_files_are_what_their_content_says():
    import filetype

    assert [filetype.guess(data).extension for data in (PNG, JPEG, PDF)] == ["png", "jpg", "pdf"]
