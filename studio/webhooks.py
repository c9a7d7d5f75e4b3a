"""Webhooks: endpoints, one delivery row per (event, endpoint), signed attempts, retries.

Every event published with `studio.events.publish` (order services, the client portal,
billing) becomes, in the same transaction, one `WebhookDelivery` per active endpoint that
chose it; the delivery job is enqueued after commit. Each attempt claims the row
(pending -> sending, a conditional update), POSTs the exact stored body through the SSRF
guard (studio.ssrf), and records the outcome in the row and the attempt log:

- 2xx: succeeded;
- anything else, a timeout or a refused address: pending again after the next backoff
  delay (RETRY_DELAYS, about a day in all), or failed after the last one — the owners
  are then notified.

Requests follow Standard Webhooks (https://www.standardwebhooks.com/): headers
`webhook-id` (the same on every attempt: receivers de-duplicate on it),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` where the
key is the base64-decoded part of the `whsec_…` secret. While a rotated secret is in its
grace period both the new and the previous secret sign. See docs/webhooks.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from studio import roles
from studio.errors import InvalidInput, NotPermitted
from studio.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSettings
from studio.models.webhooks import WEBHOOK_EVENT_NAMES
from studio.ssrf import RefusedTarget, check_url

logger = logging.getLogger(__name__)

# Delay before attempt n+1 after attempt n failed: 5 s … 8 h, about 24 hours in all.
RETRY_DELAYS: tuple[int, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
ROTATION_GRACE = dt.timedelta(hours=24)
SECRET_PREFIX = "whsec_"
# Delays up to this go into the message's countdown; longer ones are left to the sweep
# (a countdown longer than Redis' visibility timeout would be delivered twice).
COUNTDOWN_LIMIT = 300
State = WebhookDelivery.State


# --- Signing ----------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw)


def sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """One `v1,<base64>` signature."""
    payload = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), payload, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signing_secrets(endpoint: WebhookEndpoint, *, now: dt.datetime | None = None) -> list[str]:
    """The current secret, plus the previous one during its grace period."""
    now = now or timezone.now()
    found = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(endpoint.previous_secret)
    return found


def signature_header(endpoint: WebhookEndpoint, *, msg_id: str, timestamp: int, body: str) -> str:
    return " ".join(
        sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body)
        for s in signing_secrets(endpoint)
    )


def verify(
    *,
    secret: str,
    headers: dict[str, str],
    body: str,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """A receiver's check (also what docs/webhooks.md shows): a valid v1 signature by
    secret, and a timestamp no further than tolerance seconds from now."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    try:
        timestamp = int(lower.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    return any(
        hmac.compare_digest(expected, candidate)
        for candidate in lower.get("webhook-signature", "").split()
    )


# --- Endpoints (owner only) ----------------------------------------------------------------


def _require_owner(actor: Any) -> None:
    if not roles.is_owner(actor):
        raise NotPermitted(_("Only the studio owner can manage webhooks."))


def clean_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(e) for e in events))
    unknown = [e for e in chosen if e not in WEBHOOK_EVENT_NAMES]
    if unknown:
        message = _("Unknown event: %(names)s.") % {"names": ", ".join(unknown)}
        raise InvalidInput(message, fields={"events": [message]})
    if not chosen:
        message = _("Choose at least one event.")
        raise InvalidInput(message, fields={"events": [message]})
    return sorted(chosen)


def clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 500:
        message = _("The URL is too long (500 characters at most).")
        raise InvalidInput(message, fields={"url": [message]})
    try:
        check_url(url)
    except RefusedTarget as exc:
        raise InvalidInput(str(exc), fields={"url": [str(exc)]}) from exc
    return url


