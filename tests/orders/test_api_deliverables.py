"""REST API for an order's deliverables: uploads, links, versions, who may do what."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from orders.models import Deliverable, Order, OrderEvent
from tests.factories import LinkDeliverableFactory
from tests.orders.factories_api import (
    MP4_BYTES,
    PNG_BYTES,
    bearer_client,
    error_of,
    make_order,
    session_client,
)

DELIVERABLE_FIELDS = {
    "id",
    "order",
    "title",
    "version",
    "kind",
    "url",
    "original_name",
    "content_type",
    "size",
    "sha256",
    "notes",
    "created_at",
    "file_url",
}


def _upload(http: APIClient, order: Order, name: str, content: bytes, **fields: str):
    data = {"title": "Final cut", **fields, "file": SimpleUploadedFile(name, content)}
    return http.post(f"/api/orders/{order.pk}/deliverables/", data, format="multipart")


def test_upload_a_video_file(owner, django_capture_on_commit_callbacks):
    order = make_order(status=Order.Status.IN_PRODUCTION)

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(bearer_client(owner), order, "cut v1.mp4", MP4_BYTES, notes="First")

    assert response.status_code == 201
    deliverable = Deliverable.objects.get()
    body = response.json()
    assert set(body) == DELIVERABLE_FIELDS
    assert body["order"] == order.pk
    assert (body["title"], body["version"], body["kind"]) == ("Final cut", 1, "file")
    assert (body["original_name"], body["content_type"], body["size"]) == (
        "cut v1.mp4",
        "video/mp4",
        len(MP4_BYTES),
    )
    assert body["url"] is None
    assert body["notes"] == "First"
    assert body["file_url"] == (
        f"http://testserver/orders/{order.pk}/deliverables/{deliverable.pk}/file/"
    )
    assert response["Location"] == (
        f"http://testserver/api/orders/{order.pk}/deliverables/{deliverable.pk}/"
    )
    # The fingerprint is taken after commit, by a task.
    deliverable.refresh_from_db()
    assert deliverable.sha256 == hashlib.sha256(MP4_BYTES).hexdigest()
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.DELIVERABLE_ADDED).count() == 1


def test_same_title_again_is_the_next_version(owner):
    order = make_order(status=Order.Status.IN_PRODUCTION)
    http = bearer_client(owner)

    _upload(http, order, "cut.mp4", MP4_BYTES)
    second = _upload(http, order, "cut.mp4", MP4_BYTES)

    assert second.status_code == 201
    assert second.json()["version"] == 2


def test_add_a_link_with_json(producer):
    order = make_order()

    response = bearer_client(producer).post(
        f"/api/orders/{order.pk}/deliverables/",
        {"title": "Review copy", "url": "https://pan.example.com/s/abc", "notes": "Password 1234"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["url"], body["file_url"], body["size"]) == (
        "link",
        "https://pan.example.com/s/abc",
        None,
        None,
    )
    assert Deliverable.objects.get().url == "https://pan.example.com/s/abc"


def test_add_a_link_with_multipart(owner):
    order = make_order()

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/deliverables/",
        {"title": "Review copy", "url": "https://example.com/v.mp4"},
        format="multipart",
    )

    assert response.status_code == 201
    assert Deliverable.objects.get().kind == Deliverable.Kind.LINK


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("video.mp4", b"MZ\x90\x00 this is really a program" * 20, "not accepted"),
        ("video.mp4", b"just some text pretending to be a video\n" * 20, "not accepted"),
        ("picture.mp4", PNG_BYTES, "its name ends in"),
        ("empty.mp4", b"", "empty"),
    ],
)
def test_disguised_or_empty_files_are_refused(owner, name, content, message):
    order = make_order()

    response = _upload(bearer_client(owner), order, name, content)

    assert response.status_code == 400
    error = error_of(response)
    assert "file" in error["fields"]
    assert message in error["fields"]["file"][0]
    assert Deliverable.objects.count() == 0
    assert OrderEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Cut"}, "file"),
        ({"url": "https://example.com/a.mp4"}, "title"),
        ({"title": "", "url": "https://example.com/a.mp4"}, "title"),
        ({"title": "Cut", "url": "not a link"}, "url"),
        ({"title": "Cut", "url": "ftp://example.com/a.mp4"}, "url"),
        ({"title": "Cut", "url": "javascript:alert(1)"}, "url"),
        ({"title": "Cut", "file": "not a file"}, "file"),
        ({"title": "x" * 161, "url": "https://example.com/a.mp4"}, "title"),
    ],
)
def test_bad_deliverable_input_is_400_and_saves_nothing(owner, body, field):
    order = make_order()

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/deliverables/", body, format="json"
    )

    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert Deliverable.objects.count() == 0


def test_file_and_link_together_are_refused(owner):
    order = make_order()

    response = _upload(
        bearer_client(owner), order, "cut.mp4", MP4_BYTES, url="https://example.com/a.mp4"
    )

    assert response.status_code == 400
    assert error_of(response)["message"] == (
        "Upload a file or give a link, not both and not neither."
    )
    assert Deliverable.objects.count() == 0


def test_closed_orders_take_no_deliverables(owner):
    order = make_order(status=Order.Status.CANCELLED)

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/deliverables/",
        {"title": "Cut", "url": "https://example.com/a.mp4"},
        format="json",
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert Deliverable.objects.count() == 0


def test_list_and_retrieve_newest_first(owner):
    order = make_order()
    first = LinkDeliverableFactory(order=order, title="Cut", version=1)
    second = LinkDeliverableFactory(order=order, title="Cut", version=2)
    LinkDeliverableFactory()  # another order's
    http = bearer_client(owner)

    listed = http.get(f"/api/orders/{order.pk}/deliverables/").json()
    detail = http.get(f"/api/orders/{order.pk}/deliverables/{first.pk}/")

    assert [row["id"] for row in listed["results"]] == [second.pk, first.pk]
    assert detail.status_code == 200
    assert set(detail.json()) == DELIVERABLE_FIELDS
    assert detail.json()["version"] == 1


def test_a_deliverable_is_only_found_under_its_own_order(owner):
    order = make_order()
    elsewhere = LinkDeliverableFactory()

    response = bearer_client(owner).get(f"/api/orders/{order.pk}/deliverables/{elsewhere.pk}/")

    assert response.status_code == 404


def test_missing_order_is_404(owner):
    response = bearer_client(owner).get("/api/orders/987654/deliverables/")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("persona", "own", "other"),
    [
        ("owner", 200, 200),
        ("producer", 200, 200),
        ("artist", 200, 404),
        ("outsider", 403, 403),
        ("anonymous", 401, 401),
    ],
)
def test_deliverable_list_by_role(request, artist, persona, own, other):
    mine = make_order(assignee=artist)
    theirs = make_order()
    LinkDeliverableFactory(order=mine)
    LinkDeliverableFactory(order=theirs)
    http = (
        APIClient() if persona == "anonymous" else bearer_client(request.getfixturevalue(persona))
    )

    assert http.get(f"/api/orders/{mine.pk}/deliverables/").status_code == own
    assert http.get(f"/api/orders/{theirs.pk}/deliverables/").status_code == other


def test_artist_adds_deliverables_to_their_own_order(artist):
    order = make_order(assignee=artist, status=Order.Status.IN_PRODUCTION)

    response = _upload(session_client(artist), order, "cut.mp4", MP4_BYTES)

    assert response.status_code == 201
    assert Deliverable.objects.get().uploaded_by == artist


def test_artist_cannot_add_to_orders_of_others(artist):
    order = make_order(status=Order.Status.IN_PRODUCTION)

    response = _upload(bearer_client(artist), order, "cut.mp4", MP4_BYTES)

    assert response.status_code == 404
    assert Deliverable.objects.count() == 0


@pytest.mark.parametrize(("persona", "status"), [("outsider", 403), ("anonymous", 401)])
def test_strangers_cannot_add_deliverables(request, db, persona, status):
    order = make_order()
    http = (
        APIClient() if persona == "anonymous" else bearer_client(request.getfixturevalue(persona))
    )

    response = _upload(http, order, "cut.mp4", MP4_BYTES)

    assert response.status_code == status
    assert Deliverable.objects.count() == 0


@pytest.mark.parametrize("rows", [5, 60])
def test_deliverable_list_queries_do_not_grow_with_rows(
    owner, studio_profile, django_assert_max_num_queries, rows
):
    order = make_order()
    for version in range(1, rows + 1):
        LinkDeliverableFactory(order=order, title="Cut", version=version)
    http = bearer_client(owner)

    # profile, token, token's last use, role, the order, count, page
    with django_assert_max_num_queries(7):
        response = http.get(f"/api/orders/{order.pk}/deliverables/?page_size=100")

    assert len(response.json()["results"]) == rows
