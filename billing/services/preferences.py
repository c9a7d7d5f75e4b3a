"""The studio's billing settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing.models import (
    BillingSettings,
)
from studio import roles
from studio.errors import InvalidInput, NotPermitted

# --- Settings -----------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "default_tax_rate",
    "prices_include_tax",
    "net_days",
    "bank_account_name",
    "bank_name",
    "bank_account_number",
    "bank_swift",
    "alipay_account",
    "wechat_pay_account",
    "paypal_account",
    "other_instructions",
    "invoice_footer",
)


def update_billing_settings(*, actor: Any, fields: dict[str, Any]) -> BillingSettings:
    """Save the studio's billing settings (owner only). New invoices use them; issued
    ones keep what they froze."""
    if not roles.is_owner(actor):
        raise NotPermitted(_("Only the studio owner can change the billing settings."))
    prefs = BillingSettings.load()
    for key, value in fields.items():
        if key in SETTINGS_FIELDS:
            setattr(prefs, key, value)
    try:
        prefs.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors) from exc
    prefs.save()
    return prefs
