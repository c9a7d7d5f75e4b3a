"""The client's page behind a secret link: isolation, actions, rotation, language."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from orders import portal, services
from orders.models import ClientAction, Order, OrderEvent, ReviewComment
from orders.portal_tokens import digest_of
from studio.errors import NotPermitted
from studio.models import Notification
from tests.factories import ClientFactory, OrderFactory

S = Order.Status
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 8
KEY = "k" * 32
CSRF = "c" * 43


class PortalHttp(HttpClient):
    """A browser that has opened the portal page: it holds the portal's CSRF cookie and
    sends it back in every form, as the page's forms do."""

    def __init__(self, **defaults):
        super().__init__(**defaults)
        self.cookies["reeldesk_portal_csrf"] = CSRF

    def post(self, path, data=None, **extra):
        return super().post(path, {**(data or {}), "csrf": CSRF}, **extra)


@pytest.fixture
def quoted(owner, studio_profile):
    order = OrderFactory(
        status=S.QUOTED, client=ClientFactory(language="en"), brief="Two 15 s cuts"
    )
    link = portal.rotate_link(actor=owner, order=order)
    return order, link


@pytest.fixture
def in_review(owner, artist, studio_profile, django_capture_on_commit_callbacks):
    order = OrderFactory(
        status=S.IN_REVIEW,
        client=ClientFactory(language="zh-hans"),
        assignee=artist,
        revision_rounds_included=1,
    )
    deliverable = services.add_deliverable(
        actor=owner, order=order, title="Final cut", upload=SimpleUploadedFile("final.mp4", MP4)
    )
    link = portal.rotate_link(actor=owner, order=order)
    return order, link, deliverable


def page(link) -> str:
    return reverse("portal", args=[link.token])


def act(link, name: str) -> str:
    return reverse(f"portal-{name}", args=[link.token])


@pytest.mark.django_db
def test_token_is_256_bits_and_only_its_hash_is_looked_up(quoted):
    _order, link = quoted
    assert len(link.token) == 43  # 32 bytes, url-safe base64
    assert link.digest == digest_of(link.token)
    assert link.token not in (link.nonce, link.digest)


@pytest.mark.django_db
def test_portal_page_shows_the_order_and_sends_private_headers(quoted):
    order, link = quoted
    response = PortalHttp().get(page(link))
    assert response.status_code == 200
    body = response.content.decode()
    assert order.reference in body
    assert order.title in body
    assert "¥1,500.00" in body
    assert "Two 15 s cuts" in body
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_internal_notes_never_show_on_the_portal(quoted, owner):
    order, link = quoted
    services.add_note(actor=owner, order=order, text="Client is slow to pay — ask for deposit")
    body = PortalHttp().get(page(link)).content.decode()
    assert "slow to pay" not in body


@pytest.mark.django_db
def test_accepting_the_quote_records_name_sets_due_date_and_notifies(quoted, owner):
    order, link = quoted
    http = PortalHttp()
    response = http.post(act(link, "accept"), {"name": "Wang Fang", "key": KEY}, follow=True)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == S.ACCEPTED
    assert order.due_at is not None
    action = ClientAction.objects.get(order=order)
    assert (action.kind, action.name) == (ClientAction.Kind.ACCEPTED_QUOTE, "Wang Fang")
    event = order.events.get(kind=OrderEvent.Kind.STATUS_CHANGED)
    assert event.actor is None
    assert "Wang Fang" in event.actor_label
    assert Notification.objects.filter(user=owner, kind="client.accepted_quote").count() == 1


@pytest.mark.django_db
def test_double_submit_records_one_acceptance(quoted):
    order, link = quoted
    http = PortalHttp()
    http.post(act(link, "accept"), {"name": "Wang Fang", "key": KEY})
    again = http.post(act(link, "accept"), {"name": "Wang Fang", "key": KEY}, follow=True)
    assert again.status_code == 200
    assert ClientAction.objects.filter(order=order).count() == 1
    assert order.events.filter(kind=OrderEvent.Kind.STATUS_CHANGED).count() == 1


