"""Studio pages: dashboard, studio settings, team and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import struct
import zlib

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderEvent
from studio.models import ApiToken, Membership, StudioProfile
from studio.services import create_api_token
from tests.factories import ClientFactory, OrderFactory, UserFactory

User = get_user_model()
PERSONAS = ["owner", "producer", "artist", "outsider", "anonymous"]


def tiny_png() -> bytes:
    """A valid one-pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def http_for(request: pytest.FixtureRequest, persona: str) -> HttpClient:
    if persona == "anonymous":
        return HttpClient()
    return request.getfixturevalue(f"{persona}_http")


def user_for(request: pytest.FixtureRequest, persona: str):
    return None if persona == "anonymous" else request.getfixturevalue(persona)


def settings_form_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Moonlight Frames",
        "legal_name": "Moonlight Frames Studio Ltd",
        "address": "1 Film Road, Shanghai",
        "tax_id": "91310000TAX",
        "email": "hello@moonlight.example",
        "phone": "+86 21 5555 0000",
        "wechat_id": "moonlight",
        "default_currency": "CNY",
        "reporting_currency": "CNY",
        "time_zone": "Asia/Shanghai",
        "default_turnaround_days": "10",
        "default_revision_rounds": "3",
        "payment_instructions": "Bank of Moonlight 6222 0000",
    }
    data.update(changes)
    return data


# --- Access matrix ---------------------------------------------------------------------

# (name, method, expected per persona: owner, producer, artist, outsider, anonymous)
ROUTES = [
    ("dashboard", "get", (200, 200, 200, 403, 302)),
    ("studio-settings", "get", (200, 403, 403, 403, 302)),
    ("studio-settings", "post", (200, 403, 403, 403, 302)),
    ("studio-logo", "get", (200, 200, 200, 403, 302)),
    ("team", "get", (200, 403, 403, 403, 302)),
    ("team", "post", (200, 403, 403, 403, 302)),
    ("team-role", "post", (302, 403, 403, 403, 302)),
    ("team-deactivate", "post", (302, 403, 403, 403, 302)),
    ("team-reactivate", "post", (302, 403, 403, 403, 302)),
    ("api-tokens", "get", (200, 200, 200, 403, 302)),
    ("api-tokens", "post", (200, 200, 200, 403, 302)),
    ("api-token-revoke", "post", (302, 302, 302, 403, 302)),
    ("logout", "post", (302, 302, 302, 302, 302)),
    ("login", "get", (302, 302, 302, 302, 200)),
]


@pytest.fixture
def logo(studio_profile):
    studio_profile.logo.save("0123456789abcdef0123456789abcdef.png", ContentFile(tiny_png()))
    return studio_profile


