"""Custom signals shared across apps (studio is the base: it imports no other app).

`costs_changed` is sent by code that changes what margins and reports are made of in
bulk, bypassing model signals (queryset update, bulk_create/bulk_update, imports, demo
seeds): billing listens and marks its stored margin rows stale (billing.services.margins).
Send it inside the transaction that made the change, once per bulk operation:

    costs_changed.send(sender=Take, reason="recost")
"""

from __future__ import annotations

from django.dispatch import Signal

costs_changed = Signal()  # kwargs: reason (str)