@pytest.mark.django_db
def test_accepting_twice_with_a_fresh_form_is_refused_with_a_message(quoted):
    order, link = quoted
    http = PortalHttp()
    http.post(act(link, "accept"), {"name": "Wang Fang", "key": KEY})
    again = http.post(act(link, "accept"), {"name": "Wang Fang", "key": "x" * 32}, follow=True)
    assert "no longer open" in again.content.decode()
    assert ClientAction.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_accept_without_a_name_changes_nothing(quoted):
    order, link = quoted
    response = PortalHttp().post(act(link, "accept"), {"name": " ", "key": KEY}, follow=True)
    assert "Type your name" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.QUOTED
    assert not ClientAction.objects.exists()


@pytest.mark.django_db
def test_declining_sends_the_order_back_to_inquiry_with_the_reason(quoted):
    order, link = quoted
    PortalHttp().post(act(link, "decline"), {"reason": "Over budget", "key": KEY})
    order.refresh_from_db()
    assert order.status == S.INQUIRY
    assert ClientAction.objects.get().comment == "Over budget"


@pytest.mark.django_db
def test_approve_marks_delivered_and_records_the_version(in_review, owner, artist):
    order, link, deliverable = in_review
    PortalHttp().post(act(link, "approve"), {"key": KEY, "deliverable": deliverable.pk})
    order.refresh_from_db()
    deliverable.refresh_from_db()
    assert order.status == S.DELIVERED
    assert deliverable.approved_at is not None
    notified = set(
        Notification.objects.filter(kind="client.approved").values_list("user__username", flat=True)
    )
    assert notified == {owner.username, artist.username}


@pytest.mark.django_db
def test_double_clicked_approve_records_one_approval(in_review):
    order, link, deliverable = in_review
    http = PortalHttp()
    for _ in range(3):
        http.post(act(link, "approve"), {"key": KEY, "deliverable": deliverable.pk})
    assert ClientAction.objects.filter(kind=ClientAction.Kind.APPROVED).count() == 1
    assert order.events.filter(to_status=S.DELIVERED).count() == 1


@pytest.mark.django_db
def test_revision_with_timecodes_and_extra_round_marking(in_review):
    order, link, deliverable = in_review
    http = PortalHttp()
    comment = "01:23 logo too small\n2:05 - music too loud\nand fade out earlier\nOverall nice"
    http.post(
        act(link, "revision"), {"comment": comment, "key": KEY, "deliverable": deliverable.pk}
    )
    order.refresh_from_db()
    assert order.status == S.REVISION
    assert order.revision_rounds_used == 1
    first = ClientAction.objects.get()
    assert first.extra_round is False
    comments = list(ReviewComment.objects.values_list("timecode_seconds", "body"))
    assert comments == [
        (83, "logo too small"),
        (125, "music too loud\nand fade out earlier\nOverall nice"),
    ]
    body = http.get(page(link)).content.decode()
    assert 'data-seek="83"' in body
    assert "01:23" in body

    # The studio sends a new version; the client asks again: past the one included round.
    services.apply_transition(order=order, to_status=S.IN_PRODUCTION)
    services.apply_transition(order=order, to_status=S.IN_REVIEW)
    page_now = http.get(page(link)).content.decode()
    assert "extra round" in page_now or "额外" in page_now
    http.post(act(link, "revision"), {"comment": "00:10 still too small", "key": "y" * 32})
    second = ClientAction.objects.latest("created_at")
    assert second.extra_round is True
    order.refresh_from_db()
    assert order.revision_rounds_used == 2


