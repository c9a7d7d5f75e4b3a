"""Upload checks read the real type from the content and choose the stored name."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.uploads import check_upload, clean_original_name
from studio.errors import InvalidInput

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 64
WEBM = (
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
    + b"\x00" * 32
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32
ZIP = b"PK\x03\x04" + b"\x00" * 40
EXE = b"MZ\x90\x00" + b"\x00" * 60


@pytest.mark.parametrize(
    ("name", "content", "content_type", "ext"),
    [
        ("final.mp4", MP4, "video/mp4", "mp4"),
        ("final.MOV", MOV, "video/quicktime", "mov"),
        ("teaser.webm", WEBM, "video/webm", "webm"),
        ("still.png", PNG, "image/png", "png"),
        ("still.jpeg", JPG, "image/jpeg", "jpg"),
        ("brief.pdf", PDF, "application/pdf", "pdf"),
        ("project.zip", ZIP, "application/zip", "zip"),
    ],
)
def test_accepted_types_are_recognised_by_content(name, content, content_type, ext):
    checked = check_upload(SimpleUploadedFile(name, content))
    assert checked.content_type == content_type
    assert checked.stored_name.endswith("." + ext)
    assert len(checked.stored_name) == 32 + 1 + len(ext)
    assert checked.original_name == name
    assert checked.size == len(content)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("clip.mp4", PNG, "PNG"),
        ("clip.mp4", EXE, "not accepted"),
        ("invoice.pdf", ZIP, "ZIP"),
        ("script.sh", b"#!/bin/sh\nrm -rf /\n", "not accepted"),
        ("still.png", JPG, "JPG"),
        ("noext", MP4, "?"),
    ],
)
def test_disguised_or_unknown_types_are_refused(name, content, needle):
    with pytest.raises(InvalidInput) as refused:
        check_upload(SimpleUploadedFile(name, content))
    assert needle in refused.value.message
    assert "file" in refused.value.fields


def test_oversize_is_refused_with_the_limit(settings):
    settings.DELIVERABLE_MAX_BYTES = 100
    with pytest.raises(InvalidInput) as refused:
        check_upload(SimpleUploadedFile("big.mp4", MP4 + b"\x00" * 200))
    assert "limit is 100" in refused.value.message


def test_empty_file_is_refused():
    with pytest.raises(InvalidInput, match="empty"):
        check_upload(SimpleUploadedFile("empty.mp4", b""))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("..\\..\\windows\\cut.mp4", "cut.mp4"),
        ("/abs/path/cut.mp4", "cut.mp4"),
        ("成片 v2.mp4", "成片 v2.mp4"),
        ("bad\x00name\n.mp4", "badname.mp4"),
        ("", "file"),
    ],
)
def test_path_like_names_keep_only_the_base_name(raw, clean):
    assert clean_original_name(raw) == clean


def test_path_like_upload_is_stored_under_a_random_name():
    checked = check_upload(SimpleUploadedFile("../../../../tmp/evil.mp4", MP4))
    assert "/" not in checked.stored_name
    assert ".." not in checked.stored_name
    assert checked.original_name == "evil.mp4"