@pytest.mark.parametrize(("name", "method", "expected"), ROUTES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_route_access_matrix(request, logo, persona, name, method, expected):
    http = http_for(request, persona)
    user = user_for(request, persona)
    kwargs = {}
    data: dict[str, str] = {}
    if name in {"team-role", "team-deactivate", "team-reactivate"}:
        kwargs = {"pk": UserFactory(username="target", role="artist").pk}
        data = {"role": "producer"}
    if name == "api-token-revoke":
        holder = user if user is not None and persona != "outsider" else UserFactory(role="owner")
        kwargs = {"pk": create_api_token(user=holder, name="CI")[0].pk}
    if name == "api-tokens" and method == "post":
        data = {"name": "Sheet sync"}
    url = reverse(name, kwargs=kwargs)

    response = getattr(http, method)(url, data)

    assert response.status_code == expected[PERSONAS.index(persona)]
    if response.status_code == 302 and persona == "anonymous" and name not in {"logout", "login"}:
        assert response["Location"].startswith(reverse("login") + "?next=")
    if response.status_code == 403:
        assert "No access" in response.content.decode()


def test_outsider_sees_translated_not_on_team_page(outsider_http):
    response = outsider_http.get(reverse("dashboard"))

    assert response.status_code == 403
    body = response.content.decode()
    assert "this account is not on the studio's team" in body
    assert 'class="auth-box"' in body


def test_producer_refused_owner_page_sees_role_message(producer_http):
    response = producer_http.get(reverse("team"))

    assert response.status_code == 403
    assert "Your role in the studio does not allow you to open this page." in (
        response.content.decode()
    )


# --- CSRF --------------------------------------------------------------------------------

UNSAFE_ROUTES = [
    ("studio-settings", False),
    ("team", False),
    ("team-role", True),
    ("team-deactivate", True),
    ("team-reactivate", True),
    ("api-tokens", False),
    ("api-token-revoke", True),
    ("logout", False),
]


@pytest.mark.parametrize(("name", "needs_pk"), UNSAFE_ROUTES)
def test_csrf_token_is_required_on_unsafe_routes(owner, studio_profile, name, needs_pk):
    target = UserFactory(username="target", role="artist", is_active=False)
    token, _raw = create_api_token(user=owner, name="CI")
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(owner)
    kwargs = {}
    if needs_pk:
        kwargs = {"pk": token.pk if name == "api-token-revoke" else target.pk}
    before = {
        "profile": StudioProfile.objects.values().get(pk=1),
        "users": list(User.objects.values("pk", "is_active").order_by("pk")),
        "roles": list(Membership.objects.values("user_id", "role").order_by("pk")),
        "tokens": list(ApiToken.objects.values("pk", "revoked_at").order_by("pk")),
    }

    response = http.post(
        reverse(name, kwargs=kwargs),
        {"role": "owner", "name": "New", **settings_form_data(name="Hacked")},
    )

    assert response.status_code == 403
    assert before == {
        "profile": StudioProfile.objects.values().get(pk=1),
        "users": list(User.objects.values("pk", "is_active").order_by("pk")),
        "roles": list(Membership.objects.values("user_id", "role").order_by("pk")),
        "tokens": list(ApiToken.objects.values("pk", "revoked_at").order_by("pk")),
    }
    assert "_auth_user_id" in http.session  # logout refused too


def test_csrf_token_is_required_to_sign_in(owner):
    http = HttpClient(enforce_csrf_checks=True)

    response = http.post(
        reverse("login"), {"username": "olivia", "password": "correct horse battery staple"}
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in http.session


# --- Dashboard -----------------------------------------------------------------------------


def _due(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def test_dashboard_counts_open_orders_by_status_with_filtered_links(owner_http, studio_profile):
    OrderFactory.create_batch(2, status=Order.Status.IN_PRODUCTION)
    OrderFactory(status=Order.Status.QUOTED)
    OrderFactory(status=Order.Status.COMPLETED)

    response = owner_http.get(reverse("dashboard"))

    assert response.status_code == 200
    today = response.context["page"].today
    counts = {row["status"]: row["count"] for row in today.status_counts}
    assert counts["in_production"] == 2
    assert counts["quoted"] == 1
    assert counts["inquiry"] == 0
    assert "completed" not in counts
    assert today.open_total == 3
    body = response.content.decode()
    assert f'href="{reverse("order-list")}?status=in_production"' in body
    assert "3 open orders" in body


def test_dashboard_lists_due_soon_and_late_orders(owner_http, studio_profile):
    soon = OrderFactory(
        status=Order.Status.IN_PRODUCTION, due_at=_due(3), title="Tea ad", price="1800.00"
    )
    late = OrderFactory(status=Order.Status.ACCEPTED, due_at=_due(-2), title="Game trailer")
    OrderFactory(status=Order.Status.IN_PRODUCTION, due_at=_due(20), title="Far away")
    OrderFactory(status=Order.Status.DELIVERED, due_at=_due(-5), title="Delivered one")

    response = owner_http.get(reverse("dashboard"))

    assert [o.pk for o in response.context["page"].today.due_orders] == [soon.pk]
    assert [o.pk for o in response.context["page"].today.late_orders] == [late.pk]
    body = response.content.decode()
    assert reverse("order-detail", args=[soon.pk]) in body
    assert soon.reference in body
    assert soon.client.name in body
    assert "2 days late" in body
    assert "¥1,800.00" in body
    assert "Far away" not in body
    assert "Delivered one" not in body


def test_artist_dashboard_shows_only_assigned_orders_and_no_money(
    artist, artist_http, studio_profile
):
    mine = OrderFactory(
        assignee=artist, status=Order.Status.IN_PRODUCTION, due_at=_due(2), title="My clip"
    )
    OrderFactory(status=Order.Status.IN_PRODUCTION, due_at=_due(2), title="Someone else's")
    OrderEvent.objects.create(order=mine, kind=OrderEvent.Kind.NOTE, message="Mine note")
    other = OrderFactory(status=Order.Status.ACCEPTED, title="Hidden")
    OrderEvent.objects.create(order=other, kind=OrderEvent.Kind.NOTE, message="Hidden note")

    response = artist_http.get(reverse("dashboard"))

    body = response.content.decode()
    assert response.context["page"].today.open_total == 1
    assert [o.pk for o in response.context["page"].today.due_orders] == [mine.pk]
    assert response.context["page"].snapshot is None
    assert "My clip" in body
    assert "Someone else" not in body
    assert "Hidden" not in body
    assert "¥" not in body
    assert "1,500" not in body
    assert "Price" not in body


def _make_orders(count: int, artist) -> None:
    clients = ClientFactory.create_batch(3)
    for i in range(count):
        order = OrderFactory(
            client=clients[i % 3],
            assignee=artist if i % 2 else None,
            status=[Order.Status.IN_PRODUCTION, Order.Status.ACCEPTED, Order.Status.QUOTED][i % 3],
            due_at=_due((i % 15) - 5),
        )
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.CREATED, actor=artist)


@pytest.mark.parametrize("persona", ["owner", "producer", "artist"])
def test_dashboard_query_count_is_flat(
    request, artist, studio_profile, django_assert_max_num_queries, persona
):
    http = http_for(request, persona)
    _make_orders(10, artist)
    with CaptureQueriesContext(connection) as small:
        assert http.get(reverse("dashboard")).status_code == 200
    _make_orders(190, artist)

    # New orders invalidate the cached business snapshot: this one recomputes it.
    with CaptureQueriesContext(connection) as large:
        http.get(reverse("dashboard"))
    # 5 for the request (session, user, role, profile, bell), 5 for the live sections,
    # up to 5 for "Needs attention" (tests/studio/test_dashboard_attention.py keeps
    # those flat with failures present); the snapshot comes from the cache.
    with django_assert_max_num_queries(15):
        response = http.get(reverse("dashboard"))

    assert response.status_code == 200
    assert len(large) == len(small)


def test_dashboard_refuses_post(owner_http):
    assert owner_http.post(reverse("dashboard")).status_code == 405


# --- Studio settings -----------------------------------------------------------------------


def test_owner_saves_studio_settings(owner_http, studio_profile):
    response = owner_http.post(
        reverse("studio-settings"), settings_form_data(time_zone="Europe/Berlin")
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("studio-settings")
    profile = StudioProfile.objects.get(pk=1)
    assert profile.legal_name == "Moonlight Frames Studio Ltd"
    assert profile.time_zone == "Europe/Berlin"
    assert profile.default_turnaround_days == 10
    assert profile.default_revision_rounds == 3
    assert profile.payment_instructions == "Bank of Moonlight 6222 0000"


def test_settings_page_shows_every_profile_field(owner_http, studio_profile):
    response = owner_http.get(reverse("studio-settings"))

    body = response.content.decode()
    for field in settings_form_data():
        assert f'name="{field}"' in body
    assert 'name="logo"' in body
    assert 'enctype="multipart/form-data"' in body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"default_currency": "XXX"}, "default_currency"),
        ({"default_turnaround_days": "0"}, "default_turnaround_days"),
        ({"default_turnaround_days": "many"}, "default_turnaround_days"),
        ({"default_revision_rounds": "21"}, "default_revision_rounds"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_input_shows_error_and_saves_nothing(
    owner_http, studio_profile, changes, field
):
    before = StudioProfile.objects.values().get(pk=1)

    response = owner_http.post(reverse("studio-settings"), settings_form_data(**changes))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert "Nothing was saved." in response.content.decode()
    assert StudioProfile.objects.values().get(pk=1) == before


def test_disguised_logo_is_refused_and_nothing_saved(owner_http, studio_profile, settings):
    before = StudioProfile.objects.values().get(pk=1)
    fake = SimpleUploadedFile("logo.png", b"just some text, not an image\n" * 10, "image/png")

    response = owner_http.post(
        reverse("studio-settings"), {**settings_form_data(legal_name="Changed"), "logo": fake}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["logo"] == [
        "The logo must be a PNG or JPEG image (checked by its content, not its name)."
    ]
    assert StudioProfile.objects.values().get(pk=1) == before
    assert not (settings.MEDIA_ROOT / "studio").exists()


def test_svg_logo_is_refused(owner_http, studio_profile):
    svg = SimpleUploadedFile(
        "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'
    )

    response = owner_http.post(reverse("studio-settings"), {**settings_form_data(), "logo": svg})

    assert response.status_code == 200
    assert "logo" in response.context["form"].errors
    assert not StudioProfile.objects.get(pk=1).logo


def test_too_big_logo_is_refused(owner_http, studio_profile, settings):
    settings.LOGO_MAX_BYTES = 50
    png = SimpleUploadedFile("logo.png", tiny_png() + b"\x00" * 100, "image/png")

    response = owner_http.post(reverse("studio-settings"), {**settings_form_data(), "logo": png})

    assert response.status_code == 200
    assert response.context["form"].errors["logo"][0].startswith("The logo is ")
    assert not StudioProfile.objects.get(pk=1).logo


def test_png_logo_is_stored_under_random_name_and_served_to_members_only(
    owner_http, artist_http, outsider_http, studio_profile
):
    png = SimpleUploadedFile("../../my logo.png", tiny_png(), "image/png")

    response = owner_http.post(reverse("studio-settings"), {**settings_form_data(), "logo": png})

    assert response.status_code == 302
    name = StudioProfile.objects.get(pk=1).logo.name
    assert re.fullmatch(r"studio/[0-9a-f]{32}\.png", name)
    served = artist_http.get(reverse("studio-logo"))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == tiny_png()
    assert outsider_http.get(reverse("studio-logo")).status_code == 403
    assert HttpClient().get(reverse("studio-logo")).status_code == 302


def test_jpeg_logo_replaces_old_one_and_old_file_is_deleted(
    owner_http, logo, settings, django_capture_on_commit_callbacks
):
    old_path = settings.MEDIA_ROOT / logo.logo.name
    assert old_path.exists()
    jpeg = SimpleUploadedFile("logo.jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(
            reverse("studio-settings"), {**settings_form_data(), "logo": jpeg}
        )

    assert response.status_code == 302
    assert re.fullmatch(r"studio/[0-9a-f]{32}\.jpg", StudioProfile.objects.get(pk=1).logo.name)
    assert not old_path.exists()


def test_owner_removes_logo(owner_http, logo):
    response = owner_http.post(
        reverse("studio-settings"), {**settings_form_data(), "remove_logo": "on"}
    )

    assert response.status_code == 302
    assert not StudioProfile.objects.get(pk=1).logo
    assert owner_http.get(reverse("studio-logo")).status_code == 404


def test_logo_view_without_logo_is_404(owner_http, studio_profile):
    assert owner_http.get(reverse("studio-logo")).status_code == 404


# --- Team ------------------------------------------------------------------------------------


def test_team_page_lists_people_with_roles(owner_http, owner, producer, artist, outsider):
    response = owner_http.get(reverse("team"))

    body = response.content.decode()
    assert response.status_code == 200
    for person in (owner, producer, artist, outsider):
        assert person.username in body
    assert "No access" in body


def test_owner_adds_team_member_with_password(owner_http, owner):
    response = owner_http.post(
        reverse("team"),
        {
            "username": "mia",
            "email": "mia@example.com",
            "full_name": "Mia Chen",
            "role": "producer",
            "password": "a long passphrase 2026",
        },
    )

    assert response.status_code == 302
    mia = User.objects.get(username="mia")
    assert mia.membership.role == "producer"
    assert mia.email == "mia@example.com"
    assert mia.get_full_name() == "Mia Chen"
    assert mia.check_password("a long passphrase 2026")
    assert mia.is_active


def test_generated_password_is_shown_once(owner_http, owner):
    response = owner_http.post(
        reverse("team"), {"username": "leo", "email": "", "full_name": "", "role": "artist"}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    password = response.context["generated_password"]
    assert len(password) >= 12
    assert f'<p class="token-once">{password}</p>' in response.content.decode()
    leo = User.objects.get(username="leo")
    assert leo.check_password(password)
    assert leo.membership.role == "artist"
    assert password not in owner_http.get(reverse("team")).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "ADA"}, "username"),
        ({"username": "bad name!"}, "username"),
        ({"username": ""}, "username"),
        ({"role": "king"}, "role"),
        ({"password": "123"}, "password"),
        ({"password": "newbie1"}, "password"),
        ({"email": "nope"}, "email"),
    ],
)
def test_bad_team_member_input_creates_nobody(owner_http, owner, artist, data, field):
    users_before = User.objects.count()
    form = {"username": "newbie", "email": "", "full_name": "", "role": "artist", **data}

    response = owner_http.post(reverse("team"), form)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.count() == users_before


