"""A renewal's expense note is booked in English and shown in the reader's language."""

from __future__ import annotations

from django.utils import translation

from billing.services.subscriptions import RENEWAL_NOTE, renewal_note_for_display

BOOKED = "Kling · Pro, monthly renewal of 2026-03-01"


def test_a_booked_renewal_note_is_written_again_in_the_active_language(monkeypatch):
    seen = []

    def fake_gettext(message):
        seen.append(message)
        return "%(tool)s · %(plan)s，%(period)s续费（%(date)s）"

    monkeypatch.setattr("billing.services.subscriptions._", fake_gettext)
    with translation.override("zh-hans"):
        shown = renewal_note_for_display(BOOKED)
    assert RENEWAL_NOTE in seen
    assert shown.startswith("Kling · Pro，")
    assert shown.endswith("续费（2026-03-01）")


def test_in_english_the_note_reads_as_booked():
    with translation.override("en"):
        assert renewal_note_for_display(BOOKED) == BOOKED


def test_other_notes_are_shown_as_they_are():
    assert renewal_note_for_display("Paid by card, see receipt") == "Paid by card, see receipt"
    assert renewal_note_for_display("") == ""
