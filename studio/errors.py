"""Domain errors: services raise these, the API maps them to HTTP, pages show them."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the action. `code` is stable, `message` is for people."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class NotPermitted(DomainError):
    status_code = 403
    code = "permission_denied"


class Conflict(DomainError):
    """The action does not fit the object's current state (e.g. an invalid transition)."""

    status_code = 409
    code = "conflict"