def test_owner_changes_role(owner_http, owner, artist):
    response = owner_http.post(reverse("team-role", args=[artist.pk]), {"role": "producer"})

    assert response.status_code == 302
    assert Membership.objects.get(user=artist).role == "producer"


def test_owner_gives_outsider_a_role(owner_http, owner, outsider):
    owner_http.post(reverse("team-role", args=[outsider.pk]), {"role": "artist"})

    assert Membership.objects.get(user=outsider).role == "artist"


def test_last_owner_cannot_demote_themselves(owner_http, owner):
    response = owner_http.post(
        reverse("team-role", args=[owner.pk]), {"role": "artist"}, follow=True
    )

    assert Membership.objects.get(user=owner).role == "owner"
    assert "olivia is the studio&#x27;s last owner and must stay an owner." in (
        response.content.decode()
    )


def test_owner_can_step_down_when_another_owner_exists(owner_http, owner):
    UserFactory(username="second", role="owner")

    owner_http.post(reverse("team-role", args=[owner.pk]), {"role": "producer"})

    assert Membership.objects.get(user=owner).role == "producer"


def test_inactive_owner_does_not_count_as_remaining_owner(owner_http, owner):
    UserFactory(username="gone", role="owner", is_active=False)

    owner_http.post(reverse("team-role", args=[owner.pk]), {"role": "producer"})

    assert Membership.objects.get(user=owner).role == "owner"


