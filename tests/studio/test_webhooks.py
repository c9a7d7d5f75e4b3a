"""Webhooks: signing, one delivery per (event, endpoint), retries, the SSRF guard, the API
and the pages. Every request goes to a receiver on 127.0.0.1 and nowhere else."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders import services
from studio import ssrf, webhooks
from studio.models import (
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSettings,
)
from studio.services import create_api_token
from tests.factories import ClientFactory

State = WebhookDelivery.State


# --- A receiver on 127.0.0.1 --------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that answers POSTs with the scripted statuses (then 200),
    optionally after a delay (`delays`: one per request, then none), and records every
    request."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        *,
        delay: float = 0.0,
        delays: list[float] | None = None,
        location: str = "",
    ):
        self.statuses = list(statuses or [])
        self.delay = delay
        self.delays = list(delays or [])
        self.location = location
        self.requests: list[dict[str, Any]] = []
        self.completed: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                record = {
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "path": self.path,
                }
                with receiver.lock:
                    receiver.requests.append(record)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    delay = receiver.delays.pop(0) if receiver.delays else receiver.delay
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    self.wfile.write(b"ok" if status < 300 else b"nope")
                    self.wfile.flush()
                except OSError:  # the sender went away (killed) before the answer
                    return
                with receiver.lock:
                    receiver.completed.append({**record, "status": status})

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/reeldesk?x=1"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def allow_private(db) -> None:
    row = WebhookSettings.load()
    row.allow_private_targets = True
    row.save()


@pytest.fixture
def no_connections(monkeypatch) -> list[Any]:
    """Any attempt to open a socket connection fails the test (and is recorded)."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def _endpoint(owner, url: str, events: tuple[str, ...] = ("order.created",)) -> WebhookEndpoint:
    return webhooks.create_endpoint(actor=owner, url=url, events=list(events))


def _create_order(owner, **kwargs: Any):
    return services.create_order(
        actor=owner, client=ClientFactory(), title="Teaser", price=Decimal("1500"), **kwargs
    )


def _verify(endpoint: WebhookEndpoint, request: dict[str, Any], secret: str = "") -> bool:
    headers = request["headers"]
    return webhooks.verify(
        secret=secret or endpoint.secret,
        headers=headers,
        body=request["body"],
        now=int(headers["webhook-timestamp"]),
    )


# --- Signing ------------------------------------------------------------------------------


def test_signature_matches_the_standard_webhooks_test_vector():
    signature = webhooks.sign(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body='{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verify_rejects_tampering_other_secrets_and_replays_older_than_five_minutes():
    secret = webhooks.new_secret()
    now = 1_800_000_000
    body = '{"type":"order.created"}'
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": webhooks.sign(secret=secret, msg_id="msg_1", timestamp=now, body=body),
    }

    assert webhooks.verify(secret=secret, headers=headers, body=body, now=now + 299)
    assert not webhooks.verify(secret=secret, headers=headers, body=body, now=now + 301)
    assert not webhooks.verify(secret=secret, headers=headers, body=body + " ", now=now)
    assert not webhooks.verify(secret=webhooks.new_secret(), headers=headers, body=body, now=now)
    assert not webhooks.verify(
        secret=secret, headers={**headers, "webhook-id": "msg_2"}, body=body, now=now
    )


def test_secrets_are_whsec_base64_of_32_random_bytes():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    assert len(webhooks.secret_key(secret)) == 32
    assert webhooks.new_secret() != secret


# --- Recording deliveries -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_event_becomes_one_delivery_per_endpoint_that_chose_it(owner):
    first = _endpoint(owner, "https://hooks.example.com/a")
    second = _endpoint(owner, "https://hooks.example.com/b", ("order.created", "quote.accepted"))
    _endpoint(owner, "https://hooks.example.com/c", ("quote.accepted",))
    off = _endpoint(owner, "https://hooks.example.com/d")
    webhooks.update_endpoint(actor=owner, endpoint=off, is_active=False)

    order = _create_order(owner)

    deliveries = list(WebhookDelivery.objects.order_by("endpoint_id"))
    assert [d.endpoint_id for d in deliveries] == [first.pk, second.pk]
    assert len({d.event_id for d in deliveries}) == 1
    assert deliveries[0].event_id.startswith("msg_")
    body = json.loads(deliveries[0].body)
    assert body["type"] == "order.created"
    assert body["id"] == deliveries[0].event_id
    assert body["data"]["order"]["reference"] == order.reference
    assert all(d.state == State.PENDING for d in deliveries)


