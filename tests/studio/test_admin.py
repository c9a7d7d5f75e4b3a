"""The Django admin is gated by studio role, not by the staff flag alone."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient
from django.urls import reverse

from orders.models import Order, OrderEvent
from studio.models import ApiToken, Counter, Heartbeat, Membership
from studio.services import create_api_token
from tests.factories import LinkDeliverableFactory, OrderFactory, UserFactory

User = get_user_model()

STUDIO_MODELS = ["studioprofile", "membership", "counter", "apitoken", "heartbeat", "notification"]
ORDER_MODELS = [
    "client",
    "tag",
    "order",
    "orderevent",
    "deliverable",
    "portallink",
    "clientaction",
    "reviewcomment",
]


def staff_http(user) -> HttpClient:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def records(owner, studio_profile):
    order = OrderFactory(assignee=owner)
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.CREATED)
    LinkDeliverableFactory(order=order)
    Counter.objects.create(series="ORD", year=2026, value=3)
    Heartbeat.objects.create(name="worker", beat_at=order.created_at)
    create_api_token(user=owner, name="CI")
    return order


@pytest.mark.parametrize(
    ("persona", "index", "studio", "orders"),
    [
        ("owner", 200, 200, 200),
        ("producer", 200, 403, 200),
        ("artist", 302, 302, 302),
        ("outsider", 302, 302, 302),
    ],
)
@pytest.mark.parametrize("model", STUDIO_MODELS + ORDER_MODELS)
def test_admin_access_per_role(request, records, persona, index, studio, orders, model):
    http = staff_http(request.getfixturevalue(persona))
    app = "studio" if model in STUDIO_MODELS else "orders"

    assert http.get(reverse("admin:index")).status_code == index
    response = http.get(reverse(f"admin:{app}_{model}_changelist"))

    assert response.status_code == (studio if app == "studio" else orders)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_flag_is_required_even_for_owners(owner_http):
    response = owner_http.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_artist_with_staff_flag_cannot_sign_in_to_admin(artist):
    artist.is_staff = True
    artist.save()
    http = HttpClient()

    response = http.post(
        reverse("admin:login"),
        {"username": "ada", "password": "correct horse battery staple", "next": "/admin/"},
    )

    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in http.session
    assert http.get(reverse("admin:index")).status_code == 302


def test_producer_index_lists_orders_but_not_studio_models(producer, records):
    body = staff_http(producer).get(reverse("admin:index")).content.decode()

    assert reverse("admin:orders_order_changelist") in body
    assert reverse("admin:studio_membership_changelist") not in body
    assert reverse("admin:studio_apitoken_changelist") not in body


def test_superuser_sees_everything(records):
    boss = UserFactory(username="boss", is_superuser=True)

    body = staff_http(boss).get(reverse("admin:index")).content.decode()

    for model in STUDIO_MODELS:
        assert reverse(f"admin:studio_{model}_changelist") in body
    for model in ORDER_MODELS:
        assert reverse(f"admin:orders_{model}_changelist") in body


def test_owner_change_pages_render(owner, records):
    http = staff_http(owner)
    token = ApiToken.objects.get()
    pages = [
        reverse("admin:studio_studioprofile_change", args=[1]),
        reverse("admin:studio_membership_change", args=[owner.membership.pk]),
        reverse("admin:studio_apitoken_change", args=[token.pk]),
        reverse("admin:orders_order_change", args=[records.pk]),
        reverse("admin:orders_client_change", args=[records.client_id]),
        reverse("admin:orders_orderevent_change", args=[records.events.get().pk]),
        reverse("admin:orders_deliverable_change", args=[records.deliverables.get().pk]),
    ]

    for url in pages:
        assert http.get(url).status_code == 200, url


def test_api_token_digest_is_never_shown(owner, records):
    http = staff_http(owner)
    token = ApiToken.objects.get()

    change = http.get(reverse("admin:studio_apitoken_change", args=[token.pk])).content.decode()
    listing = http.get(reverse("admin:studio_apitoken_changelist")).content.decode()

    assert token.digest not in change
    assert token.digest not in listing
    assert token.prefix in listing


def test_read_only_models_cannot_be_added_or_deleted(owner, records):
    http = staff_http(owner)
    counter = Counter.objects.get()

    assert http.get(reverse("admin:studio_counter_add")).status_code == 403
    assert http.get(reverse("admin:studio_apitoken_add")).status_code == 403
    assert http.get(reverse("admin:orders_orderevent_add")).status_code == 403
    assert http.get(reverse("admin:studio_counter_delete", args=[counter.pk])).status_code == 403
    response = http.post(
        reverse("admin:studio_counter_change", args=[counter.pk]),
        {"series": "ORD", "year": 2026, "value": 1},
    )
    assert response.status_code == 403
    counter.refresh_from_db()
    assert counter.value == 3


def test_revoke_action_revokes_tokens(owner, records):
    http = staff_http(owner)
    token = ApiToken.objects.get()

    http.post(
        reverse("admin:studio_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_order_status_is_read_only_in_admin(owner, records):
    http = staff_http(owner)
    order = records
    data = {
        "client": order.client_id,
        "title": "Renamed in admin",
        "kind": order.kind,
        "brief": "",
        "price": "1500.00",
        "currency": "CNY",
        "deposit_percent": "50",
        "turnaround_days": "7",
        "revision_rounds_included": "2",
        "assignee": owner.pk,
        "status": Order.Status.COMPLETED,
        "due_at_0": "",
        "due_at_1": "",
        "deliverables-TOTAL_FORMS": "1",
        "deliverables-INITIAL_FORMS": "1",
        "deliverables-MIN_NUM_FORMS": "0",
        "deliverables-MAX_NUM_FORMS": "1000",
        "deliverables-0-id": order.deliverables.get().pk,
        "deliverables-0-order": order.pk,
    }

    response = http.post(reverse("admin:orders_order_change", args=[order.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    order.refresh_from_db()
    assert order.title == "Renamed in admin"
    assert order.status == Order.Status.INQUIRY
    event = order.events.filter(kind=OrderEvent.Kind.UPDATED).get()
    assert event.data == {"fields": ["title"], "via": "admin"}
    assert event.public is False


def test_orders_cannot_be_added_or_deleted_in_admin(owner, records):
    http = staff_http(owner)

    assert http.get(reverse("admin:orders_order_add")).status_code == 403
    assert http.get(reverse("admin:orders_order_delete", args=[records.pk])).status_code == 403
    assert Order.objects.filter(pk=records.pk).exists()


def test_closed_orders_are_view_only_in_admin(owner, records):
    Order.objects.filter(pk=records.pk).update(status=Order.Status.COMPLETED)
    http = staff_http(owner)

    response = http.post(
        reverse("admin:orders_order_change", args=[records.pk]), {"title": "Changed"}
    )

    assert response.status_code == 403
    records.refresh_from_db()
    assert records.title != "Changed"


def test_membership_admin_keeps_the_last_owner(owner, records):
    http = staff_http(owner)
    membership = owner.membership

    response = http.post(
        reverse("admin:studio_membership_change", args=[membership.pk]),
        {"role": "artist", "language": ""},
    )

    assert response.status_code == 200
    assert "last owner" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Membership.Role.OWNER


def test_membership_admin_changes_a_role(owner, artist, records):
    http = staff_http(owner)

    response = http.post(
        reverse("admin:studio_membership_change", args=[artist.membership.pk]),
        {"role": "producer", "language": "en"},
    )

    assert response.status_code == 302
    assert Membership.objects.get(user=artist).role == "producer"


def test_studio_profile_cannot_be_added_twice_or_deleted(owner, records):
    http = staff_http(owner)

    assert http.get(reverse("admin:studio_studioprofile_add")).status_code == 403
    assert http.get(reverse("admin:studio_studioprofile_delete", args=[1])).status_code == 403