def test_last_owner_cannot_deactivate_themselves(owner_http, owner):
    token, _raw = create_api_token(user=owner, name="CI")

    response = owner_http.post(reverse("team-deactivate", args=[owner.pk]), follow=True)

    owner.refresh_from_db()
    token.refresh_from_db()
    assert owner.is_active
    assert token.revoked_at is None
    assert "olivia is the studio&#x27;s last owner and cannot be deactivated." in (
        response.content.decode()
    )


def test_deactivating_a_member_keeps_them_and_revokes_their_tokens(owner_http, owner, artist):
    token, _raw = create_api_token(user=artist, name="CI")

    response = owner_http.post(reverse("team-deactivate", args=[artist.pk]))

    assert response.status_code == 302
    artist.refresh_from_db()
    token.refresh_from_db()
    assert not artist.is_active
    assert Membership.objects.filter(user=artist, role="artist").exists()
    assert token.revoked_at is not None
    http = HttpClient()
    assert not http.login(username="ada", password="correct horse battery staple")


def test_deactivated_member_session_stops_working(owner_http, owner, artist, artist_http):
    owner_http.post(reverse("team-deactivate", args=[artist.pk]))

    response = artist_http.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_owner_reactivates_member(owner_http, owner, artist):
    artist.is_active = False
    artist.save()

    owner_http.post(reverse("team-reactivate", args=[artist.pk]))

    artist.refresh_from_db()
    assert artist.is_active


