"""Who may open a staff page (the decorators live in studio.access, shared by all apps)."""

from studio.access import View, business_required, member_required

__all__ = ["View", "business_required", "member_required"]
