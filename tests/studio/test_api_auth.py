"""API authentication (Bearer tokens, browser sessions) and the one error shape."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.middleware.csrf import get_token
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from orders import api as orders_api
from orders.models import Client, Order
from studio.models import ApiToken
from studio.services import create_api_token, revoke_api_token
from tests.factories import UserFactory
from tests.orders.factories_api import bearer_client, error_of, make_order, session_client

ENDPOINTS = [
    ("get", "/api/clients/"),
    ("get", "/api/orders/"),
    ("post", "/api/orders/"),
    ("get", "/api/orders/{order}/"),
    ("patch", "/api/orders/{order}/"),
    ("post", "/api/orders/{order}/transition/"),
    ("get", "/api/orders/{order}/deliverables/"),
    ("post", "/api/orders/{order}/deliverables/"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_requests_get_401_in_the_error_shape(db, method, path):
    order = make_order()

    response = getattr(APIClient(), method)(path.format(order=order.pk), {}, format="json")

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    assert error["fields"] == {}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert Order.objects.count() == 1


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_outsiders_get_403_everywhere(outsider, method, path):
    order = make_order()

    response = getattr(bearer_client(outsider), method)(
        path.format(order=order.pk), {}, format="json"
    )

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied"
    assert error["message"] == "You are not a member of this studio."
    assert Order.objects.count() == 1


def test_bearer_token_authenticates_and_records_its_use(owner):
    token, raw = create_api_token(user=owner, name="sheet sync")
    http = APIClient()

    response = http.get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_scheme_name_is_case_insensitive(owner):
    _token, raw = create_api_token(user=owner, name="cli")

    response = APIClient().get("/api/orders/", HTTP_AUTHORIZATION=f"bearer {raw}")

    assert response.status_code == 200


def test_revoked_token_gets_401(owner):
    token, raw = create_api_token(user=owner, name="old laptop")
    assert revoke_api_token(token=token) is True

    response = APIClient().get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "authentication_failed"
    assert error["message"] == "Invalid or revoked token."
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_token_of_a_deactivated_user_gets_401(owner):
    _token, raw = create_api_token(user=owner, name="cli")
    get_user_model().objects.filter(pk=owner.pk).update(is_active=False)

    response = APIClient().get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer rdk_abc def",
        "Bearer rdk_not-a-real-token",
        "Bearer not-even-our-prefix",
        "Bearer rdk_" + "x" * 500,
        "Bearer rdk_\u00e9t\u00e9",
    ],
)
def test_malformed_or_unknown_tokens_get_401(owner, header):
    create_api_token(user=owner, name="cli")

    response = APIClient().get("/api/orders/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_a_bad_token_is_refused_even_with_a_valid_session(owner):
    http = session_client(owner)

    response = http.get("/api/orders/", HTTP_AUTHORIZATION="Bearer rdk_wrong")

    assert response.status_code == 401


def test_superuser_without_membership_is_treated_as_owner(db):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)

    response = bearer_client(root).get("/api/clients/")

    assert response.status_code == 200


def test_session_reads_need_no_csrf_token(owner):
    make_order()

    response = session_client(owner, enforce_csrf=True).get("/api/orders/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_session_writes_without_csrf_token_are_refused_and_change_nothing(owner):
    http = session_client(owner, enforce_csrf=True)

    response = http.post("/api/clients/", {"name": "Acme"}, format="json")

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied"
    assert "CSRF" in error["message"]
    assert Client.objects.count() == 0


def test_session_writes_with_csrf_token_succeed(owner):
    http = session_client(owner, enforce_csrf=True)
    request = RequestFactory().get("/")
    token = get_token(request)
    http.cookies["csrftoken"] = request.META["CSRF_COOKIE"]

    response = http.post("/api/clients/", {"name": "Acme"}, format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201
    assert Client.objects.get().name == "Acme"


def test_bearer_writes_need_no_csrf_token(owner):
    _token, raw = create_api_token(user=owner, name="shop")
    http = APIClient(enforce_csrf_checks=True)

    response = http.post(
        "/api/clients/", {"name": "Acme"}, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )

    assert response.status_code == 201
    assert ApiToken.objects.get().last_used_at is not None


# --- The error shape for every 4xx ---------------------------------------------------------


def test_unknown_api_address_is_a_json_404(owner):
    response = bearer_client(owner).get("/api/no-such-resource/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    error = error_of(response)
    assert error == {
        "status": 404,
        "code": "not_found",
        "message": "There is no API endpoint at this address.",
        "fields": {},
    }


def test_missing_trailing_slash_gets_a_404_that_names_the_right_address(owner):
    response = bearer_client(owner).post("/api/clients", {"name": "Acme"}, format="json")

    assert response.status_code == 404
    assert error_of(response)["message"] == (
        "There is no API endpoint at this address. Did you mean /api/clients/?"
    )
    assert Client.objects.count() == 0


def test_missing_object_is_a_404_in_the_error_shape(owner):
    response = bearer_client(owner).get("/api/orders/987654/")

    assert response.status_code == 404
    assert error_of(response) == {
        "status": 404,
        "code": "not_found",
        "message": "Not found.",
        "fields": {},
    }


def test_id_too_large_for_the_database_is_a_404_not_a_500(owner):
    response = bearer_client(owner).get("/api/orders/99999999999999999999999/")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_method_not_allowed_is_a_405_in_the_error_shape(owner):
    order = make_order()

    response = bearer_client(owner).delete(f"/api/orders/{order.pk}/")

    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["message"] == 'Method "DELETE" not allowed.'
    assert "DELETE" not in response["Allow"]
    assert Order.objects.filter(pk=order.pk).exists()


def test_malformed_json_is_a_400_parse_error(owner):
    response = bearer_client(owner).generic(
        "POST", "/api/clients/", '{"name": "Acme",', content_type="application/json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "parse_error"
    assert error["message"].startswith("JSON parse error")
    assert Client.objects.count() == 0


def test_json_that_is_not_an_object_is_a_400(owner):
    response = bearer_client(owner).post("/api/clients/", [1, 2], format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["__all__"]


def test_other_content_types_are_a_415(owner):
    response = bearer_client(owner).generic(
        "POST", "/api/clients/", "name=Acme", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert Client.objects.count() == 0


def test_too_large_json_body_is_a_413(owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = bearer_client(owner).post("/api/clients/", {"name": "A" * 200}, format="json")

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert Client.objects.count() == 0


class OnePerMinute(UserRateThrottle):
    rate = "1/min"


def test_throttled_requests_get_429_with_retry_after(owner, monkeypatch):
    monkeypatch.setattr(orders_api.OrderViewSet, "throttle_classes", [OnePerMinute])
    http = bearer_client(owner)

    assert http.get("/api/orders/").status_code == 200
    response = http.get("/api/orders/")

    assert response.status_code == 429
    assert error_of(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