@pytest.mark.django_db
def test_deliveries_roll_back_with_the_change_that_published_them(owner):
    _endpoint(owner, "https://hooks.example.com/a")

    def fail_after_saving() -> None:
        with transaction.atomic():
            _create_order(owner)
            raise RuntimeError("the request failed after the order was saved")

    with pytest.raises(RuntimeError):
        fail_after_saving()

    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_the_same_event_cannot_be_recorded_twice_for_an_endpoint(owner):
    from django.db import IntegrityError

    _endpoint(owner, "https://hooks.example.com/a")
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(
            endpoint=delivery.endpoint, event_id=delivery.event_id, event_type="x", body="{}"
        )


# --- Attempts against a real receiver on 127.0.0.1 --------------------------------------------


@pytest.mark.django_db
def test_a_receiver_failing_twice_then_succeeding_gets_three_signed_attempts(
    owner, allow_private, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with Receiver([500, 503]) as server, time_machine.travel(start, tick=False) as traveller:
        endpoint = _endpoint(owner, server.url)
        with django_capture_on_commit_callbacks(execute=True):
            _create_order(owner)  # the first attempt runs after commit (eager Celery)
        for seconds in (6, 6 + 31):
            traveller.move_to(start + dt.timedelta(seconds=seconds))
            with django_capture_on_commit_callbacks(execute=True):
                webhooks.sweep_deliveries()
        traveller.move_to(start + dt.timedelta(hours=30))
        with django_capture_on_commit_callbacks(execute=True):
            assert webhooks.sweep_deliveries() == 0

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.response_code) == (State.SUCCEEDED, 3, 200)
    assert delivery.last_error == ""
    log = list(delivery.attempt_log.values_list("number", "response_code"))
    assert log == [(1, 500), (2, 503), (3, 200)]
    assert [r["status"] for r in server.completed] == [500, 503, 200]
    assert {r["headers"]["webhook-id"] for r in server.requests} == {delivery.event_id}
    assert all(_verify(endpoint, r) for r in server.requests)
    assert {r["body"] for r in server.requests} == {delivery.body}
    assert server.requests[0]["path"] == "/hooks/reeldesk?x=1"
    assert server.requests[0]["headers"]["content-type"] == "application/json"


@pytest.mark.django_db
def test_retries_back_off_exponentially_for_about_a_day(owner, allow_private):
    delays = webhooks.RETRY_DELAYS
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert 20 * 3600 <= sum(delays) <= 30 * 3600


@pytest.mark.django_db
def test_a_delivery_run_twice_is_sent_once(owner, allow_private, receiver):
    _endpoint(owner, receiver.url)
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()

    assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "succeeded"
    assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "not claimed (succeeded)"

    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.count() == 1


@pytest.mark.django_db
def test_a_delivery_not_yet_due_is_not_sent(owner, allow_private, receiver):
    _endpoint(owner, receiver.url)
    _create_order(owner)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() + dt.timedelta(minutes=5))

    assert webhooks.attempt_delivery(delivery_id=WebhookDelivery.objects.get().pk).startswith(
        "not claimed"
    )
    assert receiver.requests == []


@pytest.mark.django_db
def test_redirects_are_never_followed(owner, allow_private):
    with Receiver() as elsewhere, Receiver([302], location="") as server:
        server.location = elsewhere.url
        _endpoint(owner, server.url)
        _create_order(owner)
        delivery = WebhookDelivery.objects.get()

        assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert delivery.response_code == 302
    assert "302" in delivery.last_error
    assert len(server.requests) == 1
    assert elsewhere.requests == []


@pytest.mark.django_db
def test_a_receiver_too_slow_to_answer_counts_as_a_failed_attempt(
    owner, allow_private, monkeypatch
):
    monkeypatch.setattr(ssrf, "READ_TIMEOUT", 0.3)
    with Receiver(delay=1.5) as server:
        _endpoint(owner, server.url)
        _create_order(owner)
        delivery = WebhookDelivery.objects.get()
        started = time.monotonic()
        assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "pending"
        assert time.monotonic() - started < 1.4

    delivery.refresh_from_db()
    assert delivery.last_error == "No answer in time."
    assert delivery.response_code is None


