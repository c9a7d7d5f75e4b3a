"""Fapiao tracking: ReelDesk records what the tax platform issued, never issues one."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import (
    Invoice,
    InvoiceEvent,
)
from billing.models.invoices import today_in_studio
from billing.services.common import (
    FAPIAO_MAX_BYTES,
    FAPIAO_NUMBER,
    S,
    invalid,
    lock,
    order_event,
    record,
    require_business,
)
from studio.errors import Conflict

# --- Fapiao -------------------------------------------------------------------------------

FAPIAO_TYPES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"PK\x03\x04", "application/ofd", "ofd"),  # OFD, China's fixed-layout format, is a zip
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"<?xml", "application/xml", "xml"),
]


def _check_fapiao_file(upload: UploadedFile) -> tuple[str, str]:
    if upload.size is None or upload.size > FAPIAO_MAX_BYTES:
        raise invalid("fapiao_file", _("A fapiao file is at most 10 MB."))
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    stripped = head.lstrip(b"\xef\xbb\xbf")
    for magic, content_type, extension in FAPIAO_TYPES:
        if stripped.startswith(magic):
            return content_type, extension
    raise invalid("fapiao_file", _("Upload the fapiao as PDF, OFD, XML, PNG or JPEG."))


def update_fapiao(
    *,
    actor: Any,
    invoice: Invoice,
    status: str,
    number: str = "",
    issued_on: dt.date | None = None,
    upload: UploadedFile | None = None,
    remove_file: bool = False,
) -> Invoice:
    """Record where the client's fapiao stands (ReelDesk never issues one): asked for,
    issued on the tax platform or on the studio's behalf (with its number, 20 digits for
    a digital fapiao, and optionally the file), or not needed."""
    require_business(actor)
    if invoice.status == S.DRAFT:
        raise Conflict(_("Issue the invoice before tracking its fapiao."), code="not_issued")
    if status not in Invoice.Fapiao.values:
        raise invalid("fapiao_status", _("Choose where the fapiao stands."))
    number = re.sub(r"[\s-]", "", number or "")
    issued = status in {Invoice.Fapiao.ISSUED_PLATFORM, Invoice.Fapiao.ISSUED_ON_BEHALF}
    if number and not FAPIAO_NUMBER.fullmatch(number):
        raise invalid(
            "fapiao_number",
            _("A fapiao number has 20 digits (digital fapiao) or 8 digits (older fapiao)."),
        )
    if issued and not number:
        raise invalid("fapiao_number", _("Enter the number of the issued fapiao."))
    today = today_in_studio()
    if issued_on is not None and issued_on > today:
        raise invalid("fapiao_issued_on", _("The issue date cannot be in the future."))
    stored: tuple[str, str] | None = None
    if upload is not None:
        stored = _check_fapiao_file(upload)
    with transaction.atomic():
        locked = lock(invoice)
        old_file = locked.fapiao_file.name or ""
        locked.fapiao_status = status
        locked.fapiao_number = number if issued else (number if status == "" else "")
        locked.fapiao_issued_on = (issued_on or today) if issued else None
        if upload is not None and stored is not None:
            import secrets

            locked.fapiao_file.save(
                f"{locked.pk}-{secrets.token_hex(8)}.{stored[1]}", upload, save=False
            )
            locked.fapiao_file_type = stored[0]
        elif remove_file:
            locked.fapiao_file.name = ""
            locked.fapiao_file_type = ""
        locked.save()
        label = str(Invoice.Fapiao(status).label)
        record(
            locked,
            InvoiceEvent.Kind.FAPIAO,
            actor=actor,
            message=f"{label} {number}".strip(),
            data={"status": status, "number": number},
        )
        order_event(
            locked,
            actor=actor,
            message=_("Fapiao for %(number)s: %(status)s")
            % {"number": locked.number, "status": f"{label} {number}".strip()},
        )
        new_file = locked.fapiao_file.name or ""
        if old_file and old_file != new_file:
            from django.core.files.storage import default_storage

            transaction.on_commit(lambda: default_storage.delete(old_file))
    return locked