def test_comment_parser_handles_plain_and_bracketed_timecodes():
    assert portal.parse_comments("[00:05] cut here\nno time") == [(5, "cut here\nno time")]
    assert portal.parse_comments("general note\n10:00 end") == [
        (None, "general note"),
        (600, "end"),
    ]
    assert portal.parse_comments("99:99 not a time") == [(None, "99:99 not a time")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "name", "data"),
    [
        (S.CANCELLED, "approve", {}),
        (S.CANCELLED, "revision", {"comment": "more"}),
        (S.ACCEPTED, "accept", {"name": "A"}),
        (S.IN_PRODUCTION, "approve", {}),
        (S.COMPLETED, "revision", {"comment": "more"}),
        (S.INQUIRY, "decline", {"reason": "no"}),
    ],
)
def test_actions_in_the_wrong_state_change_nothing(owner, studio_profile, status, name, data):
    order = OrderFactory(status=status)
    link = portal.rotate_link(actor=owner, order=order)
    response = PortalHttp().post(act(link, name), {**data, "key": KEY}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == page(link)
    order.refresh_from_db()
    assert order.status == status
    assert not ClientAction.objects.exists()
    assert not order.events.filter(kind=OrderEvent.Kind.STATUS_CHANGED).exists()


@pytest.mark.django_db
def test_rotating_kills_the_old_link_at_once(quoted, owner):
    order, old = quoted
    new = portal.rotate_link(actor=owner, order=order)
    http = PortalHttp()
    assert http.get(page(old)).status_code == 404
    assert http.get(page(new)).status_code == 200
    assert http.post(act(old, "accept"), {"name": "X", "key": KEY}).status_code == 404
    order.refresh_from_db()
    assert order.status == S.QUOTED


@pytest.mark.django_db
def test_disabled_unknown_and_rotated_links_look_the_same(quoted, owner):
    order, link = quoted
    http = PortalHttp()
    rotated = link
    portal.rotate_link(actor=owner, order=order)
    other = OrderFactory(status=S.QUOTED)
    disabled = portal.rotate_link(actor=owner, order=other)
    assert portal.disable_link(actor=owner, order=other) is True
    assert portal.disable_link(actor=owner, order=other) is False
    unknown = http.get(reverse("portal", args=["A" * 43]))
    malformed = http.get("/o/..%2F..%2Fadmin/")
    bodies = {
        http.get(page(rotated)).content,
        http.get(page(disabled)).content,
        unknown.content,
    }
    assert len(bodies) == 1
    assert unknown.status_code == 404
    assert malformed.status_code == 404


@pytest.mark.django_db
def test_only_business_roles_manage_links(artist, studio_profile):
    order = OrderFactory(assignee=artist)
    with pytest.raises(NotPermitted):
        portal.rotate_link(actor=artist, order=order)
    with pytest.raises(NotPermitted):
        portal.disable_link(actor=artist, order=order)
    assert not order.portal_links.exists()


@pytest.mark.django_db
def test_repeated_bad_tokens_from_one_address_are_throttled(quoted):
    _order, link = quoted
    http = PortalHttp()
    for _ in range(20):
        assert http.get(reverse("portal", args=["B" * 43])).status_code == 404
    assert http.get(reverse("portal", args=["B" * 43])).status_code == 429
    assert http.get(page(link)).status_code == 429
    other_address = PortalHttp(REMOTE_ADDR="10.9.9.9")
    assert other_address.get(page(link)).status_code == 200


@pytest.mark.django_db
def test_language_follows_the_client_and_can_be_switched(in_review):
    _order, link, _d = in_review
    http = PortalHttp()
    zh = http.get(page(link))
    assert '<html lang="zh-hans">' in zh.content.decode()
    en = http.get(page(link) + "?lang=en")
    assert '<html lang="en">' in en.content.decode()
    assert en.cookies["reeldesk_portal_lang"].value == "en"
    again = http.get(page(link))
    assert '<html lang="en">' in again.content.decode()
    bogus = http.get(page(link) + "?lang=fr")
    assert bogus.status_code == 200


@pytest.mark.django_db
def test_files_are_served_through_the_token_with_ranges(in_review):
    _order, link, deliverable = in_review
    http = PortalHttp()
    url = reverse("portal-file", args=[link.token, deliverable.pk])
    full = http.get(url)
    assert full.status_code == 200
    assert full["Content-Type"] == "video/mp4"
    assert full["Content-Disposition"].startswith("inline")
    assert b"".join(full.streaming_content) == MP4
    part = http.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-19/{len(MP4)}"
    assert b"".join(part.streaming_content) == MP4[10:20]
    assert part["Referrer-Policy"] == "no-referrer"


@pytest.mark.django_db
def test_a_token_reaches_exactly_one_order(
    owner, studio_profile, django_capture_on_commit_callbacks
):
    """Every portal URL and action, tried with one order's token and another's ids."""
    mine = OrderFactory(status=S.IN_REVIEW)
    theirs = OrderFactory(status=S.IN_REVIEW, title="Competitor secret launch")
    their_file = services.add_deliverable(
        actor=owner, order=theirs, title="Secret", upload=SimpleUploadedFile("s.mp4", MP4)
    )
    my_link = portal.rotate_link(actor=owner, order=mine)
    their_link = portal.rotate_link(actor=owner, order=theirs)
    http = PortalHttp()

    assert "Competitor secret launch" not in http.get(page(my_link)).content.decode()
    assert http.get(reverse("portal-file", args=[my_link.token, their_file.pk])).status_code == 404
    for name, data in [
        ("approve", {"deliverable": their_file.pk}),
        ("revision", {"comment": "x", "deliverable": their_file.pk}),
    ]:
        response = http.post(act(my_link, name), {**data, "key": KEY + name}, follow=True)
        assert response.status_code == 200
    their_file.refresh_from_db()
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert their_file.approved_at is None
    assert theirs.status == S.IN_REVIEW
    assert mine.status == S.IN_REVIEW
    assert not ClientAction.objects.exists()
    # Non-numeric ids are a 404, never a 500.
    assert (
        http.post(act(their_link, "approve"), {"key": KEY, "deliverable": "1 OR 1=1"}).status_code
        == 404
    )
    # No staff page opens without signing in.
    for name in ("order-list", "client-list", "dashboard"):
        assert http.get(reverse(name)).status_code == 302
    assert http.get(reverse("order-detail", args=[mine.pk])).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cookie", "field", "origin"),
    [
        (None, None, None),
        (CSRF, None, None),
        (None, CSRF, None),
        (CSRF, "d" * 43, None),
        (CSRF, CSRF, "https://evil.example"),
    ],
)
def test_portal_forms_are_csrf_protected(quoted, cookie, field, origin):
    order, link = quoted
    strict = HttpClient(enforce_csrf_checks=True)
    if cookie:
        strict.cookies["reeldesk_portal_csrf"] = cookie
    data = {"name": "X", "key": KEY}
    if field:
        data["csrf"] = field
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    response = strict.post(act(link, "accept"), data, **headers)
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == S.QUOTED
    assert not ClientAction.objects.exists()