@pytest.mark.django_db
def test_a_delivery_that_crashes_every_time_stops_after_its_retries_and_shows_failed(
    owner, allow_private
):
    endpoint = _endpoint(owner, "http://127.0.0.1:9/never")
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()
    start = timezone.now()
    with (
        mock.patch.object(webhooks, "_transport", side_effect=RuntimeError("bug")) as transport,
        time_machine.travel(start, tick=False) as traveller,
    ):
        moment = start
        for attempt in range(webhooks.MAX_ATTEMPTS):
            traveller.move_to(moment)
            webhooks.attempt_delivery(delivery_id=delivery.pk)
            if attempt < len(webhooks.RETRY_DELAYS):
                moment += dt.timedelta(seconds=webhooks.RETRY_DELAYS[attempt] + 1)
        traveller.move_to(moment + dt.timedelta(days=2))
        assert webhooks.sweep_deliveries() == 0
        assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "not claimed (failed)"

    assert transport.call_count == webhooks.MAX_ATTEMPTS
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.FAILED, webhooks.MAX_ATTEMPTS)
    assert delivery.last_error == "RuntimeError: bug"
    assert delivery.attempt_log.count() == webhooks.MAX_ATTEMPTS
    note = Notification.objects.get(user=owner, kind="webhook.failed")
    assert endpoint.url in note.body


@pytest.mark.django_db
def test_a_worker_killed_while_sending_is_recovered_by_the_sweep(
    owner, allow_private, receiver, django_capture_on_commit_callbacks
):
    _endpoint(owner, receiver.url)
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()
    # Claimed four minutes ago by a worker that died.
    WebhookDelivery.objects.update(
        state=State.SENDING, claimed_at=timezone.now() - dt.timedelta(minutes=4), attempts=1
    )
    assert webhooks.attempt_delivery(delivery_id=delivery.pk).startswith("not claimed")

    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.sweep_deliveries() == 1

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.SUCCEEDED, 2)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_send_again_resends_with_the_same_id_and_a_fresh_schedule(
    owner, allow_private, receiver, django_capture_on_commit_callbacks
):
    _endpoint(owner, receiver.url)
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(state=State.FAILED, attempts=11, next_attempt_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.send_again(actor=owner, delivery=delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.SUCCEEDED, 1)
    assert receiver.requests[0]["headers"]["webhook-id"] == delivery.event_id


@pytest.mark.django_db
def test_a_rotated_secret_signs_next_to_the_new_one_for_the_grace_period(
    owner, allow_private, receiver
):
    endpoint = _endpoint(owner, receiver.url)
    old_secret = endpoint.secret
    rotated = webhooks.rotate_secret(actor=owner, endpoint=endpoint)
    assert rotated.secret != old_secret
    _create_order(owner)
    webhooks.attempt_delivery(delivery_id=WebhookDelivery.objects.get().pk)

    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split()) == 2
    assert _verify(rotated, request)
    assert _verify(rotated, request, secret=old_secret)

    with time_machine.travel(timezone.now() + dt.timedelta(hours=25), tick=False):
        rotated.refresh_from_db()
        assert webhooks.signing_secrets(rotated) == [rotated.secret]


@pytest.mark.django_db
def test_an_endpoint_switched_off_after_the_event_gets_no_request(owner, allow_private, receiver):
    endpoint = _endpoint(owner, receiver.url)
    _create_order(owner)
    webhooks.update_endpoint(actor=owner, endpoint=endpoint, is_active=False)

    webhooks.attempt_delivery(delivery_id=WebhookDelivery.objects.get().pk)

    assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error == "The endpoint is switched off."


# --- The SSRF guard -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://127.0.0.1:8000/hook",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://192.168.1.20/hook",
        "http://100.100.100.200/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_internal_addresses_are_refused_before_any_connection(owner, no_connections, url):
    _endpoint(owner, url)
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()

    assert webhooks.attempt_delivery(delivery_id=delivery.pk) == "pending"

    assert no_connections == []
    delivery.refresh_from_db()
    assert "which is not allowed" in delivery.last_error
    assert delivery.response_code is None


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://[fd00:ec2::254]/"])
def test_metadata_addresses_stay_refused_when_private_targets_are_allowed(
    owner, allow_private, no_connections, url
):
    with pytest.raises(ssrf.RefusedTarget, match="metadata"):
        ssrf.post(url, body=b"{}", headers={}, allow_private=True)
    assert no_connections == []


