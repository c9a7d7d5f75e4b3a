"""{{ expense.note|expense_note }}: an expense's note in the reader's language (a
subscription renewal's booked note is written again in the active language)."""

from __future__ import annotations

from django import template

from billing.services.subscriptions import renewal_note_for_display

register = template.Library()


@register.filter
def expense_note(note: str) -> str:
    return renewal_note_for_display(note)