def create_endpoint(
    *, actor: Any, url: str, events: Iterable[str], description: str = ""
) -> WebhookEndpoint:
    """Add an endpoint with a new secret. Where the URL resolves is checked at send time."""
    _require_owner(actor)
    return WebhookEndpoint.objects.create(
        url=clean_url(url),
        events=clean_events(events),
        description=(description or "").strip()[:200],
        secret=new_secret(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def update_endpoint(
    *,
    actor: Any,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; the secret stays (see rotate_secret)."""
    _require_owner(actor)
    if url is not None:
        endpoint.url = clean_url(url)
    if events is not None:
        endpoint.events = clean_events(events)
    if description is not None:
        endpoint.description = description.strip()[:200]
    if is_active is not None:
        endpoint.is_active = is_active
    endpoint.save()
    return endpoint


def delete_endpoint(*, actor: Any, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its delivery log."""
    _require_owner(actor)
    endpoint.delete()


def rotate_secret(
    *, actor: Any, endpoint: WebhookEndpoint, grace: dt.timedelta = ROTATION_GRACE
) -> WebhookEndpoint:
    """Give the endpoint a new secret; the previous one keeps signing (next to the new)
    for `grace`, so the receiver can switch without missing a request."""
    _require_owner(actor)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + grace
        locked.secret = new_secret()
        locked.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
    return locked


def set_allow_private_targets(*, actor: Any, allow: bool) -> WebhookSettings:
    _require_owner(actor)
    row = WebhookSettings.load()
    row.allow_private_targets = allow
    row.save(update_fields=["allow_private_targets", "updated_at"])
    return row


# --- Recording deliveries ----------------------------------------------------------------


def event_body(*, event_type: str, payload: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "timestamp": timezone.now().isoformat(),
            "data": payload,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def record_deliveries(*, event_type: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """The studio.events subscriber: one delivery per active endpoint that chose the
    event, written in the caller's transaction, enqueued after its commit."""
    endpoints = [
        e for e in WebhookEndpoint.objects.filter(is_active=True) if event_type in e.events
    ]
    if not endpoints:
        return []
    event_id = f"msg_{uuid.uuid4().hex}"
    body = event_body(event_type=event_type, payload=payload, event_id=event_id)
    now = timezone.now()
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                body=body,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
    )
    from studio import tasks

    tasks.enqueue_many(tasks.deliver_webhook, [row.pk for row in rows if row.pk])
    return rows


# --- Attempts ----------------------------------------------------------------------------


def _transport(url: str, *, body: bytes, headers: dict[str, str], allow_private: bool) -> Any:
    """The HTTP call (a seam for tests)."""
    from studio import ssrf

    return ssrf.post(url, body=body, headers=headers, allow_private=allow_private)


def attempt_delivery(*, delivery_id: int) -> str:
    """Make one attempt at a delivery whose turn has come. Idempotent: a second run
    (duplicate message, retried task) finds it claimed, done or not yet due and returns
    its state without sending. Returns the state after the attempt."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state=State.PENDING, next_attempt_at__lte=now
    ).update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        found = (
            WebhookDelivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first()
        )
        return f"not claimed ({found or 'gone'})"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ReelDesk-Webhooks/1",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            endpoint, msg_id=delivery.event_id, timestamp=timestamp, body=delivery.body
        ),
    }
    code: int | None = None
    error = ""
    excerpt = ""
    started = time.monotonic()
    if not endpoint.is_active:
        error = _("The endpoint is switched off.")
    else:
        try:
            response = _transport(
                endpoint.url,
                body=delivery.body.encode(),
                headers=headers,
                allow_private=WebhookSettings.load().allow_private_targets,
            )
            code = response.status
            excerpt = response.body[:500].decode("utf-8", errors="replace")
            if not 200 <= response.status < 300:
                error = _("The endpoint answered %(code)s.") % {"code": response.status}
        except RefusedTarget as exc:
            error = str(exc)
        except TimeoutError:
            error = _("No answer in time.")
        except (OSError, http.client.HTTPException) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        except Exception as exc:  # a bug must not leave the row claimed forever
            logger.exception("webhook delivery %s crashed", delivery_id)
            error = f"{exc.__class__.__name__}: {exc}"
    duration = int((time.monotonic() - started) * 1000)
    return _record_outcome(
        delivery=delivery,
        claimed_at=now,
        code=code,
        error=error,
        excerpt=excerpt,
        duration_ms=duration,
    )


def _record_outcome(
    *,
    delivery: WebhookDelivery,
    claimed_at: dt.datetime,
    code: int | None,
    error: str,
    excerpt: str,
    duration_ms: int,
) -> str:
    finished = timezone.now()
    ok = not error
    attempts = delivery.attempts
    if ok:
        state, next_at = State.SUCCEEDED, None
    elif attempts >= MAX_ATTEMPTS:
        state, next_at = State.FAILED, None
    else:
        state = State.PENDING
        next_at = finished + dt.timedelta(seconds=RETRY_DELAYS[attempts - 1])
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, state=State.SENDING, claimed_at=claimed_at
        ).update(
            state=state,
            next_attempt_at=next_at,
            last_attempt_at=finished,
            delivered_at=finished if ok else None,
            response_code=code,
            last_error=error[:500],
        )
        if updated != 1:
            # The sweep took the claim back meanwhile (we were too slow): it owns it now.
            return "claim lost"
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=attempts,
            started_at=claimed_at,
            duration_ms=duration_ms,
            response_code=code,
            error=error[:500],
            response_excerpt=excerpt[:500],
        )
        if state == State.PENDING and next_at is not None:
            delay = (next_at - finished).total_seconds()
            if delay <= COUNTDOWN_LIMIT:
                from studio import tasks

                tasks.enqueue(tasks.deliver_webhook, delivery.pk, countdown=delay)
        if state == State.FAILED:
            _tell_owners_it_failed(delivery)
    return state.value


def _tell_owners_it_failed(delivery: WebhookDelivery) -> None:
    from studio.notifications import notify, studio_recipients

    url = reverse("webhook-detail", args=[delivery.endpoint_id])
    endpoint_url = delivery.endpoint.url
    event_type = delivery.event_type
    attempts = delivery.attempts
    notify(
        users=studio_recipients(),
        kind="webhook.failed",
        render=lambda: (
            _("A webhook could not be delivered"),
            _(
                "The %(event)s event could not be delivered to %(url)s after %(n)s attempts. "
                "Check the endpoint and send it again from the delivery log."
            )
            % {"event": event_type, "url": endpoint_url, "n": attempts},
        ),
        url=url,
    )


# --- Send again, sweep ---------------------------------------------------------------------


def send_again(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue the delivery once more, now, with the same webhook-id and body (receivers
    de-duplicate on it). A delivery being sent right now is left alone. Its attempt
    count starts over, so it gets the full retry schedule again."""
    _require_owner(actor)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).exclude(state=State.SENDING).update(
            state=State.PENDING, next_attempt_at=timezone.now(), attempts=0, last_error=""
        )
        from studio import tasks

        tasks.enqueue(tasks.deliver_webhook, delivery.pk)
    delivery.refresh_from_db()
    return delivery


def sweep_deliveries(*, stale_claim_seconds: float = 180, limit: int = 1000) -> int:
    """Hand back claims older than any attempt may take (a killed worker), and enqueue
    every delivery whose next attempt is due. Returns how many were enqueued."""
    from studio import tasks

    now = timezone.now()
    WebhookDelivery.objects.filter(
        state=State.SENDING, claimed_at__lt=now - dt.timedelta(seconds=stale_claim_seconds)
    ).update(state=State.PENDING, next_attempt_at=now)
    ids = list(
        WebhookDelivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    tasks.enqueue_many(tasks.deliver_webhook, ids)
    return len(ids)


def deliveries_for(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.order_by("-created_at", "-pk")