@pytest.mark.django_db
def test_a_host_name_resolving_to_a_private_address_is_refused(no_connections, monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        assert host == "hooks.example.com"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    with pytest.raises(ssrf.RefusedTarget, match=r"10\.0\.0\.1"):
        ssrf.post("https://hooks.example.com/x", body=b"{}", headers={}, allow_private=False)
    assert no_connections == []


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """No second lookup: the connection goes to the resolved, checked address."""
    lookups: list[str] = []
    connected: list[tuple[str, int]] = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    def fake_connect(address, timeout=None, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no traffic leaves this machine")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", fake_connect)

    with pytest.raises(ConnectionRefusedError):
        ssrf.post("http://hooks.example.com:8080/x", body=b"{}", headers={}, allow_private=False)

    assert lookups == ["hooks.example.com"]
    assert connected == [("93.184.216.34", 8080)]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "Only http"),
        ("http:///nohost", "no host"),
        ("https://user:pw@example.com/", "user name"),
        ("http://example.com:99999/", "not valid"),
    ],
)
def test_unusable_urls_are_refused(url, message):
    with pytest.raises(ssrf.RefusedTarget, match=message):
        ssrf.check_url(url)


def test_target_host_header_keeps_a_non_default_port():
    target = ssrf.Target("https", "hooks.example.com", 8443, "/", "93.184.216.34")
    assert target.host_header == "hooks.example.com:8443"
    assert ssrf.Target("https", "h.example", 443, "/", "1.1.1.1").host_header == "h.example"


# --- Endpoint services ------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_owner_manages_endpoints(producer, artist):
    from studio.errors import NotPermitted

    for actor in (producer, artist):
        with pytest.raises(NotPermitted):
            webhooks.create_endpoint(
                actor=actor, url="https://a.example/", events=["order.created"]
            )
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://a.example/", ["order.created"], "url"),
        ("https://a.example/", [], "events"),
        ("https://a.example/", ["order.deleted"], "events"),
        ("x" * 501, ["order.created"], "url"),
    ],
)
def test_bad_endpoint_input_is_refused_and_nothing_is_saved(owner, url, events, field):
    from studio.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        webhooks.create_endpoint(actor=owner, url=url, events=events)
    assert field in info.value.fields
    assert not WebhookEndpoint.objects.exists()


# --- API ---------------------------------------------------------------------------------------


@pytest.fixture
def owner_api(owner):
    from django.test import Client as HttpClient

    _token, raw = create_api_token(user=owner, name="test")
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_api_creates_an_endpoint_and_answers_its_secret_once(owner_api):
    response = owner_api.post(
        "/api/webhooks/",
        {"url": "https://hooks.example.com/in", "events": ["order.created", "invoice.paid"]},
        content_type="application/json",
    )

    assert response.status_code == 201
    data = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert data["secret"] == endpoint.secret
    assert data["events"] == ["invoice.paid", "order.created"]
    assert response["Location"].endswith(f"/api/webhooks/{endpoint.pk}/")
    listed = owner_api.get("/api/webhooks/").json()
    assert "secret" not in listed["results"][0]
    assert listed["results"][0]["secret_hint"] == endpoint.secret[:10] + "…"


