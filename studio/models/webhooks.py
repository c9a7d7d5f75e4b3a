"""Webhook endpoints and deliveries (issue: reminders and webhooks). Models in __all__."""

__all__: list[str] = []
