from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from billing import api_reports, margin_signals, reminders, sections, sections_margin
        from orders import extensions

        extensions.register_staff_order_section(sections.staff_order_section)
        extensions.register_staff_order_section(sections_margin.staff_order_section)
        extensions.register_portal_section(sections.portal_section)
        reminders.register_kinds()
        api_reports.register_margin_field()
        margin_signals.connect()
