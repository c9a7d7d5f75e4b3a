"""Sending an invoice to the client by e-mail (queued, sent once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import (
    Invoice,
    InvoiceEmail,
)
from billing.services.common import (
    KEY_PATTERN,
    RECENT_SEND,
    S,
    invalid,
    lock,
    require_business,
)
from studio.errors import Conflict, InvalidInput

# --- Sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    email: InvoiceEmail
    created: bool  # False when this send was already asked for (double click, retry)


def send_invoice(*, actor: Any, invoice: Invoice, key: str, to: str = "") -> SendResult:
    """Queue the invoice e-mail (PDF attached, the client's link in it) to `to` or the
    client's address. Idempotent per key, and a second send to the same address within
    two minutes is taken as the same one. Refused (409) for drafts and void invoices."""
    require_business(actor)
    key = (key or "").strip()
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInput(_("This form has expired. Reload the page and try again."))
    previous = InvoiceEmail.objects.filter(invoice=invoice, key=key).first()
    if previous is not None:
        return SendResult(email=previous, created=False)
    address = (to or invoice.client.email or "").strip()
    if not address:
        raise invalid("to", _("The client has no e-mail address. Type one to send to."))
    try:
        validate_email(address)
    except ValidationError:
        raise invalid("to", _("Enter a valid e-mail address.")) from None
    try:
        with transaction.atomic():
            locked = lock(invoice)
            if locked.status == S.DRAFT:
                raise Conflict(_("Issue the invoice before sending it."), code="not_sendable")
            if locked.status == S.VOID:
                raise Conflict(
                    _("%(number)s is void; it is not sent any more.") % {"number": locked.number},
                    code="not_sendable",
                )
            recent = (
                InvoiceEmail.objects.filter(
                    invoice=locked, to__iexact=address, created_at__gte=timezone.now() - RECENT_SEND
                )
                .exclude(state=InvoiceEmail.State.FAILED)
                .first()
            )
            if recent is not None:
                return SendResult(email=recent, created=False)
            email = InvoiceEmail.objects.create(
                invoice=locked,
                key=key,
                to=address,
                requested_by=actor if getattr(actor, "pk", None) else None,
            )
            from billing import delivery

            pk = email.pk
            transaction.on_commit(lambda: delivery.enqueue_email(pk))
    except IntegrityError:
        previous = InvoiceEmail.objects.filter(invoice=invoice, key=key).first()
        if previous is None:
            raise
        return SendResult(email=previous, created=False)
    return SendResult(email=email, created=True)