def test_superuser_role_is_not_changed_on_team_page(owner_http, owner):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)

    response = owner_http.post(
        reverse("team-role", args=[boss.pk]), {"role": "artist"}, follow=True
    )

    assert not Membership.objects.filter(user=boss).exists()
    assert "boss is a superuser" in response.content.decode()


def test_invalid_role_changes_nothing(owner_http, owner, artist):
    response = owner_http.post(
        reverse("team-role", args=[artist.pk]), {"role": "king"}, follow=True
    )

    assert Membership.objects.get(user=artist).role == "artist"
    assert "Choose one of the roles." in response.content.decode()


@pytest.mark.parametrize("name", ["team-role", "team-deactivate", "team-reactivate"])
def test_team_actions_on_unknown_user_are_404(owner_http, owner, name):
    assert owner_http.post(reverse(name, args=[999999]), {"role": "artist"}).status_code == 404


# --- API tokens ----------------------------------------------------------------------------


def test_member_creates_token_shown_once_and_stored_hashed(artist_http, artist):
    response = artist_http.post(reverse("api-tokens"), {"name": "Sheet sync"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw"]
    assert f'<p class="token-once">{raw}</p>' in response.content.decode()
    token = ApiToken.objects.get(user=artist)
    assert token.name == "Sheet sync"
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.digest != raw
    listing = artist_http.get(reverse("api-tokens")).content.decode()
    assert raw not in listing
    assert f"{token.prefix}…" in listing
    assert "Sheet sync" in listing


def test_token_page_lists_only_own_tokens(artist_http, artist, owner):
    create_api_token(user=artist, name="Mine")
    create_api_token(user=owner, name="Owner's robot")

    response = artist_http.get(reverse("api-tokens"))

    assert [t.name for t in response.context["tokens"]] == ["Mine"]


def test_token_without_name_is_refused(artist_http, artist):
    response = artist_http.post(reverse("api-tokens"), {"name": "   "})

    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_member_revokes_own_token(producer_http, producer):
    token, _raw = create_api_token(user=producer, name="CI")

    response = producer_http.post(reverse("api-token-revoke", args=[token.pk]), follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "The token “CI” was revoked." in response.content.decode()
    assert "Revoked" in response.content.decode()


def test_revoking_someone_elses_token_is_404_and_changes_nothing(producer_http, owner):
    token, _raw = create_api_token(user=owner, name="Owner's")

    response = producer_http.post(reverse("api-token-revoke", args=[token.pk]))

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_twice_is_harmless(producer_http, producer):
    token, _raw = create_api_token(user=producer, name="CI")
    producer_http.post(reverse("api-token-revoke", args=[token.pk]))
    first = ApiToken.objects.get(pk=token.pk).revoked_at

    response = producer_http.post(reverse("api-token-revoke", args=[token.pk]), follow=True)

    assert ApiToken.objects.get(pk=token.pk).revoked_at == first
    assert "was already revoked" in response.content.decode()


def test_revoke_requires_post(producer_http, producer):
    token, _raw = create_api_token(user=producer, name="CI")

    assert producer_http.get(reverse("api-token-revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None