@pytest.mark.django_db
def test_portal_form_posts_with_origin_null_are_accepted(quoted):
    """Under Referrer-Policy: no-referrer browsers send `Origin: null` with form posts."""
    order, link = quoted
    strict = HttpClient(enforce_csrf_checks=True)
    page_response = strict.get(page(link))
    value = page_response.cookies["reeldesk_portal_csrf"].value
    assert f'name="csrf" value="{value}"' in page_response.content.decode()
    response = strict.post(
        act(link, "accept"), {"name": "X", "key": KEY, "csrf": value}, HTTP_ORIGIN="null"
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.ACCEPTED


@pytest.mark.django_db
def test_portal_actions_are_post_only(quoted):
    order, link = quoted
    assert PortalHttp().get(act(link, "accept")).status_code == 405
    order.refresh_from_db()
    assert order.status == S.QUOTED


@pytest.mark.django_db
def test_studio_e_mail_goes_out_after_commit(quoted, owner, django_capture_on_commit_callbacks):
    order, _link = quoted
    with django_capture_on_commit_callbacks(execute=True):
        portal.accept_quote(order=order, name="Wang Fang", key=KEY)
    assert len(mail.outbox) == 1
    assert order.reference in mail.outbox[0].subject
    assert mail.outbox[0].to == [owner.email]
    # A second run of the same e-mail job sends nothing more.
    from studio.notifications import email_notification

    note = Notification.objects.get()
    assert email_notification(notification_id=note.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_quote_price_is_shown_with_deposit(quoted):
    order, link = quoted
    order.deposit_percent = Decimal("30")
    order.save()
    body = PortalHttp().get(page(link)).content.decode()
    assert "¥450.00" in body
    assert re.search(r"30(\.0+)?%", body)


@pytest.mark.django_db
def test_staff_turn_on_rotate_and_turn_off_the_link_from_the_order_page(
    producer_http, studio_profile
):
    order = OrderFactory(status=S.QUOTED)
    rotate = reverse("portal-link-rotate", args=[order.pk])
    disable = reverse("portal-link-disable", args=[order.pk])
    detail = reverse("order-detail", args=[order.pk])

    assert "Turn on client link" in producer_http.get(detail).content.decode()
    producer_http.post(rotate)
    first = portal.active_link(order)
    assert first is not None
    assert first.token in producer_http.get(detail).content.decode()

    producer_http.post(rotate)
    second = portal.active_link(order)
    assert second is not None
    assert second.pk != first.pk
    assert PortalHttp().get(page(first)).status_code == 404

    producer_http.post(disable)
    assert portal.active_link(order) is None
    assert PortalHttp().get(page(second)).status_code == 404
    assert order.events.filter(kind=OrderEvent.Kind.PORTAL_LINK, public=False).count() == 3


@pytest.mark.django_db
def test_artists_neither_see_nor_manage_the_client_link(artist_http, artist, owner, studio_profile):
    order = OrderFactory(status=S.QUOTED, assignee=artist)
    link = portal.rotate_link(actor=owner, order=order)
    body = artist_http.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert link.token not in body
    assert artist_http.post(reverse("portal-link-rotate", args=[order.pk])).status_code == 403
    assert artist_http.post(reverse("portal-link-disable", args=[order.pk])).status_code == 403
    assert portal.active_link(order) == link


@pytest.mark.django_db
def test_client_feedback_with_timecodes_shows_on_the_staff_page(in_review, owner_http):
    order, _link, deliverable = in_review
    portal.request_revision(
        order=order, comment="00:42 swap the logo", key=KEY, deliverable_id=deliverable.pk
    )
    body = owner_http.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert "00:42" in body
    assert "swap the logo" in body


@pytest.mark.django_db
def test_api_turns_the_client_link_on_replaces_and_turns_it_off(owner, artist, studio_profile):
    from rest_framework.test import APIClient

    from studio.services import create_api_token

    order = OrderFactory(status=S.QUOTED, assignee=artist)
    api = APIClient()
    _t, raw = create_api_token(user=owner, name="t")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/orders/{order.pk}/"

    assert api.get(url).json()["portal_url"] is None
    first = api.post(url + "portal-link/").json()["portal_url"]
    assert first.startswith("http://testserver/o/")
    assert PortalHttp().get(first).status_code == 200
    second = api.post(url + "portal-link/").json()["portal_url"]
    assert second != first
    assert PortalHttp().get(first).status_code == 404
    assert api.get(url).json()["portal_url"] == second
    assert api.delete(url + "portal-link/").status_code == 204
    assert api.delete(url + "portal-link/").status_code == 204
    assert PortalHttp().get(second).status_code == 404

    artist_api = APIClient()
    _t, artist_raw = create_api_token(user=artist, name="a")
    artist_api.credentials(HTTP_AUTHORIZATION=f"Bearer {artist_raw}")
    assert "portal_url" not in artist_api.get(url).json()
    assert artist_api.post(url + "portal-link/").status_code == 403
    assert portal.active_link(order) is None


@pytest.mark.django_db
def test_step_labels_follow_the_page_language(in_review):
    _order, link, _d = in_review
    http = PortalHttp()
    english = http.get(page(link) + "?lang=en").content.decode()
    assert "<span>Review</span>" in english
    chinese = http.get(page(link) + "?lang=zh-hans").content.decode()
    assert "<span>Review</span>" not in chinese