@pytest.mark.django_db
def test_api_refuses_bad_input_in_the_error_shape(owner_api):
    for body in (
        {"url": "ftp://x.example/", "events": ["order.created"]},
        {"url": "https://x.example/", "events": ["order.deleted"]},
        {"url": "https://x.example/", "events": []},
    ):
        response = owner_api.post("/api/webhooks/", body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_api_is_for_the_owner_only(producer, artist, client):
    from django.test import Client as HttpClient

    for user in (producer, artist):
        _token, raw = create_api_token(user=user, name="t")
        http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert http.get("/api/webhooks/").status_code == 403
        response = http.post(
            "/api/webhooks/",
            {"url": "https://x.example/", "events": ["order.created"]},
            content_type="application/json",
        )
        assert response.status_code == 403
    assert client.get("/api/webhooks/").status_code == 401
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_api_updates_rotates_and_deletes(owner, owner_api):
    endpoint = _endpoint(owner, "https://hooks.example.com/in")

    patched = owner_api.patch(
        f"/api/webhooks/{endpoint.pk}/",
        {"events": ["quote.accepted"], "is_active": False},
        content_type="application/json",
    )
    assert patched.status_code == 200
    assert patched.json()["events"] == ["quote.accepted"]
    assert patched.json()["is_active"] is False

    rotated = owner_api.post(f"/api/webhooks/{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200
    endpoint.refresh_from_db()
    assert rotated.json()["secret"] == endpoint.secret
    assert endpoint.previous_secret
    assert rotated.json()["previous_secret_expires_at"]

    assert owner_api.delete(f"/api/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_api_lists_deliveries_with_their_log_and_sends_one_again(
    owner, owner_api, allow_private, receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(owner, receiver.url)
    _create_order(owner)
    delivery = WebhookDelivery.objects.get()
    webhooks.attempt_delivery(delivery_id=delivery.pk)

    listed = owner_api.get(f"/api/webhooks/{endpoint.pk}/deliveries/")
    assert listed.status_code == 200
    row = listed.json()["results"][0]
    assert row["state"] == "succeeded"
    assert row["attempts"] == 1
    assert row["response_code"] == 200
    assert row["payload"]["type"] == "order.created"
    assert row["attempt_log"][0]["number"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        again = owner_api.post(f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/send-again/")
    assert again.status_code == 200
    assert len(receiver.requests) == 2
    assert owner_api.get(f"/api/webhooks/{endpoint.pk + 1}/deliveries/").status_code == 404
    other = owner_api.get(f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk + 99}/")
    assert other.status_code == 404


# --- Pages -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_adds_an_endpoint_on_the_page_and_sees_its_secret(owner_http):
    response = owner_http.post(
        reverse("webhook-list"),
        {
            "url": "https://hooks.example.com/in",
            "events": ["order.created", "deliverable.approved"],
            "is_active": "on",
        },
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("webhook-detail", args=[endpoint.pk])
    html = owner_http.get(response["Location"]).content.decode()
    assert endpoint.secret in html
    assert endpoint.events == ["deliverable.approved", "order.created"]


@pytest.mark.django_db
def test_a_bad_url_on_the_page_shows_why_and_saves_nothing(owner_http):
    response = owner_http.post(
        reverse("webhook-list"), {"url": "ftp://x.example/", "events": ["order.created"]}
    )
    assert response.status_code == 200
    assert "Only http:// and https:// URLs" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_delivery_log_page_shows_attempts_and_sends_again(
    owner, owner_http, allow_private, receiver, django_assert_max_num_queries
):
    endpoint = _endpoint(owner, receiver.url)
    for _ in range(3):
        _create_order(owner)
    for delivery in WebhookDelivery.objects.all():
        webhooks.attempt_delivery(delivery_id=delivery.pk)
    delivery = WebhookDelivery.objects.first()

    with django_assert_max_num_queries(14):
        html = owner_http.get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
    assert html.count("Send again") == 3
    assert delivery.event_id in html

    response = owner_http.post(reverse("webhook-send-again", args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == State.PENDING


@pytest.mark.django_db
def test_owner_rotates_deletes_and_allows_private_targets_on_the_pages(owner, owner_http):
    endpoint = _endpoint(owner, "https://hooks.example.com/in")
    old = endpoint.secret

    owner_http.post(reverse("webhook-rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.previous_secret == old

    owner_http.post(reverse("webhook-settings"), {"allow_private_targets": "on"})
    assert WebhookSettings.load().allow_private_targets is True

    owner_http.post(reverse("webhook-delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_webhook_pages_are_for_the_owner_only(owner, producer_http, artist_http):
    endpoint = _endpoint(owner, "https://hooks.example.com/in")
    for http in (producer_http, artist_http):
        assert http.get(reverse("webhook-list")).status_code == 403
        assert http.get(reverse("webhook-detail", args=[endpoint.pk])).status_code == 403
        assert http.post(reverse("webhook-delete", args=[endpoint.pk])).status_code == 403
        assert (
            http.post(reverse("webhook-settings"), {"allow_private_targets": "on"}).status_code
            == 403
        )
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookSettings.load().allow_private_targets is False


# --- Health -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_failed_deliveries_and_waiting_jobs(owner, client, settings, tmp_path):
    folders = {n: tmp_path / n for n in ("queue", "control", "processed")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "control_folder": str(folders["control"]),
        "processed_folder": str(folders["processed"]),
    }
    _endpoint(owner, "https://hooks.example.com/in")
    _create_order(owner)
    _create_order(owner)
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.first().pk).update(state=State.FAILED)
    WebhookDelivery.objects.filter(state=State.PENDING).update(
        next_attempt_at=timezone.now() - dt.timedelta(minutes=20)
    )

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["jobs"]["failed_webhook_deliveries"] == 1
    assert body["jobs"]["ok"] is False  # a job waited 20 minutes: nobody is consuming
    assert body["jobs"]["oldest_waiting_seconds"] >= 20 * 60
