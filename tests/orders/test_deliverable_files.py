"""Deliverables through the pages: uploads, links, and the permission-checked file view."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import Deliverable, Order, OrderEvent
from orders.views.files import ByteRange, RangeNotSatisfiable, parse_range
from tests.orders.factories_pages import (
    MP4_BYTES,
    PNG_BYTES,
    ZIP_BYTES,
    add_file,
    make_order,
    upload,
)

S = Order.Status


def _stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _post_upload(http, order, **data):
    return http.post(reverse("deliverable-create", args=[order.pk]), data)


# --- Uploads through the page -------------------------------------------------------------


def test_mp4_upload_is_accepted_and_versioned(artist_http, artist, settings):
    order = make_order(status=S.IN_PRODUCTION, assignee=artist)

    first = _post_upload(
        artist_http, order, title="Final cut", file=upload("cut.mp4", MP4_BYTES), notes="v1"
    )
    second = _post_upload(artist_http, order, title="Final cut", file=upload("cut2.mp4", MP4_BYTES))

    assert first.status_code == 302
    assert first["Location"] == reverse("order-detail", args=[order.pk]) + "#deliverables"
    assert second.status_code == 302
    v1, v2 = Deliverable.objects.filter(order=order).order_by("version")
    assert (v1.version, v1.kind, v1.content_type, v1.size, v1.original_name, v1.notes) == (
        1,
        Deliverable.Kind.FILE,
        "video/mp4",
        len(MP4_BYTES),
        "cut.mp4",
        "v1",
    )
    assert (v2.version, v2.uploaded_by) == (2, artist)
    assert len(_stored_files(settings)) == 2
    assert [m.message for m in get_messages(second.wsgi_request)][-1] == (
        "“Final cut” version 2 was added."
    )
    assert order.events.filter(kind=OrderEvent.Kind.DELIVERABLE_ADDED).count() == 2


def test_png_named_mp4_is_refused_with_message_and_nothing_saved(owner_http, settings):
    order = make_order(status=S.IN_PRODUCTION)

    response = _post_upload(owner_http, order, title="Final cut", file=upload("cut.mp4", PNG_BYTES))

    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == [
        "The file's content is PNG but its name ends in “.mp4”. Rename it or upload the right file."
    ]
    assert "Rename it or upload the right file." in response.content.decode()
    assert not Deliverable.objects.exists()
    assert not order.events.exists()
    assert _stored_files(settings) == []


def test_oversize_upload_is_refused(owner_http, settings):
    settings.DELIVERABLE_MAX_BYTES = 100
    order = make_order(status=S.IN_PRODUCTION)

    response = _post_upload(owner_http, order, title="Final cut", file=upload("cut.mp4", MP4_BYTES))

    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == [
        "The file is 1.0\xa0KB; the limit is 100\xa0bytes."
    ]
    assert not Deliverable.objects.exists()
    assert _stored_files(settings) == []


def test_unknown_file_type_is_refused(owner_http):
    order = make_order(status=S.IN_PRODUCTION)

    response = _post_upload(
        owner_http, order, title="Script", file=upload("script.txt", b"just some words " * 20)
    )

    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == [
        "This file type is not accepted. Allowed: mp4, mov, webm, png, jpg, pdf, zip."
    ]
    assert not Deliverable.objects.exists()


def test_link_deliverable_through_the_page(owner_http):
    order = make_order(status=S.IN_REVIEW)

    response = _post_upload(
        owner_http, order, title="Review copy", url="https://pan.example.com/s/abc"
    )

    deliverable = Deliverable.objects.get()
    assert response.status_code == 302
    assert (deliverable.kind, deliverable.url, deliverable.version) == (
        Deliverable.Kind.LINK,
        "https://pan.example.com/s/abc",
        1,
    )
    body = owner_http.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert 'href="https://pan.example.com/s/abc"' in body


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "Cut"}, "__all__", "Upload a file or give a link, not both and not neither."),
        (
            {"title": "Cut", "url": "https://x.example.com/a", "file": "MP4"},
            "__all__",
            "Upload a file or give a link, not both and not neither.",
        ),
        ({"title": "", "url": "https://x.example.com/a"}, "title", "This field is required."),
        ({"title": "Cut", "url": "javascript:alert(1)"}, "url", "Enter a valid URL."),
        ({"title": "Cut", "url": "ftp://files.example.com/a"}, "url", "Enter a web link."),
    ],
)
def test_bad_deliverable_input_is_refused(owner_http, data, field, message):
    order = make_order(status=S.IN_PRODUCTION)
    if data.get("file") == "MP4":
        data["file"] = upload("cut.mp4", MP4_BYTES)

    response = _post_upload(owner_http, order, **data)

    assert response.status_code == 400
    assert response.context["upload_form"].errors[field] == [message]
    assert not Deliverable.objects.exists()


def test_closed_order_takes_no_deliverables(owner_http):
    order = make_order(status=S.COMPLETED)

    response = _post_upload(owner_http, order, title="Late", file=upload("cut.mp4", MP4_BYTES))

    assert response.status_code == 400
    assert "A completed or cancelled order takes no new deliverables." in str(
        response.context["upload_form"].non_field_errors()
    )
    assert not Deliverable.objects.exists()
    assert "Add a deliverable" not in response.content.decode()


# --- The file view ----------------------------------------------------------------------------


@pytest.fixture
def video(owner):
    order = make_order(status=S.IN_REVIEW)
    return add_file(order, owner, name="片花 final.mp4")


def _file_url(deliverable, order=None) -> str:
    return reverse("deliverable-file", args=[(order or deliverable.order).pk, deliverable.pk])


def test_file_view_serves_video_inline_with_headers(owner_http, video):
    response = owner_http.get(_file_url(video))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == MP4_BYTES
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(MP4_BYTES))
    assert response["Content-Disposition"] == (
        "inline; filename*=utf-8''%E7%89%87%E8%8A%B1%20final.mp4"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Accept-Ranges"] == "bytes"


def test_file_view_serves_archive_as_attachment(owner_http, owner):
    order = make_order(status=S.IN_REVIEW)
    archive = add_file(order, owner, name="project files.zip", content=ZIP_BYTES, title="Project")

    response = owner_http.get(_file_url(archive))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="project files.zip"'


def test_file_view_answers_a_range_with_206_and_exact_bytes(owner_http, video):
    response = owner_http.get(_file_url(video), headers={"Range": "bytes=100-199"})

    assert response.status_code == 206
    assert b"".join(response.streaming_content) == MP4_BYTES[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(MP4_BYTES)}"
    assert response["Content-Length"] == "100"
    assert response["Content-Type"] == "video/mp4"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=1000-", 1000, None), ("bytes=-24", -24, None), ("bytes=0-", 0, None)],
)
def test_file_view_open_and_suffix_ranges(owner_http, video, header, start, end):
    response = owner_http.get(_file_url(video), headers={"Range": header})

    expected = MP4_BYTES[start:end]
    size = len(MP4_BYTES)
    first = start if start >= 0 else size + start
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == expected
    assert response["Content-Range"] == f"bytes {first}-{size - 1}/{size}"


def test_file_view_answers_416_past_the_end(owner_http, video):
    size = len(MP4_BYTES)

    response = owner_http.get(_file_url(video), headers={"Range": f"bytes={size}-"})

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_file_view_answers_multi_range_with_the_whole_file(owner_http, video):
    response = owner_http.get(_file_url(video), headers={"Range": "bytes=0-1,5-9"})

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == MP4_BYTES


def test_file_view_ignores_range_under_if_range(owner_http, video):
    response = owner_http.get(
        _file_url(video), headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
    )

    assert response.status_code == 200


def test_other_orders_deliverable_under_this_url_is_404(owner_http, owner, video):
    other = make_order(status=S.IN_REVIEW)

    response = owner_http.get(_file_url(video, order=other))

    assert response.status_code == 404


def test_artist_not_assigned_gets_404_and_assigned_gets_the_file(artist_http, artist, owner, video):
    mine = make_order(status=S.IN_PRODUCTION, assignee=artist)
    my_file = add_file(mine, owner)

    assert artist_http.get(_file_url(video)).status_code == 404
    assert artist_http.get(_file_url(my_file)).status_code == 200


def test_link_deliverable_has_no_file_view(owner_http, owner):
    order = make_order(status=S.IN_REVIEW)
    owner_http.post(
        reverse("deliverable-create", args=[order.pk]),
        {"title": "Link", "url": "https://example.com/v"},
    )
    link = Deliverable.objects.get()

    assert owner_http.get(_file_url(link)).status_code == 404


def test_missing_stored_file_is_404(owner_http, video):
    video.file.storage.delete(video.file.name)

    assert owner_http.get(_file_url(video)).status_code == 404


def test_file_view_refuses_post(owner_http, video):
    assert owner_http.post(_file_url(video)).status_code == 405


# --- The range helper ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-0", ByteRange(0, 0)),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-199", ByteRange(100, 199)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-500", ByteRange(500, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=900-5000", ByteRange(900, 999)),
        ("bytes=999-", ByteRange(999, 999)),
        ("BYTES = 10-20", ByteRange(10, 20)),
        ("bytes=0-1,5-9", None),
        ("bytes=20-10", None),
        ("bytes=-", None),
        ("bytes=abc", None),
        ("bytes=1-2-3", None),
        ("bytes=\u0661-\u0662", None),  # non-ASCII digits
        ("items=0-10", None),
        ("bytes 0-10", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_parse_range_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_parse_range_on_empty_file_is_unsatisfiable():
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-10", 0)


def test_byte_range_length():
    assert ByteRange(100, 199).length == 100
